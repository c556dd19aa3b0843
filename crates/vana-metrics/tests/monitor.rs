//! The monitor end to end: default thresholds fire on what is really recorded, retention, caps,
//! concurrency, alert delivery.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use vana_config::{AlertLevel, MonitoringConfig, metric_names};
use vana_metrics::{AlertEvent, AlertSink, AlertTransition, ManualClock, PerformanceMonitor};

fn monitor_with(config: &MonitoringConfig) -> (PerformanceMonitor, ManualClock) {
    let clock = ManualClock::new();
    (PerformanceMonitor::with_clock(config, Arc::new(clock.clone()), Vec::new()), clock)
}

#[test]
fn every_default_threshold_fires_on_the_names_that_are_recorded() {
    let (monitor, clock) = monitor_with(&MonitoringConfig::default());
    let record_all = || {
        monitor.record_response_time("llm.call", Duration::from_secs(6), true, &[]);
        monitor.record_metric(&metric_names::memory_percent("system"), 95.0, "percent", &[]);
        monitor.record_metric(&metric_names::cpu_usage("system"), 88.0, "percent", &[]);
        for call in 0..10 {
            monitor.record_response_time("tool.search", Duration::from_millis(10), call % 5 != 0, &[]);
        }
    };
    record_all();
    assert!(
        monitor.active_alerts().is_empty(),
        "pending: the default `for` is 2 minutes for rates, 5 for gauges"
    );
    clock.advance(Duration::from_secs(120));
    record_all();
    let firing: Vec<String> =
        monitor.active_alerts().iter().map(|alert| alert.threshold.to_string()).collect();
    assert_eq!(firing.len(), 2, "response time and error rate after 2 minutes: {firing:?}");
    clock.advance(Duration::from_secs(180));
    record_all();
    let mut fired: Vec<(String, String, AlertLevel)> = monitor
        .active_alerts()
        .iter()
        .map(|alert| (alert.threshold.to_string(), alert.metric.to_string(), alert.level))
        .collect();
    fired.sort();
    assert_eq!(
        fired,
        [
            ("cpu_usage".to_owned(), "cpu.system.usage".to_owned(), AlertLevel::Critical),
            ("error_rate".to_owned(), "error_rate.tool.search".to_owned(), AlertLevel::Critical),
            ("memory_usage".to_owned(), "memory.system.percent".to_owned(), AlertLevel::Critical),
            ("response_time".to_owned(), "response_time.llm.call".to_owned(), AlertLevel::Critical),
        ]
    );
    // 2 failures in 10 calls: 20 %.
    assert_eq!(monitor.get_summary("error_rate.tool.search", None).latest, 20.0);
}

#[test]
fn retention_applies_by_age_and_by_count() {
    let mut config = MonitoringConfig::default();
    config.performance_monitoring.retention_minutes = 1;
    config.performance_monitoring.max_samples_per_series = 5;
    let (monitor, clock) = monitor_with(&config);
    for value in 0..8 {
        monitor.record_metric("m", f64::from(value), "", &[]);
    }
    let values: Vec<f64> = monitor.get_metrics("m", None).iter().map(|sample| sample.value).collect();
    assert_eq!(values, [3.0, 4.0, 5.0, 6.0, 7.0]);
    assert_eq!(monitor.total_recorded("m"), 8);
    clock.advance(Duration::from_secs(61));
    assert!(monitor.get_metrics("m", None).is_empty(), "older than the retention");
    assert_eq!(monitor.get_summary("m", None).count, 0);
    monitor.record_metric("m", 42.0, "", &[]);
    assert_eq!(monitor.get_summary("m", None).count, 1);
}

