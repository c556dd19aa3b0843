//! The Tokio runtime the layer's work runs on in a Python process: its timers (a body read's deadline, a
//! stream's idle watch) and its blocking pool. Requests are polled on Python's own thread inside the
//! runtime's context; the runtime's one worker only keeps time and wakes.

use std::sync::OnceLock;

use pyo3::PyResult;
use pyo3::exceptions::PyRuntimeError;
use tokio::runtime::Runtime;

/// The process's runtime, started on first use (so after a fork, in the process that serves).
pub(crate) fn runtime() -> PyResult<&'static Runtime> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    let started = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("vana-ops-runtime")
            .enable_time()
            .build()
            .map_err(|error| error.to_string())
    });
    started
        .as_ref()
        .map_err(|error| PyRuntimeError::new_err(format!("cannot start the Tokio runtime: {error}")))
}
