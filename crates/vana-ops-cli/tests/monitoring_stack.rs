//! The shipped monitoring files against the real thing: Debian's `prometheus` scrapes a gateway in front of
//! an upstream with the rules `vana-ops export-rules` writes, and sends their alerts to Debian's
//! `prometheus-alertmanager` running `deploy/alertmanager/alertmanager.yml`, where the gateway's own
//! `alertmanager` channel sends too.
//!
//! - every PromQL expression of `deploy/grafana/vana-ops-dashboard.json` and of the rules returns data (no
//!   panel or rule silently shows nothing);
//! - the slow route's in-process alert and the rule's alert are one alert in Alertmanager, with the same
//!   labels;
//! - an agent's answer with a slow first token (the demo's `/chat`, read as an `ai_operation`) fills the
//!   GenAI families and fires the exported time-to-first-token rule.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::{Gateway, client};
use vana_testkit::{Process, TempDir, free_port, wait_for_port};

const DASHBOARD: &str = include_str!("../../../deploy/grafana/vana-ops-dashboard.json");
const ALERTMANAGER_CONFIG: &str = include_str!("../../../deploy/alertmanager/alertmanager.yml");

/// Fields drop in order: the server stops before its data directory goes.
struct Server {
    _process: Process,
    base: String,
    _data: TempDir,
}

fn start_prometheus(target: &str, rules: &str, alertmanager: &str) -> Server {
    let dir = TempDir::new("prometheus");
    std::fs::write(dir.path().join("rules.yml"), rules).unwrap();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
         rule_files: [rules.yml]\n\
         alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [\"{alertmanager}\"]\n\
         scrape_configs:\n  - job_name: vana-ops\n    static_configs:\n      - targets: [\"{target}\"]\n"
    );
    let config_path = dir.path().join("prometheus.yml");
    std::fs::write(&config_path, config).unwrap();
    let port = free_port();
    let process = Process::spawn(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}")),
        "prometheus",
    );
    assert!(wait_for_port(port, Duration::from_secs(30)), "prometheus did not listen on {port}");
    Server { _process: process, base: format!("http://127.0.0.1:{port}"), _data: dir }
}

fn start_alertmanager() -> Server {
    let dir = TempDir::new("alertmanager");
    let config = dir.path().join("alertmanager.yml");
    std::fs::write(&config, ALERTMANAGER_CONFIG).unwrap();
    let port = free_port();
    let process = Process::spawn(
        Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address="),
        "prometheus-alertmanager",
    );
    assert!(wait_for_port(port, Duration::from_secs(30)), "alertmanager did not listen on {port}");
    Server { _process: process, base: format!("http://127.0.0.1:{port}"), _data: dir }
}

/// The result vector of an instant query (empty on any error).
async fn query(prometheus: &Server, promql: &str) -> Vec<serde_json::Value> {
    let response =
        client().get(format!("{}/api/v1/query", prometheus.base)).query(&[("query", promql)]).send().await;
    let Ok(response) = response else { return Vec::new() };
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    body["data"]["result"].as_array().cloned().unwrap_or_default()
}

/// Polls `done` every 250 ms for up to `within`.
async fn eventually<F: Future<Output = bool>>(within: Duration, mut done: impl FnMut() -> F) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if done().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Every `expr` of the Grafana dashboard, with its variables as Grafana would fill them for this job.
fn dashboard_queries() -> Vec<String> {
    let dashboard: serde_json::Value = serde_json::from_str(DASHBOARD).expect("the dashboard is JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    let queries: Vec<String> = panels
        .iter()
        .flat_map(|panel| panel["targets"].as_array().cloned().unwrap_or_default())
        .map(|target| {
            target["expr"]
                .as_str()
                .expect("every target has an expr")
                .replace("$job", "vana-ops")
                .replace("$instance", ".*")
                .replace("$__rate_interval", "1m")
        })
        .collect();
    assert!(queries.len() >= 20, "{} queries", queries.len());
    queries
}

/// The query part of every rule (before its comparison with the line).
fn rule_queries(rules: &str) -> Vec<String> {
    let rules: serde_yaml::Value = serde_yaml::from_str(rules).expect("the rules are YAML");
    let mut queries = Vec::new();
    for group in rules["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            let expr = rule["expr"].as_str().expect("expr");
            let cut = [" >= ", " <= ", " == "].iter().filter_map(|operator| expr.find(operator)).min();
            queries.push(expr[..cut.unwrap_or(expr.len())].to_owned());
        }
    }
    queries
}

fn export_rules(env: &[(&str, &str)], dir: &Path) -> String {
    let path = dir.join("rules.yml");
    let output = Command::new(env!("CARGO_BIN_EXE_vana-ops"))
        .args(["export-rules", "--output"])
        .arg(&path)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    std::fs::read_to_string(path).unwrap()
}