#[test]
fn summaries_are_exact_and_filter_by_time() {
    let (monitor, clock) = monitor_with(&MonitoringConfig::default());
    for value in [3.0, 1.0, 2.0] {
        monitor.record_metric("lat", value, "seconds", &[("route", "/a")]);
    }
    clock.advance(Duration::from_secs(10));
    let since = monitor.clock().wall_at(monitor.clock().now_nanos());
    for value in [10.0, 20.0] {
        monitor.record_metric("lat", value, "seconds", &[("route", "/b")]);
    }
    let all = monitor.get_summary("lat", None);
    assert_eq!((all.count, all.min, all.max, all.avg, all.latest, all.p50), (5, 1.0, 20.0, 7.2, 20.0, 3.0));
    let recent = monitor.get_summary("lat", Some(since));
    assert_eq!((recent.count, recent.avg, recent.p50), (2, 15.0, 15.0));
    let samples = monitor.get_metrics("lat", Some(since));
    assert_eq!(samples.len(), 2);
    assert_eq!(&*samples[0].tags[0].1, "/b");
    assert_eq!(monitor.series_names(), ["lat"]);
}

#[test]
fn a_new_tag_value_per_call_cannot_grow_memory() {
    let mut config = MonitoringConfig::default();
    config.performance_monitoring.max_series = 1000;
    let (monitor, _) = monitor_with(&config);
    for n in 0..100_000 {
        monitor.record_metric("requests", 1.0, "", &[("user_id", &n.to_string())]);
    }
    assert_eq!(monitor.series_count(), 1000);
    assert_eq!(monitor.dropped_samples(), 99_000);
    assert!(monitor.series("another", "", &[]).is_none());
}

