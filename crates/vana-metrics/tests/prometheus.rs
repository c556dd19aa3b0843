//! The Prometheus export is accepted by `promtool check metrics` and keeps histogram invariants that
//! promtool does not check.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use vana_config::MonitoringConfig;
use vana_metrics::{PerformanceMonitor, PrometheusOptions, render_prometheus};

fn sample_monitor() -> PerformanceMonitor {
    let monitor = PerformanceMonitor::new(&MonitoringConfig::default());
    for (n, millis) in [3u64, 8, 40, 120, 700, 2_000, 9_000, 30_000].iter().enumerate() {
        let route = if n % 2 == 0 { "/agents/{id}" } else { "/health" };
        monitor.record_response_time(
            "http.request",
            Duration::from_millis(*millis),
            n != 5,
            &[("route", route)],
        );
    }
    monitor.record_response_time(
        "llm.call",
        Duration::from_millis(900),
        true,
        &[("model", "big \"quoted\"\\name\nline")],
    );
    monitor.record_metric("memory.system.rss", 123.5, "MB", &[]);
    monitor.record_metric("memory.system.percent", 12.5, "percent", &[]);
    monitor.record_metric("cpu.system.usage", 50.0, "percent", &[]);
    let chat = monitor.http_request("/chat", "POST", "200").expect("room for the route");
    chat.record(Duration::from_millis(30), true);
    monitor.record_metric(
        "queue-depth.2nd",
        7.0,
        "jobs",
        &[("le", "reserved"), ("__x", "reserved too"), ("0bad", "digit")],
    );
    monitor.record_metric("errors.llm.call", 1.0, "count", &[("error", "timeout")]);
    monitor.record_metric("errors.llm.call", 1.0, "count", &[("error", "timeout")]);
    monitor.record_metric("ratio", f64::NAN, "", &[]);
    monitor
}

#[test]
fn promtool_accepts_the_export() {
    let text = render_prometheus(&sample_monitor(), &PrometheusOptions::default());
    let mut child = match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(error) => panic!(
            "promtool is needed for this test ({error}): install Debian's `prometheus` package (cargo xtask ci does)"
        ),
    };
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success() && output.stdout.is_empty() && output.stderr.is_empty(),
        "promtool rejected the export or found lint problems:\n{}{}\n---\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn histograms_are_cumulative_and_inf_equals_count() {
    let text = render_prometheus(&sample_monitor(), &PrometheusOptions::default());
    // Group bucket lines by series (labels without `le`).
    let mut buckets: HashMap<String, Vec<(String, u64)>> = HashMap::new();
    let mut counts: HashMap<String, u64> = HashMap::new();
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap();
        if let Some(rest) =
            series.strip_prefix("vana_response_time_seconds_bucket{operation=\"http.request\",")
        {
            let le_at = rest.find("le=\"").unwrap();
            let le = rest[le_at + 4..].split('"').next().unwrap().to_owned();
            let key = format!("{{{}", &rest[..le_at]);
            buckets.entry(key).or_default().push((le, value.parse().unwrap()));
        } else if let Some(rest) =
            series.strip_prefix("vana_response_time_seconds_count{operation=\"http.request\",")
        {
            counts.insert(rest.trim_end_matches('}').to_owned(), value.parse().unwrap());
        }
    }
    assert_eq!(buckets.len(), 3, "{buckets:?}"); // route × success combinations that occurred
    let mut total = 0;
    for (key, series) in &buckets {
        assert!(series.windows(2).all(|pair| pair[0].1 <= pair[1].1), "not cumulative: {series:?}");
        let (last_le, last) = series.last().unwrap();
        assert_eq!(last_le, "+Inf");
        let labels = key.trim_start_matches('{').trim_end_matches(',').to_owned();
        assert_eq!(counts.get(&labels), Some(last), "{key}");
        total += last;
    }
    assert_eq!(total, 8);
}

