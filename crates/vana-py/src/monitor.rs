//! `PerformanceMonitor` and `PerformanceMetric`: the specification's monitor over `vana_metrics`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyDict, PyList, PyString};
use vana_config::{AlertLevel, Comparison, MonitoringConfig};
use vana_metrics::{AlertEvent, AlertTransition, MetricSample};

/// Seconds since the epoch.
pub(crate) fn epoch(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH).map_or(0.0, |since| since.as_secs_f64())
}

fn system_time(epoch_seconds: f64) -> SystemTime {
    if epoch_seconds.is_finite() && epoch_seconds > 0.0 {
        UNIX_EPOCH + Duration::from_secs_f64(epoch_seconds.min(1e11))
    } else {
        UNIX_EPOCH
    }
}

/// One recorded sample, with the specification's fields.
#[pyclass(module = "vana_ops._native", frozen, get_all)]
pub(crate) struct PerformanceMetric {
    /// When it was recorded, in seconds since the epoch.
    timestamp: f64,
    /// The metric's name.
    metric_name: String,
    /// The value.
    value: f64,
    /// The unit.
    unit: String,
    /// The series' tags.
    tags: Py<PyDict>,
    /// The sample's metadata.
    metadata: Py<PyDict>,
}

#[pymethods]
impl PerformanceMetric {
    /// The metric's name (`metric_name`).
    #[getter]
    fn name(&self) -> &str {
        &self.metric_name
    }

    fn __repr__(&self) -> String {
        format!(
            "PerformanceMetric(metric_name={:?}, value={}, unit={:?}, timestamp={})",
            self.metric_name, self.value, self.unit, self.timestamp
        )
    }
}

fn tags_dict<'py>(
    py: Python<'py>,
    tags: &[(std::sync::Arc<str>, std::sync::Arc<str>)],
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (key, value) in tags {
        dict.set_item(&**key, python_text(key, value))?;
    }
    Ok(dict)
}

/// A tag value as the specification's Python wrote it: `success` is `str(success)`, `"True"` or `"False"`
/// (the monitor records `true`/`false`, the Prometheus way; every other tag is already `str()` of its value).
fn python_text<'a>(key: &str, value: &'a str) -> &'a str {
    match (key, value) {
        ("success", "true") => "True",
        ("success", "false") => "False",
        _ => value,
    }
}

fn metric(py: Python<'_>, sample: &MetricSample) -> PyResult<PerformanceMetric> {
    Ok(PerformanceMetric {
        timestamp: epoch(sample.timestamp),
        metric_name: sample.name.to_string(),
        value: sample.value,
        unit: sample.unit.to_string(),
        tags: tags_dict(py, &sample.tags)?.unbind(),
        metadata: tags_dict(py, &sample.metadata)?.unbind(),
    })
}

/// A dict's items as text pairs (a `str` as it is, anything else by `str()`), kept as Python holds them
/// (no copy into Rust strings).
pub(crate) fn text_pairs(tags: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<(PyBackedStr, PyBackedStr)>> {
    let Some(tags) = tags else { return Ok(Vec::new()) };
    let mut pairs = Vec::with_capacity(tags.len());
    for (key, value) in tags.iter() {
        pairs.push((text(&key)?, text(&value)?));
    }
    Ok(pairs)
}

fn text(object: &Bound<'_, PyAny>) -> PyResult<PyBackedStr> {
    match object.cast::<PyString>() {
        Ok(string) => string.clone().try_into(),
        Err(_) => object.str()?.try_into(),
    }
}

/// Pairs as `&str` pairs, as the monitor takes them.
fn as_strs(pairs: &[(PyBackedStr, PyBackedStr)]) -> Vec<(&str, &str)> {
    pairs.iter().map(|(key, value)| (&**key, &**value)).collect()
}

/// The specification's `PerformanceMonitor`, backed by `vana_metrics::PerformanceMonitor`: samples in a
/// lock-free ring capped by count and age (retention applied), thresholds by name or glob with an alert state
/// machine, percentiles in summaries.
#[pyclass(module = "vana_ops._native")]
pub(crate) struct PerformanceMonitor {
    monitor: vana_metrics::PerformanceMonitor,
    callbacks: Py<PyList>,
    seen: AtomicU64,
}

impl PerformanceMonitor {
    fn with_config(py: Python<'_>, config: &MonitoringConfig) -> Self {
        Self::sharing(py, vana_metrics::PerformanceMonitor::new(config))
    }

    /// Speaks for `monitor` (an `Ops`' own, which its HTTP layer records into).
    pub(crate) fn sharing(py: Python<'_>, monitor: vana_metrics::PerformanceMonitor) -> Self {
        let seen = AtomicU64::new(monitor.alert_transitions());
        Self { monitor, callbacks: PyList::empty(py).unbind(), seen }
    }

    /// Hands the transitions the last recording made to the callbacks.
    fn notify(&self, py: Python<'_>) -> PyResult<()> {
        let seen = self.seen.load(Ordering::Acquire);
        if self.monitor.alert_transitions() == seen {
            return Ok(());
        }
        let (alerts, total) = self.monitor.alerts_after(seen);
        self.seen.store(total, Ordering::Release);
        let callbacks = self.callbacks.bind(py).clone();
        if callbacks.is_empty() {
            return Ok(());
        }
        for alert in alerts.iter().filter(|alert| alert.transition != AlertTransition::Resolved) {
            let alert = alert_dict(py, alert)?;
            for callback in callbacks.iter() {
                callback.call1((alert.clone(),))?;
            }
        }
        Ok(())
    }
}

/// An alert as the specification's dict: `timestamp`, `level`, `metric`, `value`, `threshold`, `message`, and
/// the transition and tags.
fn alert_dict<'py>(py: Python<'py>, alert: &AlertEvent) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("timestamp", epoch(alert.at))?;
    dict.set_item("level", alert.level.to_string())?;
    dict.set_item("metric", &*alert.metric)?;
    dict.set_item("value", alert.value)?;
    dict.set_item("threshold", alert.threshold_value)?;
    dict.set_item(
        "message",
        format!("{} {} {} ({})", alert.metric, alert.comparison, alert.threshold_value, alert.value),
    )?;
    dict.set_item("threshold_name", &*alert.threshold)?;
    dict.set_item("transition", alert.transition.as_str())?;
    dict.set_item("tags", tags_dict(py, &alert.tags)?)?;
    Ok(dict)
}