#[test]
fn concurrent_recording_loses_nothing() {
    let monitor = PerformanceMonitor::new(&MonitoringConfig::default());
    const THREADS: usize = 4;
    const SAMPLES: usize = 1_000_000;
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let monitor = monitor.clone();
            std::thread::spawn(move || {
                let handle = monitor.series("shared", "", &[]).unwrap();
                let own = monitor.series("own", "", &[("thread", &thread.to_string())]).unwrap();
                for n in 0..SAMPLES {
                    handle.record(n as f64);
                    own.record(1.0);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(monitor.total_recorded("shared"), (THREADS * SAMPLES) as u64);
    assert_eq!(monitor.total_recorded("own"), (THREADS * SAMPLES) as u64);
    assert_eq!(monitor.get_summary("shared", None).count, 1000, "the count cap holds");
}

#[derive(Default)]
struct Collect(Mutex<Vec<AlertEvent>>);

impl AlertSink for Collect {
    fn deliver(&self, event: &AlertEvent) {
        self.0.lock().push(event.clone());
    }
}

#[test]
fn transitions_reach_the_sinks_off_the_recording_thread() {
    let sink = Arc::new(Collect::default());
    let clock = ManualClock::new();
    let monitor = PerformanceMonitor::with_clock(
        &MonitoringConfig::default(),
        Arc::new(clock.clone()),
        vec![sink.clone() as Arc<dyn AlertSink>],
    );
    monitor.set_threshold("temp", 10.0, 20.0, vana_config::Comparison::Greater);
    for value in [5.0, 15.0, 25.0, 25.0, 25.0, 9.0] {
        monitor.record_metric("temp", value, "C", &[]);
        clock.advance(Duration::from_secs(1));
    }
    assert_eq!(monitor.active_alerts().len(), 1, "still firing: clear for 1 of the 60 s hold time");
    clock.advance(Duration::from_secs(59));
    monitor.record_metric("temp", 9.0, "C", &[]);
    monitor.shutdown();
    let delivered: Vec<(AlertTransition, AlertLevel)> =
        sink.0.lock().iter().map(|event| (event.transition, event.level)).collect();
    assert_eq!(
        delivered,
        [
            (AlertTransition::Firing, AlertLevel::Warning),
            (AlertTransition::Escalated, AlertLevel::Critical),
            (AlertTransition::Resolved, AlertLevel::Critical),
        ]
    );
    assert!(monitor.active_alerts().is_empty());
    assert_eq!(monitor.alert_history().len(), 3);
}

/// A sink stuck until its gate opens: the dispatcher holds one alert, the queue fills, the rest are dropped.
struct Stuck(Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>);

impl AlertSink for Stuck {
    fn deliver(&self, _: &AlertEvent) {
        let (lock, opened) = &*self.0;
        let _open = opened.wait_while(lock.lock().unwrap(), |open| !*open).unwrap();
    }
}

#[test]
fn a_slow_sink_never_blocks_recording_and_the_queue_is_bounded() {
    let mut config = MonitoringConfig::default();
    config.alerting.queue_capacity = 4;
    config.alerting.max_history = 10;
    config.alerting.repeat_interval_seconds = 1;
    let clock = ManualClock::new();
    let gate = Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
    let monitor = PerformanceMonitor::with_clock(
        &config,
        Arc::new(clock.clone()),
        vec![Arc::new(Stuck(Arc::clone(&gate))) as Arc<dyn AlertSink>],
    );
    monitor.set_threshold("load", 1.0, 2.0, vana_config::Comparison::Greater);
    // With the sink stuck, recording goes on (a blocked recorder would hang the test here).
    for _ in 0..200 {
        monitor.record_metric("load", 5.0, "", &[]);
        clock.advance(Duration::from_secs(2)); // every sample is a repeat notification
    }
    // 200 transitions: four wait in the queue, at most one is in the stuck sink's hands, the rest dropped.
    assert!(monitor.dropped_alerts() >= 195, "{}", monitor.dropped_alerts());
    assert_eq!(monitor.alert_history().len(), 10);
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();
    monitor.shutdown();
}

#[test]
fn metadata_is_kept_per_sample_but_stored_once_per_change() {
    let mut config = MonitoringConfig::default();
    config.performance_monitoring.max_samples_per_series = 4;
    let (monitor, _) = monitor_with(&config);
    monitor.record_metric_with_metadata("job", 1.0, "s", &[], &[("agent", "planner")]);
    monitor.record_metric_with_metadata("job", 2.0, "s", &[], &[("agent", "planner")]);
    monitor.record_metric("job", 3.0, "s", &[]);
    monitor.record_metric_with_metadata("job", 4.0, "s", &[], &[("agent", "coder")]);
    let metadata: Vec<Vec<(String, String)>> = monitor
        .get_metrics("job", None)
        .iter()
        .map(|sample| sample.metadata.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
        .collect();
    let planner = vec![("agent".to_owned(), "planner".to_owned())];
    assert_eq!(metadata, [planner.clone(), planner, vec![], vec![("agent".to_owned(), "coder".to_owned())]]);
    // Old change points go with their samples: the ring holds 4, these 100 make at most 5 change points.
    for n in 0..100 {
        monitor.record_metric_with_metadata("job", f64::from(n), "s", &[], &[("n", &n.to_string())]);
    }
    let kept = monitor.get_metrics("job", None);
    assert_eq!(kept.len(), 4);
    assert_eq!(&*kept[3].metadata[0].1, "99");
}

#[test]
fn readers_see_whole_samples_while_writers_record() {
    let mut config = MonitoringConfig::default();
    config.performance_monitoring.max_samples_per_series = 100;
    let monitor = PerformanceMonitor::new(&config);
    let handle = monitor.series("race", "", &[]).unwrap();
    let writers: Vec<_> = (0..2)
        .map(|writer| {
            let handle = handle.clone();
            std::thread::spawn(move || {
                for n in 0..200_000u32 {
                    // Every value written is an integer that encodes its writer: a torn or stale read would not.
                    handle.record(f64::from(writer * 1_000_000 + n % 1000));
                }
            })
        })
        .collect();
    // At least one read, however the threads are scheduled; more while the writers run.
    loop {
        let writing = writers.iter().any(|writer| !writer.is_finished());
        let samples = monitor.get_metrics("race", None);
        assert!(samples.len() <= 100);
        for sample in &samples {
            let value = sample.value;
            assert!(
                value.fract() == 0.0 && (value < 1000.0 || (1_000_000.0..1_001_000.0).contains(&value)),
                "{value}"
            );
        }
        let summary = monitor.get_summary("race", None);
        assert!(summary.count <= 100 && summary.max < 1_001_000.0);
        if !writing {
            break;
        }
    }
    for writer in writers {
        writer.join().unwrap();
    }
    assert_eq!(monitor.total_recorded("race"), 400_000);
    assert_eq!(monitor.get_summary("race", None).count, 100);
}

#[test]
fn tags_per_series_and_operations_are_capped() {
    let mut config = MonitoringConfig::default();
    config.performance_monitoring.max_series = 20;
    let (monitor, _) = monitor_with(&config);
    let keys: Vec<String> = (0..40).map(|n| format!("k{n:02}")).collect();
    let tags: Vec<(&str, &str)> = keys.iter().map(|key| (key.as_str(), "v")).collect();
    monitor.record_metric("wide", 1.0, "", &tags);
    assert_eq!(monitor.get_metrics("wide", None)[0].tags.len(), vana_metrics::MAX_TAGS);
    // A new operation name per call: series and error-rate windows stay within max_series.
    for n in 0..1000 {
        monitor.record_response_time(&format!("op{n}"), Duration::from_millis(1), n % 2 == 0, &[]);
    }
    assert_eq!(monitor.series_count(), 20);
    assert!(monitor.dropped_samples() > 900);
}

#[test]
fn a_tagged_operation_handle_records_into_the_same_series_as_by_name() {
    let monitor = PerformanceMonitor::new(&MonitoringConfig::default());
    let handle = monitor.operation_with_tags("/items/{id}", &[("method", "GET")]).unwrap();
    handle.record(Duration::from_millis(5), true);
    handle.record(Duration::from_millis(7), false);
    monitor.record_response_time("/items/{id}", Duration::from_millis(6), true, &[("method", "GET")]);
    let series: Vec<_> = monitor
        .snapshot()
        .into_iter()
        .filter(|series| &*series.name == "response_time./items/{id}")
        .collect();
    assert_eq!(series.len(), 2, "one series per success value: {series:?}");
    let count_of = |success: &str| {
        series
            .iter()
            .find(|s| s.tags.iter().any(|(k, v)| &**k == "success" && &**v == success))
            .map(|s| (s.count, s.tags.iter().any(|(k, v)| &**k == "method" && &**v == "GET")))
    };
    assert_eq!(count_of("true"), Some((2, true)));
    assert_eq!(count_of("false"), Some((1, true)));
}

/// The monitoring configuration of `yaml` over the defaults.
fn config_of(yaml: &str) -> MonitoringConfig {
    let loaded = vana_config::ConfigLoader::new()
        .document_str(vana_config::Document::Monitoring, "test", yaml)
        .load()
        .unwrap_or_else(|error| panic!("{error}"));
    loaded.config.monitoring
}

const TEMP: &str = "thresholds:\n  temp:\n    metric: temp\n    warning: 10\n    critical: 20\n";

#[test]
fn for_seconds_holds_an_alert_pending_until_the_value_stays_past_the_line() {
    let (monitor, clock) = monitor_with(&config_of(&format!("{TEMP}    for_seconds: 30\n")));
    monitor.record_metric("temp", 15.0, "C", &[]);
    clock.advance(Duration::from_secs(20));
    monitor.record_metric("temp", 15.0, "C", &[]);
    assert!(monitor.active_alerts().is_empty(), "pending for 20 of 30 seconds");
    clock.advance(Duration::from_secs(15));
    monitor.record_metric("temp", 15.0, "C", &[]);
    assert_eq!(monitor.active_alerts().len(), 1, "firing after 35 seconds past the line");
    // A dip below the line longer than the hold time starts the wait again; a shorter one does not.
    let pending_after = |dip: u64| {
        let yaml = format!("alerting:\n  keep_firing_seconds: 10\n{TEMP}    for_seconds: 30\n");
        let (monitor, clock) = monitor_with(&config_of(&yaml));
        for (value, advance) in [(15.0, 20), (5.0, dip), (5.0, 0), (15.0, 20), (15.0, 0)] {
            monitor.record_metric("temp", value, "C", &[]);
            clock.advance(Duration::from_secs(advance));
        }
        monitor.active_alerts().is_empty()
    };
    assert!(pending_after(11), "a dip of 11 s forgives: 20 s since it");
    assert!(!pending_after(1), "a dip of 1 s does not: 41 s since the alert became pending");
}

#[test]
fn an_alert_whose_series_stops_resolves_after_five_minutes() {
    let (monitor, clock) = monitor_with(&config_of(&format!("{TEMP}    for_seconds: 0\n")));
    monitor.record_metric("temp", 25.0, "C", &[]);
    clock.advance(Duration::from_secs(299));
    monitor.expire_alerts();
    assert_eq!(monitor.active_alerts().len(), 1);
    clock.advance(Duration::from_secs(1));
    monitor.expire_alerts();
    assert!(monitor.active_alerts().is_empty());
    let resolved = monitor.alert_history().pop().expect("a resolution");
    assert_eq!(resolved.transition, AlertTransition::Resolved);
    assert!(resolved.message().contains("no recent value"), "{}", resolved.message());
}

#[test]
fn recovery_margin_sets_how_far_back_a_value_must_come() {
    let resolved_at = |yaml: &str| {
        let (monitor, _) = monitor_with(&config_of(yaml));
        monitor.record_metric("temp", 15.0, "C", &[]);
        [9.0, 7.0, 4.0].into_iter().find(|value| {
            monitor.record_metric("temp", *value, "C", &[]);
            monitor.active_alerts().is_empty()
        })
    };
    // The default margin (5 %) resolves just under the line; a margin of 50 % only under half of it.
    let at_once = "alerting:\n  keep_firing_seconds: 0\n";
    assert_eq!(resolved_at(&format!("{at_once}{TEMP}    for_seconds: 0\n")), Some(9.0));
    assert_eq!(
        resolved_at(&format!("{at_once}  recovery_margin: 0.5\n{TEMP}    for_seconds: 0\n")),
        Some(4.0)
    );
}

#[test]
fn error_rate_window_seconds_forgets_older_calls() {
    let error_rate_after_a_pause = |yaml: &str| {
        let (monitor, clock) = monitor_with(&config_of(yaml));
        for _ in 0..10 {
            monitor.record_response_time("checkout", Duration::from_millis(5), false, &[]);
        }
        clock.advance(Duration::from_secs(30));
        for _ in 0..10 {
            monitor.record_response_time("checkout", Duration::from_millis(5), true, &[]);
        }
        monitor.get_metrics(&metric_names::error_rate("checkout"), None).last().map(|sample| sample.value)
    };
    // A 60-second window (the default) still holds the ten failures; a 10-second one no longer does.
    assert_eq!(
        error_rate_after_a_pause("performance_monitoring:\n  error_rate_window_seconds: 60\n"),
        Some(50.0)
    );
    assert_eq!(
        error_rate_after_a_pause("performance_monitoring:\n  error_rate_window_seconds: 10\n"),
        Some(0.0)
    );
}

#[test]
fn new_alert_transitions_are_known_right_after_the_recording_that_made_them() {
    let monitor = PerformanceMonitor::new(&vana_config::MonitoringConfig::default());
    monitor.set_threshold("queue.depth", 10.0, 20.0, vana_config::Comparison::Greater);
    let seen = monitor.alert_transitions();
    monitor.record_metric("queue.depth", 5.0, "jobs", &[]);
    assert_eq!(monitor.alerts_after(seen), (Vec::new(), seen));
    monitor.record_metric("queue.depth", 15.0, "jobs", &[]);
    monitor.record_metric("queue.depth", 25.0, "jobs", &[]);
    let (new, seen) = monitor.alerts_after(seen);
    let levels: Vec<_> = new.iter().map(|alert| alert.level).collect();
    assert_eq!(levels, [vana_config::AlertLevel::Warning, vana_config::AlertLevel::Critical]);
    assert_eq!(monitor.alerts_after(seen).0, Vec::new());
}
