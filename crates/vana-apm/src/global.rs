//! The APM that `#[trace]` functions record into.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::apm::{Apm, ApmSpan};

static GLOBAL: OnceLock<Apm> = OnceLock::new();

/// Whether `#[trace]` functions open a `tracing` span (off: no cost beyond one load).
static TRACING_SPANS: AtomicBool = AtomicBool::new(false);

/// Makes every `#[trace]` call also a `tracing` span named after its operation (`otel.name`), so a
/// subscriber exporting traces shows it as a child of the span it runs in. `vana-ops` turns it on with
/// its traces. Needs the `tracing` feature; without it, calls stay timings only.
pub fn emit_tracing_spans(on: bool) {
    TRACING_SPANS.store(on, Ordering::Relaxed);
}

/// Makes `apm` the one `#[trace]` functions record into; false if one was set already (it stays).
pub fn set_global(apm: Apm) -> bool {
    GLOBAL.set(apm).is_ok()
}

/// The global APM, if set.
pub fn global() -> Option<&'static Apm> {
    GLOBAL.get()
}

/// What `#[trace]` expands to. Not public API.
#[doc(hidden)]
pub mod __private {
    use super::{ApmSpan, GLOBAL, Ordering, TRACING_SPANS};

    /// The `tracing` span of one `#[trace]` call, when [`emit_tracing_spans`](super::emit_tracing_spans)
    /// is on.
    #[derive(Debug)]
    pub struct OperationSpan {
        #[cfg(feature = "tracing")]
        span: tracing::Span,
    }

    /// What entering a span gives without `tracing`: nothing to leave.
    #[cfg(not(feature = "tracing"))]
    #[derive(Debug)]
    pub struct NotEntered;

    /// The span of a call of `operation`.
    pub fn span(operation: &'static str) -> OperationSpan {
        let on = TRACING_SPANS.load(Ordering::Relaxed);
        #[cfg(feature = "tracing")]
        return OperationSpan {
            span: if on {
                tracing::info_span!("operation", otel.name = operation)
            } else {
                tracing::Span::none()
            },
        };
        #[cfg(not(feature = "tracing"))]
        {
            let _ = (on, operation);
            OperationSpan {}
        }
    }

    impl OperationSpan {
        /// Enters it for a synchronous call; left when the guard drops.
        #[cfg(feature = "tracing")]
        pub fn enter(&self) -> tracing::span::Entered<'_> {
            self.span.enter()
        }

        /// Enters it for a synchronous call (no `tracing`: nothing).
        #[cfg(not(feature = "tracing"))]
        pub fn enter(&self) -> NotEntered {
            NotEntered
        }

        /// `future`, polled inside it.
        #[cfg(feature = "tracing")]
        pub fn instrument<F: std::future::Future>(self, future: F) -> tracing::instrument::Instrumented<F> {
            tracing::Instrument::instrument(future, self.span)
        }

        /// `future` as it is (no `tracing`).
        #[cfg(not(feature = "tracing"))]
        pub fn instrument<F: std::future::Future>(self, future: F) -> F {
            future
        }
    }

    /// Starts a span of the global APM, or nothing.
    pub fn enter(operation: &str) -> Option<ApmSpan<'static>> {
        GLOBAL.get().map(|apm| apm.span(operation))
    }

    /// Ends the span; `failure` is the error kind of an `Err` result.
    pub fn finish(span: Option<ApmSpan<'static>>, failure: Option<&'static str>) {
        if let (Some(mut span), Some(kind)) = (span, failure) {
            span.fail(kind);
        }
    }

    /// Picked by method resolution for `Result` values: an `Err` is a failure of the error's type.
    pub trait ErrOutcome {
        /// The error kind of an `Err`, `None` for `Ok`.
        fn __vana_outcome(&self) -> Option<&'static str>;
    }

    impl<T, E> ErrOutcome for Result<T, E> {
        fn __vana_outcome(&self) -> Option<&'static str> {
            self.is_err().then(crate::apm::short_type_name::<E>)
        }
    }

    /// Picked for every other value: a success.
    pub trait AnyOutcome {
        /// Always `None`.
        fn __vana_outcome(&self) -> Option<&'static str>;
    }

    impl<T: ?Sized> AnyOutcome for &T {
        fn __vana_outcome(&self) -> Option<&'static str> {
            None
        }
    }
}
