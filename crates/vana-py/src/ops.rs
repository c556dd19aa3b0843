//! `Ops`: vana-ops' `Ops` for Python, everything built from one configuration: the monitor, the security
//! manager, logging into Python's `logging`, and the HTTP layer the ASGI middleware runs.

use std::path::PathBuf;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::config::{config_error, load_with_sources};
use crate::monitor::PerformanceMonitor;
use crate::security::{SecurityManager, json_value};

/// Every part of vana-ops configured together, as the gateway runs them.
#[pyclass(module = "vana_ops._native", frozen)]
pub(crate) struct Ops {
    ops: vana_ops::Ops,
    monitor: Py<PerformanceMonitor>,
    security: Py<SecurityManager>,
}

impl Ops {
    pub(crate) fn inner(&self) -> &vana_ops::Ops {
        &self.ops
    }
}

#[pymethods]
impl Ops {
    /// The configuration in `config_dir` (or the embedded defaults), with `VANA_*` overrides when `env`;
    /// `input_policies`, in the shape of `http.input_policies`, takes that section's place (the routes it names
    /// join `http.route_templates`: they are the application's). Raises
    /// `ConfigError`. Starts the system collector; the layer's lines go to Python's `logging` (loggers
    /// `vana_ops.<component>`) once the middleware drains them.
    #[new]
    #[pyo3(signature = (config_dir = None, *, input_policies = None, env = true))]
    fn new(
        py: Python<'_>,
        config_dir: Option<PathBuf>,
        input_policies: Option<&Bound<'_, PyAny>>,
        env: bool,
    ) -> PyResult<Self> {
        let mut loaded = load_with_sources(py, config_dir, env)?;
        if let Some(policies) = input_policies {
            let value = json_value(py, policies)?;
            let http = &mut loaded.config.security.http;
            http.input_policies = serde_json::from_value(value).map_err(|error| {
                PyValueError::new_err(format!(
                    "input_policies is not in the shape of http.input_policies: {error}"
                ))
            })?;
            // The routes a policy names are the application's: templates the layer names requests by.
            for route in http.input_policies.routes.keys() {
                if !http.route_templates.contains(route) {
                    http.route_templates.push(route.clone());
                }
            }
            loaded.config.validate().map_err(|error| config_error(py, &error))?;
        }
        let request_log = crate::log_lines::install(&loaded.config.monitoring.logging);
        let ops = py
            .detach(|| vana_ops::Ops::builder(loaded).install_logging(false).request_log(request_log).build())
            .map_err(|error| PyValueError::new_err(error.to_string()))?;
        let monitor = Py::new(py, PerformanceMonitor::sharing(py, ops.monitor().clone()))?;
        let security = Py::new(py, SecurityManager::of_ops(&ops))?;
        Ok(Self { ops, monitor, security })
    }

    /// The monitor the layer records into.
    #[getter]
    fn monitor(&self, py: Python<'_>) -> Py<PerformanceMonitor> {
        self.monitor.clone_ref(py)
    }

    /// The security manager the layer decides with.
    #[getter]
    fn security(&self, py: Python<'_>) -> Py<SecurityManager> {
        self.security.clone_ref(py)
    }

    /// What the gateway's `/metrics` says: the monitor's series, the security events, build and readiness.
    fn metrics_text(&self, py: Python<'_>) -> String {
        py.detach(|| self.ops.metrics_text())
    }

    /// `ok`, `degraded` or `critical`, as the gateway's `/health` says it.
    fn health_status(&self) -> String {
        self.ops.health().status.as_str().to_owned()
    }

    /// Stops the collector and delivers the queued alerts (at most five seconds).
    fn shutdown(&self, py: Python<'_>) {
        py.detach(|| self.ops.shutdown());
    }
}