fn labels(value: &serde_json::Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|labels| {
            labels.iter().map(|(key, value)| (key.clone(), value.as_str().unwrap_or("").to_owned())).collect()
        })
        .unwrap_or_default()
}

/// Traffic once Prometheus scrapes the gateway: a new series' first scraped value is no increase, so the
/// slow requests span several scrapes. Clean requests from ten clients, a slow route held past the warning
/// line for seconds, one attack.
async fn send_traffic(gateway: &Gateway, prometheus: &Server) {
    let up = eventually(Duration::from_secs(60), || async {
        query(prometheus, "up{job=\"vana-ops\"} == 1").await.len() == 1
    })
    .await;
    assert!(up, "Prometheus scrapes the gateway");
    let http = client();
    gateway.clean_requests(10).await;
    let slow = || async {
        let slow = http.get(gateway.url("/slow?ms=300")).header("x-forwarded-for", "198.51.100.40");
        assert_eq!(slow.send().await.unwrap().status(), reqwest::StatusCode::OK);
    };
    slow().await;
    // The rest once Prometheus holds the route's first count, so the rule sees them as an increase.
    let seen = eventually(Duration::from_secs(60), || async {
        !query(prometheus, "http_server_request_duration_seconds_count{http_route=\"/slow\"} >= 1")
            .await
            .is_empty()
    })
    .await;
    assert!(seen, "Prometheus scraped the slow route's first request");
    for _ in 0..5 {
        slow().await;
    }
    // Agents' answers, streamed, the first token after 300 ms (also before and after a scrape).
    for _ in 0..3 {
        let answer =
            http.get(gateway.url("/chat?first_token_ms=300")).header("x-forwarded-for", "198.51.100.42");
        let answer = answer.send().await.unwrap();
        assert_eq!(answer.status(), reqwest::StatusCode::OK);
        assert!(answer.text().await.unwrap().contains("Hello from the demo"));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let attack =
        http.get(gateway.url("/echo?msg=1%27%20OR%201%3D1--")).header("x-forwarded-for", "198.51.100.41");
    assert_eq!(attack.send().await.unwrap().status(), reqwest::StatusCode::BAD_REQUEST);
}

/// The whole exposition, every family present, passes promtool's lint.
async fn the_exposition_passes_promtool(gateway: &Gateway) {
    let http = client();
    let metrics = http.get(gateway.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool: install Debian's `prometheus` package (cargo xtask ci does)");
    std::io::Write::write_all(&mut promtool.stdin.take().unwrap(), metrics.as_bytes()).unwrap();
    let linted = promtool.wait_with_output().unwrap();
    assert!(
        linted.status.success() && linted.stdout.is_empty() && linted.stderr.is_empty(),
        "promtool check metrics: {}{}\n---\n{metrics}",
        String::from_utf8_lossy(&linted.stdout),
        String::from_utf8_lossy(&linted.stderr)
    );
    for family in
        ["vana_upstream_errors_total", "vana_alerts_sent_total", "process_open_fds", "vana_build_info"]
    {
        assert!(metrics.contains(&format!("# TYPE {family} ")), "{family} in\n{metrics}");
    }
}

/// Every panel and every rule's query has data. A rate needs two scrapes in its window: poll a while.
async fn every_query_has_data(prometheus: &Server, rules: &str) {
    let mut empty: Vec<String> = dashboard_queries().into_iter().chain(rule_queries(rules)).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !empty.is_empty() && Instant::now() < deadline {
        let mut still = Vec::new();
        for promql in empty {
            if query(prometheus, &promql).await.is_empty() {
                still.push(promql);
            }
        }
        empty = still;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(empty.is_empty(), "queries without data:\n{}", empty.join("\n"));
}

/// One problem, one alert: the rule fires for /slow, the gateway sent its own alert, and Alertmanager holds
/// exactly one alert for them, with the rule's labels.
async fn one_problem_is_one_alert(prometheus: &Server, alertmanager: &Server, target: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let rule_labels = loop {
        if let Some(labels) = slow_rule_alert(prometheus).await {
            break labels;
        }
        assert!(Instant::now() < deadline, "the exported rule fired for /slow");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let sent = eventually(Duration::from_secs(15), || async {
        !query(prometheus, "sum(vana_alerts_sent_total{job=\"vana-ops\"}) > 0").await.is_empty()
    })
    .await;
    assert!(sent, "the gateway sent its own alert to Alertmanager");
    let deadline = Instant::now() + Duration::from_secs(30);
    let in_alertmanager = loop {
        let found = alertmanager_alerts(alertmanager, "response_time", "/slow").await;
        if !found.is_empty() || Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(in_alertmanager, vec![rule_labels.clone()], "one alert, with the rule's labels");
    for (label, value) in
        [("instance", target), ("job", "vana-ops"), ("severity", "warning"), ("http_route", "/slow")]
    {
        assert_eq!(rule_labels.get(label).map(String::as_str), Some(value), "{rule_labels:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_panel_and_rule_has_data_and_one_problem_is_one_alert() {
    let alertmanager = start_alertmanager();
    let upstream = Gateway::start(&["--no-layer"], &[]);
    let channels = format!(
        "[{{type: alertmanager, level: warning, urls: [\"{}\"], delivery: {{resend_interval_seconds: 1}}}}]",
        alertmanager.base
    );
    let settings = [
        ("VANA_MONITORING__THRESHOLDS__RESPONSE_TIME__WARNING", "0.2"),
        ("VANA_MONITORING__THRESHOLDS__RESPONSE_TIME__CRITICAL", "120"),
        ("VANA_MONITORING__THRESHOLDS__RESPONSE_TIME__FOR_SECONDS", "1"),
        ("VANA_MONITORING__ALERTING__CHANNELS", channels.as_str()),
        ("VANA_MONITORING__THRESHOLDS__TIME_TO_FIRST_TOKEN", TIME_TO_FIRST_TOKEN),
        ("VANA_SECURITY__HTTP__ROUTE_TEMPLATES", "[\"/echo\", \"/slow\", \"/chat\"]"),
        ("VANA_SECURITY__HTTP__ROUTE_SETTINGS", "{\"/chat\": {ai_operation: {}}}"),
    ];
    let gateway = Gateway::start(&["--upstream", &upstream.base], &settings);
    let rules_dir = TempDir::new("rules");
    let rules = export_rules(&settings, rules_dir.path());
    let target = gateway.base.trim_start_matches("http://").to_owned();
    let prometheus = start_prometheus(&target, &rules, alertmanager.base.trim_start_matches("http://"));

    send_traffic(&gateway, &prometheus).await;
    the_exposition_passes_promtool(&gateway).await;
    let scraped = eventually(Duration::from_secs(60), || async {
        query(&prometheus, "sum(http_server_request_duration_seconds_count{job=\"vana-ops\"}) >= 17")
            .await
            .len()
            == 1
    })
    .await;
    assert!(scraped, "Prometheus scraped the traffic");
    every_query_has_data(&prometheus, &rules).await;
    one_problem_is_one_alert(&prometheus, &alertmanager, &target).await;
    let ttft = eventually(Duration::from_secs(30), || async {
        firing_rule(&prometheus, "time_to_first_token", "/chat").await
    })
    .await;
    assert!(ttft, "the time-to-first-token rule fired for /chat's 300 ms first token");
}

/// A threshold on the first token, at once (the lines in seconds).
const TIME_TO_FIRST_TOKEN: &str =
    "{metric: gen_ai.server.time_to_first_token, warning: 0.1, critical: 60, for_seconds: 0}";

/// Whether Prometheus has the rule `alertname` firing on `route`.
async fn firing_rule(prometheus: &Server, alertname: &str, route: &str) -> bool {
    let Ok(response) = client().get(format!("{}/api/v1/alerts", prometheus.base)).send().await else {
        return false;
    };
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    body["data"]["alerts"].as_array().into_iter().flatten().any(|alert| {
        let labels = labels(&alert["labels"]);
        alert["state"] == "firing"
            && labels.get("alertname").map(String::as_str) == Some(alertname)
            && labels.get("http_route").map(String::as_str) == Some(route)
    })
}

/// The labels of the firing `response_time` rule alert on `/slow`, if any.
async fn slow_rule_alert(prometheus: &Server) -> Option<BTreeMap<String, String>> {
    let response = client().get(format!("{}/api/v1/alerts", prometheus.base)).send().await.ok()?;
    let body: serde_json::Value = response.json().await.ok()?;
    body["data"]["alerts"].as_array()?.iter().find_map(|alert| {
        let labels = labels(&alert["labels"]);
        (alert["state"] == "firing"
            && labels.get("alertname").map(String::as_str) == Some("response_time")
            && labels.get("http_route").map(String::as_str) == Some("/slow"))
        .then_some(labels)
    })
}

/// The label sets of Alertmanager's alerts named `alertname` on `route`.
async fn alertmanager_alerts(
    alertmanager: &Server,
    alertname: &str,
    route: &str,
) -> Vec<BTreeMap<String, String>> {
    let Ok(response) = client().get(format!("{}/api/v2/alerts", alertmanager.base)).send().await else {
        return Vec::new();
    };
    let alerts: Vec<serde_json::Value> = response.json().await.unwrap_or_default();
    alerts
        .iter()
        .map(|alert| labels(&alert["labels"]))
        .filter(|labels| labels.get("alertname").map(String::as_str) == Some(alertname))
        .filter(|labels| labels.get("http_route").map(String::as_str) == Some(route))
        .collect()
}
