//! A `metrics::Recorder`: crates that emit `metrics::counter!`, `gauge!` and `histogram!` land in the same
//! monitor, thresholds and export.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, SharedString, Unit,
};

use crate::monitor::{PerformanceMonitor, SeriesHandle};

/// Routes the `metrics` facade into a [`PerformanceMonitor`]: counters as `count` series (exported as
/// Prometheus counters), gauges and histograms as series of their values. Labels become tags; past
/// `max_series`, new series are no-ops.
///
/// ```
/// let monitor = vana_metrics::PerformanceMonitor::new(&vana_config::MonitoringConfig::default());
/// let recorder = vana_metrics::MetricsRecorder::new(monitor.clone());
/// metrics::with_local_recorder(&recorder, || {
///     metrics::counter!("jobs_done", "queue" => "email").increment(3);
///     metrics::gauge!("queue_depth").set(12.0);
///     metrics::histogram!("job_seconds").record(0.25);
/// });
/// assert_eq!(monitor.get_summary("queue_depth", None).latest, 12.0);
/// assert_eq!(monitor.get_summary("job_seconds", None).count, 1);
/// ```
#[derive(Debug, Clone)]
pub struct MetricsRecorder {
    monitor: PerformanceMonitor,
}

impl MetricsRecorder {
    /// A recorder into `monitor`; install it with `metrics::set_global_recorder`.
    pub fn new(monitor: PerformanceMonitor) -> Self {
        Self { monitor }
    }

    fn handle(&self, key: &Key, unit: &str) -> Option<SeriesHandle> {
        let labels: Vec<(&str, &str)> = key.labels().map(|label| (label.key(), label.value())).collect();
        self.monitor.series(key.name(), unit, &labels)
    }
}

struct CounterSeries(SeriesHandle);

impl CounterFn for CounterSeries {
    fn increment(&self, value: u64) {
        self.0.record(value as f64);
    }

    fn absolute(&self, _value: u64) {
        // The monitor keeps increments; an absolute value from another counter has no increment to add.
    }
}

struct GaugeSeries {
    handle: SeriesHandle,
    bits: AtomicU64,
}

impl GaugeSeries {
    fn update(&self, change: impl Fn(f64) -> f64) {
        let mut current = self.bits.load(Ordering::Relaxed);
        loop {
            let next = change(f64::from_bits(current));
            match self.bits.compare_exchange_weak(
                current,
                next.to_bits(),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    self.handle.record(next);
                    return;
                }
                Err(actual) => current = actual,
            }
        }
    }
}

impl GaugeFn for GaugeSeries {
    fn increment(&self, value: f64) {
        self.update(|current| current + value);
    }

    fn decrement(&self, value: f64) {
        self.update(|current| current - value);
    }

    fn set(&self, value: f64) {
        self.update(|_| value);
    }
}

struct HistogramSeries(SeriesHandle);

impl HistogramFn for HistogramSeries {
    fn record(&self, value: f64) {
        self.0.record(value);
    }
}

impl metrics::Recorder for MetricsRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        self.handle(key, "count")
            .map_or_else(Counter::noop, |handle| Counter::from_arc(Arc::new(CounterSeries(handle))))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        self.handle(key, "").map_or_else(Gauge::noop, |handle| {
            Gauge::from_arc(Arc::new(GaugeSeries { handle, bits: AtomicU64::new(0f64.to_bits()) }))
        })
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        self.handle(key, "")
            .map_or_else(Histogram::noop, |handle| Histogram::from_arc(Arc::new(HistogramSeries(handle))))
    }
}
