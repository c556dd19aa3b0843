//! `load_config` and `ConfigError`: the two YAML documents, read and checked by `vana_config`.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyList;
use vana_config::{Config, ConfigLoader, LoadedConfig};

pyo3::create_exception!(
    _native,
    ConfigError,
    pyo3::exceptions::PyValueError,
    "The configuration is not valid, or cannot be read. `problems` lists every problem, each as `file:line:col: key.path: message`."
);

/// The configuration in `dir` (`security/security_policies.yaml`, `monitoring/monitoring.yaml`; a missing file
/// is its defaults), or the embedded defaults without `dir`, with `VANA_*` environment overrides when `env`.
pub(crate) fn load(py: Python<'_>, dir: Option<PathBuf>, env: bool) -> PyResult<Config> {
    Ok(load_with_sources(py, dir, env)?.config)
}

/// [`load`], with where each document came from.
pub(crate) fn load_with_sources(py: Python<'_>, dir: Option<PathBuf>, env: bool) -> PyResult<LoadedConfig> {
    let loaded = py.detach(|| {
        let mut loader = ConfigLoader::new();
        if let Some(dir) = &dir {
            loader = loader.dir(dir);
        }
        if env {
            loader = loader.process_env();
        }
        loader.load()
    });
    loaded.map_err(|error| config_error(py, &error))
}

/// `ConfigError` for `error`, its `problems` listing every problem.
pub(crate) fn config_error(py: Python<'_>, error: &vana_config::ConfigError) -> PyErr {
    let problems: Vec<String> = match error {
        vana_config::ConfigError::Invalid(problems) => problems.iter().map(ToString::to_string).collect(),
        other => vec![other.to_string()],
    };
    let raised = ConfigError::new_err(error.to_string());
    match PyList::new(py, problems).and_then(|list| raised.value(py).setattr("problems", list)) {
        Ok(()) => raised,
        Err(failed) => failed,
    }
}

/// Both documents as a dict (`{"security": {...}, "monitoring": {...}}`), validated; raises `ConfigError`.
#[pyfunction]
#[pyo3(signature = (dir = None, env = true))]
pub(crate) fn load_config(py: Python<'_>, dir: Option<PathBuf>, env: bool) -> PyResult<Bound<'_, PyAny>> {
    let config = load(py, dir, env)?;
    let text = serde_json::to_string(&config).map_err(|error| ConfigError::new_err(error.to_string()))?;
    py.import("json")?.call_method1("loads", (text,))
}