fn comparison(text: &str) -> PyResult<Comparison> {
    match text {
        "greater" => Ok(Comparison::Greater),
        "less" => Ok(Comparison::Less),
        other => {
            Err(PyValueError::new_err(format!("comparison must be \"greater\" or \"less\", not {other:?}")))
        }
    }
}

#[pymethods]
impl PerformanceMonitor {
    /// A monitor keeping `retention_minutes` of samples (at most 1,000 a series), with no thresholds.
    #[new]
    #[pyo3(signature = (retention_minutes = 60))]
    fn new(py: Python<'_>, retention_minutes: u64) -> Self {
        let mut config = MonitoringConfig::default();
        config.performance_monitoring.retention_minutes = retention_minutes.max(1);
        config.thresholds.clear();
        Self::with_config(py, &config)
    }

    /// A monitor configured by `monitoring/monitoring.yaml` in `dir` (or the embedded defaults), with its
    /// thresholds; raises `ConfigError`.
    #[staticmethod]
    #[pyo3(signature = (dir = None))]
    fn from_config(py: Python<'_>, dir: Option<std::path::PathBuf>) -> PyResult<Self> {
        let config = crate::config::load(py, dir, true)?;
        Ok(Self::with_config(py, &config.monitoring))
    }

    /// Records a sample now.
    #[pyo3(signature = (name, value, unit = "", tags = None, metadata = None))]
    fn record_metric(
        &self,
        py: Python<'_>,
        name: &str,
        value: f64,
        unit: &str,
        tags: Option<&Bound<'_, PyDict>>,
        metadata: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let tags = text_pairs(tags)?;
        // The monitor reads at most MAX_TAGS tags: borrowed on the stack, no second allocation a call.
        let mut borrowed = [("", ""); vana_metrics::MAX_TAGS];
        let count = tags.len().min(borrowed.len());
        for (slot, (key, value)) in borrowed.iter_mut().zip(&tags) {
            *slot = (key.as_str(), value.as_str());
        }
        let tags = &borrowed[..count];
        match metadata.filter(|metadata| !metadata.is_empty()) {
            None => self.monitor.record_metric(name, value, unit, tags),
            Some(metadata) => {
                let metadata = text_pairs(Some(metadata))?;
                let metadata: Vec<(&str, &str)> =
                    metadata.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                self.monitor.record_metric_with_metadata(name, value, unit, tags, &metadata);
            }
        }
        self.notify(py)
    }

    /// Records `duration` seconds of `operation` as `response_time.<operation>`, tagged `success` and `tags`,
    /// and feeds its error rate.
    #[pyo3(signature = (operation, duration, success = true, **tags))]
    fn record_response_time(
        &self,
        py: Python<'_>,
        operation: &str,
        duration: f64,
        success: bool,
        tags: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let tags = text_pairs(tags)?;
        let duration = Duration::try_from_secs_f64(duration.max(0.0)).unwrap_or(Duration::MAX);
        self.monitor.record_response_time(operation, duration, success, &as_strs(&tags));
        self.notify(py)
    }

