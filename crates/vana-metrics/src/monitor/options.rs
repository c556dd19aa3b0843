//! How the monitor stores and alerts, from `monitoring.yaml`.

use super::*;

/// How the monitor stores and alerts, from `monitoring.yaml` (validated there).
#[derive(Debug, Clone)]
pub(crate) struct MonitorOptions {
    /// Most samples per series.
    pub(crate) max_samples_per_series: usize,
    /// Samples older than this are dropped.
    pub(crate) retention: Duration,
    /// Most series.
    pub(crate) max_series: usize,
    /// The error-rate window.
    pub(crate) error_rate_window: Duration,
    /// Fewest calls before an error rate is recorded.
    pub(crate) error_rate_min_calls: u64,
    /// Fraction of a line a value must come back past before its alert resolves.
    pub(crate) recovery_margin: f64,
    /// Time between notifications of a firing alert.
    pub(crate) repeat_interval: Duration,
    /// How long an alert's condition must have been clear before it resolves.
    pub(crate) keep_firing: Duration,
    /// Most alert transitions in the history.
    pub(crate) max_history: usize,
    /// Most transitions waiting for the sinks.
    pub(crate) queue_capacity: usize,
    /// Upper bounds of the response-time histogram buckets, in seconds, ascending.
    pub(crate) histogram_buckets: Arc<[f64]>,
}

impl From<&MonitoringConfig> for MonitorOptions {
    fn from(config: &MonitoringConfig) -> Self {
        let size = |value: u64| usize::try_from(value).unwrap_or(usize::MAX);
        let performance = &config.performance_monitoring;
        Self {
            max_samples_per_series: size(performance.max_samples_per_series),
            retention: performance.retention(),
            max_series: size(performance.max_series),
            error_rate_window: Duration::from_secs(performance.error_rate_window_seconds),
            error_rate_min_calls: performance.error_rate_min_calls,
            recovery_margin: config.alerting.recovery_margin,
            repeat_interval: Duration::from_secs(config.alerting.repeat_interval_seconds),
            keep_firing: Duration::from_secs(config.alerting.keep_firing_seconds),
            max_history: size(config.alerting.max_history),
            queue_capacity: size(config.alerting.queue_capacity),
            histogram_buckets: Arc::from(buckets_with_thresholds(config)),
        }
    }
}

/// The configured bucket bounds and every line of a response-time threshold, so a histogram quantile near a
/// line reads on the line rather than between two far bounds.
fn buckets_with_thresholds(config: &MonitoringConfig) -> Vec<f64> {
    let mut bounds = config.performance_monitoring.histogram_buckets.clone();
    for (name, threshold) in &config.thresholds {
        if threshold.metric_glob(name).is_some_and(|glob| glob.starts_with(RESPONSE_TIME_PREFIX)) {
            bounds.extend(
                [threshold.warning, threshold.critical]
                    .into_iter()
                    .filter(|line| line.is_finite() && *line > 0.0),
            );
        }
    }
    bounds.sort_by(f64::total_cmp);
    bounds.dedup();
    bounds
}
