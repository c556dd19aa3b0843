//! `Ops` wires everything from one configuration, reports health, and shuts down cleanly.

use std::time::Duration;

use vana_config::Comparison;
use vana_ops::{HealthStatus, Ops};

fn quiet() -> Ops {
    Ops::builder_from_embedded_defaults().install_logging(false).start_collector(false).build().unwrap()
}

#[test]
fn health_follows_firing_alerts_and_uptime_counts() {
    let ops = quiet();
    std::thread::sleep(Duration::from_millis(20));
    let health = ops.health();
    assert_eq!(health.status, HealthStatus::Ok);
    assert!(
        health.uptime >= Duration::from_millis(20),
        "the specification reported about 0 s: {:?}",
        health.uptime
    );
    ops.monitor().set_threshold("queue.depth", 10.0, 20.0, Comparison::Greater);
    ops.monitor().record_metric("queue.depth", 15.0, "jobs", &[]);
    assert_eq!(ops.health().status, HealthStatus::Degraded);
    assert_eq!(ops.health().firing_warning, 1);
    ops.monitor().record_metric("queue.depth", 25.0, "jobs", &[]);
    assert_eq!(ops.health().status, HealthStatus::Critical);
    ops.monitor().record_metric("queue.depth", 1.0, "jobs", &[]);
    assert_eq!(ops.health().status, HealthStatus::Critical, "clear for less than the hold time");
    ops.shutdown();
}

#[test]
fn the_parts_share_one_configuration() {
    let dir = std::env::temp_dir().join(format!("vana-ops-config-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("security")).unwrap();
    std::fs::write(
        dir.join("security/security_policies.yaml"),
        "rate_limiting:\n  default_limit: 5\n  burst_limit: 2\n",
    )
    .unwrap();
    let ops = Ops::builder_from_config_dir(&dir)
        .unwrap()
        .install_logging(false)
        .start_collector(false)
        .build()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let limiter = ops.security().rate_limiter();
    assert_eq!((0..5).filter(|_| limiter.check("client").allowed).count(), 2);
    assert_eq!(ops.config().security.rate_limiting.default_limit, 5);
    assert_eq!(ops.config_sources().len(), 2);
    // Repeated refused attacks block their source, and health counts it.
    for _ in 0..ops.config().security.ip_blocking.auto_block_after {
        ops.security().record_refused_attack("192.0.2.9".parse().unwrap());
    }
    assert_eq!(ops.health().blocked_addresses, 1);
    // An unblocked address is remembered for escalation but no longer counts as blocked.
    assert!(ops.security().blocklist().unblock("192.0.2.9".parse().unwrap()));
    assert_eq!(ops.health().blocked_addresses, 0);
}

#[test]
fn the_collector_runs_and_stops_with_ops() {
    let ops = Ops::builder_from_embedded_defaults().install_logging(false).build().unwrap();
    assert!(ops.health().collector_running);
    assert!(
        vana_testkit::wait_until(Duration::from_secs(30), || ops
            .monitor()
            .total_recorded("memory.system.rss")
            >= 1),
        "the collector records"
    );
    drop(ops);
}

#[test]
fn a_bad_configuration_directory_reports_every_problem() {
    let dir = std::env::temp_dir().join(format!("vana-ops-bad-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("monitoring")).unwrap();
    std::fs::write(dir.join("monitoring/monitoring.yaml"), "logging:\n  level: LOUD\n  formt: json\n")
        .unwrap();
    let error = Ops::from_config_dir(&dir).unwrap_err().to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(error.lines().count(), 2, "{error}");
    assert!(error.contains("logging.level: unknown log level `LOUD`"), "{error}");
}

#[cfg(feature = "webhook")]
#[test]
fn alert_channels_come_from_the_configuration_and_deliver() {
    let receiver = vana_testkit::HttpReceiver::start();
    let url = receiver.url.clone();
    let monitoring = format!(
        "thresholds:\n  queue_depth:\n    metric: \"queue.*\"\n    warning: 10\n    critical: 20\n    for_seconds: 0\nalerting:\n  channels:\n    - type: log\n    - type: email\n      level: critical\n      recipients: [\"oncall@vana.test\"]\n    - type: webhook\n      url: \"{url}\"\n      format: slack\n"
    );
    let loaded = vana_config::ConfigLoader::new()
        .document_str(vana_config::Document::Monitoring, "test", monitoring)
        .load()
        .unwrap();
    let ops = Ops::builder(loaded).install_logging(false).start_collector(false).build().unwrap();
    // Without VANA_SMTP_HOST the email channel is skipped (with a warning), not an error.
    let names: Vec<String> = ops.alert_channels().into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["log", "webhook"]);
    ops.monitor().record_metric("queue.jobs", 15.0, "jobs", &[]);
    let (_, body) =
        receiver.requests.recv_timeout(Duration::from_secs(10)).expect("the webhook received the alert");
    assert!(body.contains("queue_depth"), "{body}");
    // Counted once the post returns: wait for it.
    assert!(vana_testkit::wait_until(Duration::from_secs(30), || ops.alert_channels()[1].1.sent == 1));
    ops.shutdown();
}

#[test]
fn with_alerting_disabled_the_channels_deliver_nothing() {
    let receiver = vana_testkit::HttpReceiver::start();
    let monitoring = format!(
        "thresholds:\n  queue_depth:\n    metric: \"queue.*\"\n    warning: 10\n    critical: 20\n    for_seconds: 0\nalerting:\n  enabled: false\n  channels:\n    - type: webhook\n      url: \"{}\"\n",
        receiver.url
    );
    let loaded = vana_config::ConfigLoader::new()
        .document_str(vana_config::Document::Monitoring, "test", monitoring)
        .load()
        .unwrap();
    let ops = Ops::builder(loaded).install_logging(false).start_collector(false).build().unwrap();
    ops.monitor().record_metric("queue.jobs", 25.0, "jobs", &[]);
    assert_eq!(ops.monitor().active_alerts().len(), 1, "the alert still fires in the monitor");
    assert!(ops.alert_channels().is_empty(), "no channel is started");
    // Shutdown waits for every queued delivery: after it, whatever was sent has arrived.
    ops.shutdown();
    assert!(receiver.requests.try_recv().is_err(), "nothing was posted");
}
