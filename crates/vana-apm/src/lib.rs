#![doc = include_str!("../README.md")]

mod apm;
mod global;
#[cfg(feature = "tracing")]
mod layer;

pub use apm::{Apm, ApmSpan, MAX_ERROR_KIND_BYTES, MAX_ERROR_KINDS};
#[doc(hidden)]
pub use global::__private;
pub use global::{emit_tracing_spans, global, set_global};
#[cfg(feature = "tracing")]
pub use layer::ApmLayer;
pub use vana_apm_macros::trace;
