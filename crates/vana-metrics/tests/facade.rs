//! The `metrics` facade into the monitor (feature `metrics`): what a library's `counter!`, `gauge!` and
//! `histogram!` become in the monitor, its thresholds and its export.

#![cfg(feature = "metrics")]

use std::sync::Arc;

use vana_config::MonitoringConfig;
use vana_metrics::{ManualClock, MetricsRecorder, PerformanceMonitor, PrometheusOptions, render_prometheus};

#[test]
fn counters_gauges_and_histograms_land_in_the_monitor_with_their_labels() {
    let mut config = MonitoringConfig::default();
    config.performance_monitoring.max_series = 64;
    let monitor = PerformanceMonitor::with_clock(&config, Arc::new(ManualClock::new()), Vec::new());
    monitor.set_threshold("queue_depth", 10.0, 20.0, vana_config::Comparison::Greater);
    let recorder = MetricsRecorder::new(monitor.clone());
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("jobs_done", "queue" => "email").increment(3);
        metrics::counter!("jobs_done", "queue" => "email").increment(2);
        metrics::counter!("jobs_done", "queue" => "sms").increment(1);
        let depth = metrics::gauge!("queue_depth");
        depth.set(8.0);
        depth.increment(5.0);
        depth.decrement(1.0);
        metrics::histogram!("job_seconds").record(0.25);
        metrics::histogram!("job_seconds").record(0.75);
    });
    let email: f64 = monitor
        .get_metrics("jobs_done", None)
        .iter()
        .filter(|sample| sample.tags.iter().any(|(key, value)| &**key == "queue" && &**value == "email"))
        .map(|sample| sample.value)
        .sum();
    assert_eq!(email, 5.0, "increments are summed per label set");
    assert_eq!(monitor.get_summary("queue_depth", None).latest, 12.0, "set, then +5 and -1");
    assert_eq!(monitor.active_alerts().len(), 1, "a threshold watches a gauge of the facade");
    let histogram = monitor.get_summary("job_seconds", None);
    assert_eq!((histogram.count, histogram.max), (2, 0.75));
    let text = render_prometheus(&monitor, &PrometheusOptions::default());
    assert!(text.contains("queue=\"sms\""), "{text}");
}

#[test]
fn past_the_series_cap_the_facade_records_nothing_new() {
    let mut config = MonitoringConfig::default();
    config.performance_monitoring.max_series = 2;
    let monitor = PerformanceMonitor::new(&config);
    let recorder = MetricsRecorder::new(monitor.clone());
    metrics::with_local_recorder(&recorder, || {
        for n in 0..10 {
            metrics::gauge!(format!("gauge_{n}")).set(1.0);
        }
    });
    assert!(monitor.series_names().len() <= 2, "{:?}", monitor.series_names());
    assert!(monitor.get_metrics("gauge_9", None).is_empty());
}
