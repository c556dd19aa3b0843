//! The conformance table (tests/conformance/cases.json) against the tower layer, in an axum router. The
//! Python middleware runs the same table (crates/vana-py/tests/test_conformance.py): the two must answer
//! every request alike.

#![cfg(feature = "http")]

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use vana_ops::Ops;

fn table() -> (Value, std::path::PathBuf) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let text = std::fs::read_to_string(dir.join("cases.json")).unwrap();
    (serde_json::from_str(&text).unwrap(), dir.join("config"))
}

/// The application: the routes the table names, each answering plainly.
fn app(ops: &Ops) -> Router {
    Router::new()
        .route("/echo", get(|| async { "echo" }))
        .route("/chat", post(|body: Bytes| async move { format!("{} bytes", body.len()) }))
        .route("/items/{item_id}", get(|| async { "item" }))
        .route("/upload", post(|body: Bytes| async move { format!("{} bytes", body.len()) }))
        .layer(ops.http_layer().unwrap())
}

fn body_of(case: &Value) -> Vec<u8> {
    let text = case["body"].as_str().unwrap_or_default().as_bytes().to_vec();
    if case["gzip"].as_bool() != Some(true) {
        return text;
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&text).unwrap();
    encoder.finish().unwrap()
}

async fn send(app: &Router, case: &Value, index: usize) -> (u16, HeaderMap, String) {
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let mut builder = Request::builder()
        .method(case["method"].as_str().unwrap())
        .uri(case["target"].as_str().unwrap())
        .header("x-forwarded-for", format!("198.18.{index}.7"));
    for (name, value) in case["headers"].as_object().into_iter().flatten() {
        builder = builder.header(name.as_str(), value.as_str().unwrap());
    }
    let body = body_of(case);
    if case.get("body").is_some() {
        builder = builder.header("content-length", body.len());
    }
    builder.extensions_mut().unwrap().insert(ConnectInfo(peer));
    let response = app.clone().oneshot(builder.body(Body::from(body)).unwrap()).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (parts.status.as_u16(), parts.headers, String::from_utf8_lossy(&bytes).into_owned())
}

/// What differs between the answer and the table's expectation, if anything.
fn differences(expect: &Value, status: u16, headers: &HeaderMap, body: &str) -> Vec<String> {
    let mut found = Vec::new();
    if expect["status"].as_u64() != Some(u64::from(status)) {
        found.push(format!("status {status}, expected {}", expect["status"]));
    }
    if let Some(error) = expect["error"].as_str() {
        let given: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        if given["error"].as_str() != Some(error) {
            found.push(format!("error {:?}, expected {error:?}", given["error"]));
        }
    }
    for (name, value) in expect["headers"].as_object().into_iter().flatten() {
        let given = headers.get(name.as_str()).and_then(|value| value.to_str().ok());
        if given != value.as_str() {
            found.push(format!("{name}: {given:?}, expected {value}"));
        }
    }
    for name in expect["present"].as_array().into_iter().flatten() {
        if !headers.contains_key(name.as_str().unwrap()) {
            found.push(format!("{name} missing"));
        }
    }
    found
}

#[tokio::test]
async fn the_layer_answers_the_conformance_table() {
    let (table, config) = table();
    let ops = Ops::builder_from_config_dir(&config).unwrap().install_logging(false).start_collector(false);
    let ops = ops.build().unwrap();
    let app = app(&ops);
    let cases = table["cases"].as_array().unwrap();
    assert!(cases.len() >= 25, "the table's size");
    let mut failures = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let repeat = case["repeat"].as_u64().unwrap_or(1);
        let mut answer = None;
        for _ in 0..repeat {
            answer = Some(send(&app, case, index).await);
        }
        let (status, headers, body) = answer.unwrap();
        let found = differences(&case["expect"], status, &headers, &body);
        if !found.is_empty() {
            failures.push(format!("{}: {}", case["name"], found.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
