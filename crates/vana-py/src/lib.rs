//! vana-ops for Python: the specification's `PerformanceMonitor`, `SecurityManager` and their records,
//! backed by the Rust crates, and `Ops` with the gateway's own HTTP layer (`HttpLayer`, `Exchange`), as the
//! extension module `vana_ops._native` (the `vana_ops` package around it adds `APM`, `StructuredLogger`,
//! `LogEntry` and the ASGI middleware, which drives the layer).
//!
//! Built with maturin (`pip install ./crates/vana-py`), abi3 for CPython 3.10 and newer. No Rust panic crosses
//! into Python (pyo3 turns one into `PanicException`, and the calls here return errors instead), and work that
//! touches no Python object (validation, summaries, process sampling, configuration loading) runs without the
//! GIL.
//!
//! # Feature flags
//!
//! - `extension-module`: build the importable module (maturin turns it on; without it the crate builds as a
//!   library for `cargo check` and clippy).

mod config;
mod exchange;
mod feed;
mod log_lines;
mod monitor;
mod ops;
mod request;
mod runtime;
mod security;

use pyo3::prelude::*;

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add_class::<monitor::PerformanceMonitor>()?;
    module.add_class::<monitor::PerformanceMetric>()?;
    module.add_class::<security::SecurityManager>()?;
    module.add_class::<security::SecurityEvent>()?;
    module.add_class::<ops::Ops>()?;
    module.add_class::<exchange::HttpLayer>()?;
    module.add_class::<exchange::Exchange>()?;
    module.add_function(wrap_pyfunction!(config::load_config, module)?)?;
    module.add_function(wrap_pyfunction!(log_lines::drain_log_lines, module)?)?;
    module.add("ConfigError", py.get_type::<config::ConfigError>())?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
