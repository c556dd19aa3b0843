//! Token budgets in process, on a manual clock: spent by the tokens the answers report, refused with 429
//! and `Retry-After` once spent, per identity, and refilled as the clock moves.

#![cfg(feature = "http")]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use axum::routing::post;
use http_body_util::BodyExt;
use tower::ServiceExt;
use vana_ops::Ops;
use vana_ops::config::{ConfigLoader, Document};
use vana_ops::security::ManualClock;

const SECURITY: &str = "csrf_protection:\n  require_csrf: false\nhttp:\n  route_templates: [\"/run_sse\"]\n  token_budgets:\n    user:\n      tokens: 100\n      window_seconds: 60\n  route_settings:\n    /run_sse:\n      ai_operation:\n        budgets:\n          user: {json: /userId}\n";

/// An answer that reports 30 tokens read and 50 written.
const ANSWER: &str = "data: {\"author\":\"vana\",\"content\":{\"parts\":[{\"text\":\"hi\"}]},\"usageMetadata\":{\"promptTokenCount\":30,\"candidatesTokenCount\":50}}\n\n";

fn app(clock: &ManualClock) -> Router {
    let loaded = ConfigLoader::new().document_str(Document::Security, "test", SECURITY).load().unwrap();
    let builder = Ops::builder(loaded).install_logging(false).start_collector(false);
    let ops = builder.security_clock(std::sync::Arc::new(clock.clone())).build().unwrap();
    Router::new()
        .route("/run_sse", post(|| async { ([(header::CONTENT_TYPE, "text/event-stream")], ANSWER) }))
        .layer(ops.http_layer().unwrap())
}

/// A run of `user`, read to its end: status, `Retry-After`, body.
async fn run(app: &Router, user: &str) -> (StatusCode, Option<String>, String) {
    let peer: SocketAddr = "198.51.100.8:40000".parse().unwrap();
    let mut request = Request::post("/run_sse").header(header::CONTENT_TYPE, "application/json");
    request.extensions_mut().unwrap().insert(ConnectInfo(peer));
    let body = serde_json::json!({ "appName": "vana", "userId": user, "newMessage": { "parts": [{ "text": "hello" }] } });
    let response = app.clone().oneshot(request.body(Body::from(body.to_string())).unwrap()).await.unwrap();
    let status = response.status();
    let retry = response.headers().get(header::RETRY_AFTER).map(|value| value.to_str().unwrap().to_owned());
    let text =
        String::from_utf8_lossy(&response.into_body().collect().await.unwrap().to_bytes()).into_owned();
    (status, retry, text)
}

#[tokio::test]
async fn a_budget_is_spent_by_the_reported_tokens_refused_per_identity_and_refilled_by_the_clock() {
    let clock = ManualClock::new();
    let app = app(&clock);
    // 80 tokens, then 160 of 100: the second answer went past (a stream in flight is never cut).
    assert_eq!(run(&app, "ana").await.0, StatusCode::OK);
    assert_eq!(run(&app, "ana").await.0, StatusCode::OK);
    let (status, retry_after, body) = run(&app, "ana").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "token_budget_exhausted");
    assert_eq!((body["budget"].as_str(), body["budget_tokens"].as_u64()), (Some("user"), Some(100)));
    // 60 tokens over a budget that frees 100 a minute, and one token's room: 36.6 s, rounded up.
    assert_eq!(retry_after.as_deref(), Some("37"));
    assert_eq!(body["retry_after_seconds"], 37);
    assert_eq!(run(&app, "bob").await.0, StatusCode::OK, "another identity has its own budget");
    clock.advance(Duration::from_millis(36_500));
    assert_eq!(run(&app, "ana").await.0, StatusCode::TOO_MANY_REQUESTS, "not yet");
    clock.advance(Duration::from_millis(100));
    assert_eq!(run(&app, "ana").await.0, StatusCode::OK, "refilled");
}

#[tokio::test]
async fn a_request_without_the_identity_is_not_counted() {
    let clock = ManualClock::new();
    let app = app(&clock);
    for _ in 0..3 {
        assert_eq!(run(&app, "").await.0, StatusCode::OK, "an empty userId names nobody");
    }
}
