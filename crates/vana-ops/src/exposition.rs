//! What `/metrics` says beyond the monitor's series: the families vana-ops reads at scrape time from its
//! parts' own state (build, health, readiness, the log writer, the security manager, the Redis backend).
//! Each is exported from the first scrape, at 0 where nothing happened yet.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use vana_metrics::{PrometheusOptions, render_prometheus};

use crate::ops::Ops;

/// The security event types the layer and the endpoints record, exported at 0 before their first event.
const EVENT_TYPES: [&str; 14] = [
    "address_blocked",
    "admin_auth_failed",
    "body_timeout",
    "body_too_large",
    "body_unreadable",
    "cross_origin_request",
    "csrf_token_invalid",
    "input_detected",
    "input_rejected",
    "ip_blocked",
    "ip_unblocked",
    "rate_limited",
    "token_budget_exhausted",
    "unsupported_encoding",
];

/// The whole exposition of `ops`: the monitor's series, the process collector's, and [`ops_families`].
pub(crate) fn render(ops: &Ops) -> String {
    let performance = &ops.config().monitoring.performance_monitoring;
    let options = PrometheusOptions { legacy_names: performance.legacy_metric_names, ..Default::default() };
    let mut text = render_prometheus(ops.monitor(), &options);
    ops_families(ops, &mut text);
    text
}

/// One family of one series without labels.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: f64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
}

/// The families read from `ops` at scrape time.
fn ops_families(ops: &Ops, out: &mut String) {
    let _ = writeln!(
        out,
        "# HELP vana_build_info The vana-ops build serving: always 1.\n# TYPE vana_build_info gauge\n\
         vana_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    for (name, kind, help, value) in single_families(ops) {
        single(out, name, kind, help, value);
    }
    alerts_firing(ops, out);
    security_events(ops, out);
    #[cfg(feature = "otel")]
    if let Some(traces) = ops.trace_export() {
        out.push_str(&traces.exposition());
    }
}

/// The families of one unlabelled series: name, type, help, value.
fn single_families(ops: &Ops) -> [(&'static str, &'static str, &'static str, f64); 7] {
    let health = ops.health();
    let (failures, fallbacks) =
        health.backend.map_or((0, 0), |backend| (backend.failures, backend.fallbacks));
    let monitor = ops.monitor();
    [
        (
            "vana_ready",
            "gauge",
            "1 while /readyz answers ready, else 0.",
            f64::from(u8::from(ops.readiness().ready)),
        ),
        (
            "vana_log_dropped_lines_total",
            "counter",
            "Log lines the bounded writer dropped because its output did not keep up.",
            health.dropped_log_lines as f64,
        ),
        (
            "vana_security_blocked_addresses",
            "gauge",
            "Addresses and networks blocked now.",
            health.blocked_addresses as f64,
        ),
        (
            "vana_backend_failures_total",
            "counter",
            "Calls to the shared (Redis) backend that failed; 0 with the in-memory backend.",
            failures as f64,
        ),
        (
            "vana_backend_fallbacks_total",
            "counter",
            "Decisions the in-memory fallback took while the shared backend was away.",
            fallbacks as f64,
        ),
        ("vana_monitor_series", "gauge", "Series the monitor holds.", monitor.series_count() as f64),
        (
            "vana_monitor_dropped_samples_total",
            "counter",
            "Samples dropped because their series would have passed performance_monitoring.max_series.",
            monitor.dropped_samples() as f64,
        ),
    ]
}

/// `vana_alerts_firing{severity}`, both severities always present.
fn alerts_firing(ops: &Ops, out: &mut String) {
    let mut firing = BTreeMap::from([("critical", 0u64), ("warning", 0)]);
    for alert in ops.monitor().active_alerts() {
        *firing
            .entry(if alert.level == vana_config::AlertLevel::Critical { "critical" } else { "warning" })
            .or_default() += 1;
    }
    let _ = writeln!(
        out,
        "# HELP vana_alerts_firing In-process alerts firing now, by severity.\n# TYPE vana_alerts_firing gauge"
    );
    for (severity, count) in firing {
        let _ = writeln!(out, "vana_alerts_firing{{severity=\"{severity}\"}} {count}");
    }
}

/// `vana_security_events_total{type}`, the known types at 0 from the start.
fn security_events(ops: &Ops, out: &mut String) {
    let mut events: BTreeMap<String, u64> = EVENT_TYPES.iter().map(|kind| ((*kind).to_owned(), 0)).collect();
    for (kind, _, count) in ops.security().events().counts() {
        *events.entry(kind).or_default() += count;
    }
    let _ = writeln!(
        out,
        "# HELP vana_security_events_total Security events by type (ip_blocked counts blocks).\n\
         # TYPE vana_security_events_total counter"
    );
    for (kind, count) in events {
        let mut label = String::with_capacity(kind.len());
        for c in kind.chars() {
            label.push(if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' });
        }
        let _ = writeln!(out, "vana_security_events_total{{type=\"{label}\"}} {count}");
    }
}