#[test]
fn names_and_labels_are_sanitized_and_escaped() {
    let text = render_prometheus(&sample_monitor(), &PrometheusOptions::default());
    assert!(
        text.contains(
            "vana_queue_depth_2nd{tag_0bad=\"digit\",tag___x=\"reserved too\",tag_le=\"reserved\"} 7"
        ),
        "{text}"
    );
    assert!(text.contains(r#"model="big \"quoted\"\\name\nline""#), "{text}");
    assert!(
        text.contains(
            "# TYPE vana_errors_llm_call_total counter\nvana_errors_llm_call_total{error=\"timeout\"} 2\n"
        ),
        "{text}"
    );
    assert!(text.contains("vana_ratio NaN"), "{text}");
    assert_eq!(text.matches("# TYPE vana_memory_resident_bytes gauge").count(), 1);
    let bare = render_prometheus(
        &sample_monitor(),
        &PrometheusOptions { prefix: String::new(), ..Default::default() },
    );
    assert!(bare.contains("\nmemory_resident_bytes{component=\"system\"} 129499136\n"), "{bare}");
}

#[test]
fn recorded_units_are_exported_in_base_units_under_conventional_names() {
    let text = render_prometheus(&sample_monitor(), &PrometheusOptions::default());
    for expected in [
        "vana_memory_resident_bytes{component=\"system\"} 129499136\n",
        "vana_memory_usage_ratio{component=\"system\"} 0.125\n",
        "vana_cpu_usage_ratio{component=\"system\"} 0.5\n",
        "# TYPE http_server_request_duration_seconds histogram\n",
        "http_server_request_duration_seconds_count{http_route=\"/chat\",http_request_method=\"POST\",http_response_status_code=\"200\"} 1\n",
        "# TYPE process_cpu_seconds_total counter\n",
        "# TYPE process_start_time_seconds gauge\n",
        "# TYPE process_open_fds gauge\n",
        "# TYPE process_max_fds gauge\n",
        "# TYPE process_virtual_memory_bytes gauge\n",
    ] {
        assert!(text.contains(expected), "{expected} in\n{text}");
    }
    let resident: f64 = text
        .lines()
        .find_map(|line| line.strip_prefix("process_resident_memory_bytes "))
        .and_then(|value| value.parse().ok())
        .expect("process_resident_memory_bytes");
    assert!(resident > 1e6, "the test process's resident memory is more than a megabyte: {resident}");
    assert!(!text.contains("_percent"), "no percent families: {text}");

    let legacy =
        render_prometheus(&sample_monitor(), &PrometheusOptions { legacy_names: true, ..Default::default() });
    assert!(legacy.contains("\nvana_memory_system_rss 123.5\n"), "{legacy}");
    assert!(
        legacy.contains("vana_response_time_seconds_count{operation=\"/chat\",http_request_method=\"POST\""),
        "{legacy}"
    );
    assert!(!legacy.contains("process_"), "{legacy}");
}

#[test]
fn an_error_rate_below_its_minimum_of_calls_is_absent_not_nan() {
    let monitor = PerformanceMonitor::new(&MonitoringConfig::default());
    // One call: below `error_rate_min_calls` (10), so the operation has no error rate yet. A handle (what the
    // HTTP layer holds per route) registers the operation's series before any of them has a sample.
    let handle = monitor.operation("/echo").expect("room for the operation");
    handle.record(Duration::from_millis(5), false);
    let text = render_prometheus(&monitor, &PrometheusOptions::default());
    assert!(!text.contains("NaN"), "{text}");
    assert!(!text.contains("vana_error_ratio"), "{text}");
    assert!(
        text.contains(r#"vana_response_time_seconds_count{operation="/echo",success="false"} 1"#),
        "{text}"
    );
    for _ in 0..10 {
        handle.record(Duration::from_millis(5), true);
    }
    let text = render_prometheus(&monitor, &PrometheusOptions::default());
    assert!(text.contains(r#"vana_error_ratio{operation="/echo"} 0.09"#), "{text}");
}

#[test]
fn histogram_buckets_come_from_the_configuration() {
    let mut config = MonitoringConfig::default();
    config.performance_monitoring.histogram_buckets = vec![0.1, 1.0];
    let monitor = PerformanceMonitor::new(&config);
    monitor.record_response_time("op", Duration::from_millis(500), true, &[]);
    let text = render_prometheus(&monitor, &PrometheusOptions::default());
    let les: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("_bucket"))
        .map(|line| line.split("le=\"").nth(1).unwrap().split('"').next().unwrap())
        .collect();
    // The default thresholds' lines (2 s warning, 5 s critical) are bounds too.
    assert_eq!(les, ["0.1", "1", "2", "5", "+Inf"]);
    assert!(
        text.contains("vana_response_time_seconds_bucket{operation=\"op\",success=\"true\",le=\"1\"} 1"),
        "{text}"
    );
}

fn promtool(args: &[&str]) -> std::process::Output {
    Command::new("promtool").args(args).output().unwrap_or_else(|error| {
        panic!("promtool is needed for this test ({error}): install Debian's `prometheus` package (cargo xtask ci does)")
    })
}

/// Unit tests of the rules with promtool: the defaults fire exactly one severity at a time, under the
/// threshold's name, on the exported series.
const RULE_TESTS: &str = r#"rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'vana_error_ratio{operation="/chat",instance="a",job="vana"}'
        values: '0.07x10'
      - series: 'vana_memory_usage_ratio{component="system",instance="a",job="vana"}'
        values: '0.95x10'
      - series: 'vana_response_time_seconds_bucket{operation="/slow",success="true",instance="a",job="vana",le="1"}'
        values: '0+0x10'
      - series: 'vana_response_time_seconds_bucket{operation="/slow",success="true",instance="a",job="vana",le="5"}'
        values: '0+10x10'
      - series: 'vana_response_time_seconds_bucket{operation="/slow",success="true",instance="a",job="vana",le="+Inf"}'
        values: '0+10x10'
      - series: 'http_server_request_duration_seconds_bucket{http_route="/chat",http_request_method="POST",http_response_status_code="200",instance="a",job="vana",le="5"}'
        values: '0+0x10'
      - series: 'http_server_request_duration_seconds_bucket{http_route="/chat",http_request_method="POST",http_response_status_code="200",instance="a",job="vana",le="10"}'
        values: '0+10x10'
      - series: 'http_server_request_duration_seconds_bucket{http_route="/chat",http_request_method="POST",http_response_status_code="200",instance="a",job="vana",le="+Inf"}'
        values: '0+10x10'
      - series: 'up{instance="b",job="vana"}'
        values: '1 1 0 0 0 0'
    alert_rule_test:
      - eval_time: 1m
        alertname: error_rate
        exp_alerts: []
      - eval_time: 5m
        alertname: error_rate
        exp_alerts:
          - exp_labels: {severity: warning, service: vana-ops, operation: /chat, instance: a, job: vana}
            exp_annotations: {value: "0.07", threshold: "greater 0.05", metric_glob: "error_rate.*", summary: "error_rate: value of error_rate.* is 0.07 (greater 0.05, warning)"}
      - eval_time: 4m
        alertname: memory_usage
        exp_alerts: []
      - eval_time: 10m
        alertname: memory_usage
        exp_alerts:
          - exp_labels: {severity: critical, service: vana-ops, component: system, instance: a, job: vana}
            exp_annotations: {value: "0.95", threshold: "greater 0.9", metric_glob: "memory.*.percent", summary: "memory_usage: value of memory.*.percent is 0.95 (greater 0.9, critical)"}
      - eval_time: 10m
        alertname: response_time
        exp_alerts:
          - exp_labels: {severity: warning, service: vana-ops, operation: /slow, success: "true", instance: a, job: vana}
            exp_annotations: {value: "4.96", threshold: "greater 2", metric_glob: "response_time.*", summary: "response_time: p99 over 5m (s) of response_time.* is 4.96 (greater 2, warning)"}
          - exp_labels: {severity: critical, service: vana-ops, http_route: /chat, http_request_method: POST, http_response_status_code: "200", instance: a, job: vana}
            exp_annotations: {value: "9.95", threshold: "greater 5", metric_glob: "response_time.*", summary: "response_time: p99 over 5m (s) of response_time.* is 9.95 (greater 5, critical)"}
      - eval_time: 10m
        alertname: cpu_usage
        exp_alerts: []
      - eval_time: 2m
        alertname: InstanceDown
        exp_alerts: []
      - eval_time: 4m
        alertname: InstanceDown
        exp_alerts:
          - exp_labels: {severity: critical, service: vana-ops, instance: b, job: vana}
            exp_annotations: {summary: "b of job vana has not answered scrapes for a minute"}
"#;

#[test]
fn promtool_accepts_the_rules_and_they_fire_like_the_thresholds() {
    let dir = std::env::temp_dir().join(format!("vana-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules = vana_metrics::prometheus_rules(
        &MonitoringConfig::default(),
        &PrometheusOptions::default(),
        "vana-ops",
    );
    std::fs::write(dir.join("rules.yml"), &rules).unwrap();
    let checked = promtool(&["check", "rules", dir.join("rules.yml").to_str().unwrap()]);
    assert!(
        checked.status.success(),
        "promtool rejected the rules:\n{}{}\n---\n{rules}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    std::fs::write(dir.join("tests.yml"), RULE_TESTS).unwrap();
    let tested = promtool(&["test", "rules", dir.join("tests.yml").to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        tested.status.success(),
        "promtool test rules failed:\n{}{}\n---\n{rules}",
        String::from_utf8_lossy(&tested.stdout),
        String::from_utf8_lossy(&tested.stderr)
    );
}
