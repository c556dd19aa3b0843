#![doc = include_str!("../README.md")]

mod batch;
mod correlation;
mod drops;
mod error;
mod escape;
mod fields;
mod layer;
mod levels;
mod line;
mod logger;
mod memory;
mod redact;
mod request_log;
mod schema;
mod setup;

pub use batch::{BatchWorker, BatchWriter, DropCounter, MAX_BUFFERED_BYTES};
pub use correlation::{
    CORRELATION_ID_FIELD, CorrelationId, MAX_CORRELATION_ID_LEN, correlation_span, request_span,
};
pub use error::LoggingError;
pub use layer::LogLayer;
pub use levels::{ComponentFilter, LevelHandle};
pub use logger::{Metadata, StructuredLogger};
pub use memory::MemoryWriter;
pub use redact::{REDACTED, Redactor};
pub use request_log::{ACCESS_TARGET, GenAiRecord, RequestLog, RequestRecord, StreamRecord};
pub use schema::LogEntry;
pub use setup::{ExtraLayer, LoggingBuilder, LoggingGuard, init};
