//! The built-in demo application: enough routes to see every part of vana-ops work.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

/// Longest `/slow` sleep.
const MAX_SLOW_MS: u64 = 10_000;

/// The demo's routes, also given to the layer as route templates (it wraps the whole router).
pub(crate) const ROUTES: [&str; 5] = ["/", "/echo", "/slow", "/fail", "/chat"];

pub(crate) fn router() -> Router {
    let [index_route, echo_route, slow_route, fail_route, chat_route] = ROUTES;
    Router::new()
        .route(index_route, get(index))
        .route(echo_route, get(echo_query).post(echo_body))
        .route(slow_route, get(slow))
        .route(fail_route, get(fail))
        .route(chat_route, get(chat))
}

async fn index() -> &'static str {
    "vana-ops demo: GET /echo?msg=..., POST /echo (with a CSRF token from GET /csrf-token), GET /slow?ms=N, \
     GET /fail, GET /chat?first_token_ms=N (an agent's streamed answer, as ADK sends it)\n"
}

/// An agent's answer streamed as ADK streams it (server-sent events of ADK's shape): a control event at
/// once, the first words after `first_token_ms` (default 200), the whole text with the token usage 50 ms
/// later. A route marked `ai_operation` reads it for the GenAI metrics.
async fn chat(Query(params): Query<HashMap<String, String>>) -> impl IntoResponse {
    let first_token_ms =
        params.get("first_token_ms").and_then(|ms| ms.parse::<u64>().ok()).unwrap_or(200).min(MAX_SLOW_MS);
    let events = [
        (0, r#"{"author":"demo","actions":{"stateDelta":{"turn":1}}}"#),
        (
            first_token_ms,
            r#"{"author":"demo","modelVersion":"demo-model","partial":true,"content":{"parts":[{"text":"Hello"}]}}"#,
        ),
        (
            50,
            r#"{"author":"demo","modelVersion":"demo-model","content":{"parts":[{"text":"Hello from the demo"}]},"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":4}}"#,
        ),
    ];
    let (mut sender, body) =
        http_body_util::channel::Channel::<axum::body::Bytes, std::convert::Infallible>::new(4);
    tokio::spawn(async move {
        for (pause, event) in events {
            tokio::time::sleep(Duration::from_millis(pause)).await;
            if sender.send_data(format!("data: {event}\n\n").into()).await.is_err() {
                return;
            }
        }
    });
    ([(header::CONTENT_TYPE, "text/event-stream")], axum::body::Body::new(body))
}

async fn echo_query(Query(params): Query<HashMap<String, String>>) -> impl IntoResponse {
    axum::Json(serde_json::json!({ "msg": params.get("msg").cloned().unwrap_or_default() }))
}

async fn echo_body(headers: HeaderMap, body: axum::body::Bytes) -> impl IntoResponse {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(header::HeaderValue::from_static("application/octet-stream"));
    ([(header::CONTENT_TYPE, content_type)], body)
}

async fn slow(Query(params): Query<HashMap<String, String>>) -> impl IntoResponse {
    let ms = params.get("ms").and_then(|ms| ms.parse::<u64>().ok()).unwrap_or(100).min(MAX_SLOW_MS);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    axum::Json(serde_json::json!({ "slept_ms": ms }))
}

async fn fail() -> impl IntoResponse {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        axum::Json(serde_json::json!({ "error": "the demo failed on purpose" })),
    )
}
