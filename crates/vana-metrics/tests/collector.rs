//! The system collector reads the real process, never sleeps on the caller, and stops when dropped.

use std::time::{Duration, Instant};

use vana_config::MonitoringConfig;
use vana_metrics::{PerformanceMonitor, SystemCollector};

#[test]
fn one_off_samples_of_the_real_process() {
    let monitor = PerformanceMonitor::new(&MonitoringConfig::default());
    // The first call records the use since the process started (the specification's first call records).
    assert!(monitor.record_cpu_usage("app"));
    assert_eq!(monitor.get_summary("cpu.app.usage", None).count, 1);
    let busy = Instant::now();
    let mut spin = 0u64;
    while busy.elapsed() < Duration::from_millis(50) {
        spin = spin.wrapping_add(std::hint::black_box(1));
    }
    assert!(monitor.record_cpu_usage("app"));
    assert!(monitor.record_memory_usage("app"));
    let rss = monitor.get_summary("memory.app.rss", None).latest;
    let percent = monitor.get_summary("memory.app.percent", None).latest;
    let vms = monitor.get_summary("memory.app.vms", None).latest;
    assert!(rss > 1.0 && rss < 64.0 * 1024.0, "{rss} MB");
    assert!(vms >= rss, "{vms} < {rss}");
    assert!(percent > 0.0 && percent < 100.0, "{percent} %");
    let cpu = monitor.get_summary("cpu.app.usage", None).latest;
    assert!((0.0..=800.0).contains(&cpu), "{cpu} %");
}

#[test]
fn the_collector_samples_in_the_background_and_stops() {
    let monitor = PerformanceMonitor::new(&MonitoringConfig::default());
    let collector =
        SystemCollector::start(&monitor, Duration::from_millis(20)).expect("the process can be read");
    assert!(
        vana_testkit::wait_until(Duration::from_secs(30), || monitor.total_recorded("cpu.system.usage") >= 2),
        "the collector records in the background"
    );
    assert_eq!(collector_threads(), 1);
    drop(collector);
    assert_eq!(collector_threads(), 0, "dropping the collector ends its thread");
    let rss_samples = monitor.total_recorded("memory.system.rss");
    assert_eq!(rss_samples, monitor.total_recorded("cpu.system.usage"), "every sample has its CPU use");
    // The default memory threshold watches what the collector records.
    let watched: Vec<String> = monitor.thresholds().iter().map(|rule| rule.metric_glob.to_string()).collect();
    assert!(
        watched.iter().any(|glob| vana_config::metric_names::glob_matches(glob, "memory.system.percent"))
    );
    assert!(watched.iter().any(|glob| vana_config::metric_names::glob_matches(glob, "cpu.system.usage")));
}

/// The threads of this process named `vana-collector` (from `/proc/self/task/*/comm`).
fn collector_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "vana-collector")
        .count()
}
