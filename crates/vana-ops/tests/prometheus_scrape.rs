//! A real Prometheus server (Debian's `prometheus`) scrapes a running gateway on loopback.

#![cfg(feature = "cli")]

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{Gateway, client};
use vana_testkit::{Process, TempDir, free_port};

/// Fields drop in order: the server stops before its data directory goes.
struct Prometheus {
    _process: Process,
    base: String,
    _data: TempDir,
}

fn start_prometheus(target: &str) -> Prometheus {
    let dir = TempDir::new("prometheus");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: vana\n    static_configs:\n      - targets: [\"{target}\"]\n"
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
    Prometheus { _process: process, base: format!("http://127.0.0.1:{port}"), _data: dir }
}

/// The first sample's value of an instant query, polled until `accept` holds or 60 s pass.
async fn poll_query(prometheus: &Prometheus, query: &str, accept: impl Fn(&str) -> bool) -> Option<String> {
    let http = client();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let response =
            http.get(format!("{}/api/v1/query", prometheus.base)).query(&[("query", query)]).send().await;
        if let Ok(response) = response
            && let Ok(body) = response.json::<serde_json::Value>().await
            && let Some(value) = body["data"]["result"][0]["value"][1].as_str()
            && accept(value)
        {
            return Some(value.to_owned());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_gateway_and_sees_the_demo_routes() {
    let gateway = Gateway::start(&[], &[]);
    let http = client();
    for _ in 0..3 {
        let response = http.get(gateway.url("/echo?msg=scrape")).send().await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
    }
    let target = gateway.base.trim_start_matches("http://").to_owned();
    let prometheus = start_prometheus(&target);
    let up = poll_query(&prometheus, "up{job=\"vana\"}", |value| value == "1").await;
    assert_eq!(up.as_deref(), Some("1"), "Prometheus reports the gateway up");
    let count = poll_query(
        &prometheus,
        "sum(http_server_request_duration_seconds_count{job=\"vana\",http_route=\"/echo\"})",
        |value| value.parse::<f64>().is_ok_and(|count| count >= 3.0),
    )
    .await;
    assert!(count.is_some(), "the /echo response-time histogram reached Prometheus");
    let bucket = poll_query(
        &prometheus,
        "count(http_server_request_duration_seconds_bucket{job=\"vana\",http_route=\"/echo\"})",
        |_| true,
    )
    .await;
    assert!(
        bucket.is_some_and(|buckets| buckets.parse::<f64>().unwrap() >= 12.0),
        "every bucket was ingested"
    );
}
