//! Structured JSON logs with correlation ids that follow a request, built on `tracing`.
//!
//! Every log line of an application, its own, its libraries' and vana's, comes out in one schema
//! ([`LogEntry`]): `timestamp`, `level`, `message`, `correlation_id`, `component`, `metadata`, one JSON
//! object per line (or a readable text line, `format: text`).
//!
//! - [`LogLayer`] is a `tracing_subscriber::Layer`: the correlation id comes from the nearest enclosing
//!   span that carries one ([`request_span`]), so an id set once at the edge follows the request through
//!   `.await`s and instrumented tasks; `metadata` holds the event's fields and its spans'.
//! - Levels come from the `logging` section of `monitoring.yaml` ([`vana_config::Logging`]), globally and
//!   per component, in the specification's names (CRITICAL is an ERROR marked `critical = true`), and change
//!   at run time through a [`LevelHandle`].
//! - Outputs: stdout, stderr or a time-rotated file with a cap on kept files, behind a bounded non-blocking
//!   writer whose dropped lines are counted and reported; the [`LoggingGuard`] flushes on shutdown.
//! - Safety: values under secret keys (`password`, `token`, `authorization`, ...) are written as
//!   `"[REDACTED]"`, also in nested metadata; control characters, ANSI escapes and bidi overrides are
//!   escaped, so a line cannot be forged or drive a terminal; long values are cut with a marker.
//! - [`RequestLog`] writes one line per served request (component `access`) straight to the output, without
//!   `tracing`'s per-field machinery, when vana-logging is the subscriber.
//! - [`StructuredLogger`] is the specification's logger, a cheap handle that emits `tracing` events.
//!
//! # Example
//!
//! ```
//! use vana_logging::{CorrelationId, LogEntry, LoggingBuilder, MemoryWriter, request_span};
//!
//! let memory = MemoryWriter::default();
//! let (dispatch, _guard) = LoggingBuilder::new(&vana_config::Logging::default()).writer(memory.clone()).build()?;
//! tracing::dispatcher::with_default(&dispatch, || {
//!     let id = CorrelationId::from_header_or_new(Some(b"req-42"));
//!     let _request = request_span(&id, "POST", "/login").entered();
//!     tracing::warn!(user = "ada", password = "hunter2", "login failed");
//! });
//! let entry = LogEntry::parse(&memory.lines()[0]).unwrap();
//! assert_eq!(entry.level, "WARNING");
//! assert_eq!(entry.correlation_id.as_deref(), Some("req-42"));
//! assert_eq!(entry.metadata["password"], "[REDACTED]");
//! assert_eq!(entry.metadata["route"], "/login");
//! # Ok::<(), vana_logging::LoggingError>(())
//! ```
//!
//! A binary calls [`init`] once with its configuration and keeps the guard:
//!
//! ```no_run
//! let config = vana_config::Config::load_dir("config")?.config;
//! let _guard = vana_logging::init(&config.monitoring.logging)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Feature flags
//!
//! - `log` (default): records of the `log` crate, used by many libraries, are routed into the same schema
//!   by [`init`].

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
pub use request_log::{ACCESS_TARGET, RequestLog, RequestRecord};
pub use schema::LogEntry;
pub use setup::{ExtraLayer, LoggingBuilder, LoggingGuard, init};
