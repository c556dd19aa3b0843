//! The APM that `#[trace]` functions record into.

use std::sync::OnceLock;

use crate::apm::{Apm, ApmSpan};

static GLOBAL: OnceLock<Apm> = OnceLock::new();

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
    use super::{ApmSpan, GLOBAL};

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
