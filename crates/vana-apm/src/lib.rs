//! Application performance monitoring for vana-ops: the specification's `APM`, done the Rust way.
//!
//! Every call is recorded into a [`vana_metrics::PerformanceMonitor`] as `response_time.<operation>`
//! (seconds, measured with a monotonic clock; tagged `success`), feeding the operation's error rate; failures
//! also count as `errors.<operation>` with a **bounded** `error` tag (the error's type name or message cut
//! to 64 bytes, at most 16 kinds per operation): unbounded tag values would be a memory leak.
//!
//! - [`Apm::trace`] for closures (a panic is a failure), [`Apm::trace_result`] (an `Err` is a failure).
//! - [`Apm::trace_future`] times a whole future, time spent pending included.
//! - [`Apm::span`]: a guard that records on drop, as a failure when marked failed or dropped in a panic.
//! - `#[vana_apm::trace]` / `#[trace(name = "...")]` for sync and async functions, recording `Err` results
//!   as failures, into the APM set with [`set_global`].
//! - [`ApmLayer`] (feature `tracing`): the duration of `#[tracing::instrument]` spans, with no code change.
//!
//! # Example
//!
//! ```
//! use vana_apm::Apm;
//!
//! let monitor = vana_metrics::PerformanceMonitor::new(&vana_config::MonitoringConfig::default());
//! let apm = Apm::new(monitor.clone());
//! vana_apm::set_global(apm.clone());
//!
//! #[vana_apm::trace(name = "lookup")]
//! fn lookup(key: &str) -> Result<u32, std::num::ParseIntError> {
//!     key.parse()
//! }
//!
//! assert_eq!(lookup("7"), Ok(7));
//! assert!(lookup("x").is_err());
//! {
//!     let _span = apm.span("manual");
//! }
//! assert_eq!(monitor.get_summary("response_time.lookup", None).count, 2);
//! assert_eq!(monitor.get_summary("errors.lookup", None).count, 1);
//! assert_eq!(monitor.get_summary("response_time.manual", None).count, 1);
//! ```
//!
//! # Feature flags
//!
//! - `tracing` (default): [`ApmLayer`].

mod apm;
mod global;
#[cfg(feature = "tracing")]
mod layer;

pub use apm::{Apm, ApmSpan, MAX_ERROR_KIND_BYTES, MAX_ERROR_KINDS};
#[doc(hidden)]
pub use global::__private;
pub use global::{global, set_global};
#[cfg(feature = "tracing")]
pub use layer::ApmLayer;
pub use vana_apm_macros::trace;