    /// Records one served HTTP request exactly as the gateway's layer does: `response_time.<route>` tagged
    /// with the method and status code, exported as `http_server_request_duration_seconds{http_route,
    /// http_request_method, http_response_status_code}`, a 5xx counting toward the route's error rate. So
    /// the shipped dashboard's and rules' latency queries read a Python service as they read the gateway.
    #[pyo3(signature = (route, method, status_code, duration))]
    fn record_http_request(
        &self,
        py: Python<'_>,
        route: &str,
        method: &str,
        status_code: u16,
        duration: f64,
    ) -> PyResult<()> {
        let duration = Duration::try_from_secs_f64(duration.max(0.0)).unwrap_or(Duration::MAX);
        let method = vana_metrics::http_method_label(method);
        let status = status_code.to_string();
        match self.monitor.http_request(route, method, &status) {
            Some(handle) => handle.record(duration, status_code < 500),
            None => self.monitor.record_response_time(route, duration, status_code < 500, &[]),
        }
        self.notify(py)
    }

    /// Records this process's resident and virtual memory (MB) and share of system memory (percent) as
    /// `memory.<component>.rss`, `.vms` and `.percent`.
    #[pyo3(signature = (component = "system"))]
    fn record_memory_usage(&self, py: Python<'_>, component: &str) -> PyResult<bool> {
        let recorded = py.detach(|| self.monitor.record_memory_usage(component));
        self.notify(py)?;
        Ok(recorded)
    }

    /// Records this process's CPU use since the previous call (percent of a core) as `cpu.<component>.usage`,
    /// without sleeping (the specification blocked a second); the first call records the use since the process
    /// started. False where the process cannot be read.
    #[pyo3(signature = (component = "system"))]
    fn record_cpu_usage(&self, py: Python<'_>, component: &str) -> PyResult<bool> {
        let recorded = py.detach(|| self.monitor.record_cpu_usage(component));
        self.notify(py)?;
        Ok(recorded)
    }

    /// Alerts on `metric_name` (a name, or a glob such as `response_time.*`).
    #[pyo3(signature = (metric_name, warning, critical, comparison = "greater"))]
    fn set_threshold(
        &self,
        metric_name: &str,
        warning: f64,
        critical: f64,
        comparison: &str,
    ) -> PyResult<()> {
        let comparison = self::comparison(comparison)?;
        if !(warning.is_finite() && critical.is_finite()) {
            return Err(PyValueError::new_err("warning and critical must be finite numbers"));
        }
        self.monitor.set_threshold(metric_name, warning, critical, comparison);
        Ok(())
    }

    /// The kept samples of `metric_name`, oldest first, optionally since an epoch time.
    #[pyo3(signature = (metric_name, since = None))]
    fn get_metrics(
        &self,
        py: Python<'_>,
        metric_name: &str,
        since: Option<f64>,
    ) -> PyResult<Vec<PerformanceMetric>> {
        let samples = py.detach(|| self.monitor.get_metrics(metric_name, since.map(system_time)));
        samples.iter().map(|sample| metric(py, sample)).collect()
    }

    /// `count`, and with samples `min`, `max`, `avg`, `latest`, `p50`, `p90`, `p95`, `p99`.
    #[pyo3(signature = (metric_name, since = None))]
    fn get_summary<'py>(
        &self,
        py: Python<'py>,
        metric_name: &str,
        since: Option<f64>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let summary = py.detach(|| self.monitor.get_summary(metric_name, since.map(system_time)));
        let dict = PyDict::new(py);
        dict.set_item("count", summary.count)?;
        if summary.count > 0 {
            for (key, value) in [
                ("min", summary.min),
                ("max", summary.max),
                ("avg", summary.avg),
                ("latest", summary.latest),
                ("p50", summary.p50),
                ("p90", summary.p90),
                ("p95", summary.p95),
                ("p99", summary.p99),
            ] {
                dict.set_item(key, value)?;
            }
        }
        Ok(dict)
    }

    /// Alerts raised (firing, escalated, repeated and de-escalated transitions), oldest first, at most the
    /// history's cap.
    #[getter]
    fn alerts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for alert in
            self.monitor.alert_history().iter().filter(|alert| alert.transition != AlertTransition::Resolved)
        {
            list.append(alert_dict(py, alert)?)?;
        }
        Ok(list)
    }

    /// The alerts firing now.
    #[getter]
    fn active_alerts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for alert in self.monitor.active_alerts() {
            list.append(alert_dict(py, &alert)?)?;
        }
        Ok(list)
    }

    /// Callables called with each new alert's dict, on the thread that recorded it.
    #[getter]
    fn alert_callbacks(&self, py: Python<'_>) -> Py<PyList> {
        self.callbacks.clone_ref(py)
    }

    /// The Prometheus text format of every series.
    fn prometheus(&self, py: Python<'_>) -> String {
        py.detach(|| {
            vana_metrics::render_prometheus(&self.monitor, &vana_metrics::PrometheusOptions::default())
        })
    }

    /// Whether an alert of `level` (`warning` or `critical`) fires now.
    fn firing(&self, level: &str) -> bool {
        let level = if level == "critical" { AlertLevel::Critical } else { AlertLevel::Warning };
        self.monitor.active_alerts().iter().any(|alert| alert.level == level)
    }
}
