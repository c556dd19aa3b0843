//! The operational endpoints: `/metrics`, `/health`, `/alerts` and, with an admin token, `/security/events`
//! and `/security/blocks`.

use std::collections::HashMap;

use axum::Router;
use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use vana_security::{EventQuery, Severity};

use crate::http::admin::{AdminToken, lift, record_auth_failure};
use crate::http::views::{AlertView, BlockView};
use crate::ops::Ops;

/// Most alert transitions and events one response returns.
const MAX_LISTED: usize = 1000;

#[derive(Clone)]
struct EndpointState {
    ops: Ops,
    admin: Option<AdminToken>,
    metrics: Option<AdminToken>,
}

/// A router with the operational endpoints, to mount beside the application (outside
/// [`OpsLayer`](crate::OpsLayer), so probes and scrapes are never rate-limited):
///
/// - `GET /metrics`: every series in the Prometheus text format;
/// - `GET /livez`: 200 while the process serves (never flips on traffic): the liveness probe;
/// - `GET /readyz`: 200 when the instance should get traffic (the upstream answers, the log writer keeps
///   up), else 503 with the failing checks: the readiness probe;
/// - `GET /health`: the detailed report (JSON); 503 only while a critical alert of a threshold named in
///   `health.critical_thresholds` fires;
/// - `GET /alerts`: active alerts and the recent transitions;
/// - `GET /security/events?limit=&type=&min_severity=`: recent security events and counts;
/// - `GET /security/blocks`: the blocked addresses (the fleet's, with the Redis backend);
/// - `DELETE /security/blocks/{address}`: lifts a block (on every instance within `backend.block_cache_ms`
///   with the Redis backend);
/// - `GET /dashboard` (with `http.dashboard`, the default): the live dashboard, updated over server-sent
///   events from `/dashboard/events`; behind the admin token, or for loopback clients only without one.
///
/// The `/security/*` routes need `Authorization: Bearer <admin token>`; without a token configured they
/// answer 404.
pub fn endpoints(ops: &Ops, admin: Option<AdminToken>) -> Router {
    endpoints_with_metrics_token(ops, admin, None)
}

/// [`endpoints`], with `/metrics` answering only `Authorization: Bearer <metrics_token>` when one is given
/// (Prometheus sends one with `authorization: {credentials: ...}` in its scrape config).
pub fn endpoints_with_metrics_token(
    ops: &Ops,
    admin: Option<AdminToken>,
    metrics_token: Option<AdminToken>,
) -> Router {
    let dashboard =
        ops.config().security.http.dashboard.then(|| crate::http::dashboard::router(ops, admin.clone()));
    let router = Router::new()
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/alerts", get(alerts))
        .route("/security/events", get(security_events))
        .route("/security/blocks", get(security_blocks))
        .route("/security/blocks/{address}", delete(lift_block))
        .with_state(EndpointState { ops: ops.clone(), admin, metrics: metrics_token });
    match dashboard {
        Some(dashboard) => router.merge(dashboard),
        None => router,
    }
}

async fn metrics(State(state): State<EndpointState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.metrics
        && !token.admits(&headers)
    {
        return Denial::Unauthorized.into_response();
    }
    let text = state.ops.metrics_text();
    ([(header::CONTENT_TYPE, vana_metrics::CONTENT_TYPE)], text).into_response()
}

async fn livez(State(state): State<EndpointState>) -> Response {
    let body = serde_json::json!({ "status": "live", "uptime_seconds": state.ops.uptime().as_secs_f64() });
    axum::Json(body).into_response()
}

async fn readyz(State(state): State<EndpointState>) -> Response {
    let readiness = state.ops.readiness();
    let status = if readiness.ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let checks: Vec<_> = readiness
        .checks
        .iter()
        .map(|check| serde_json::json!({ "name": check.name, "ready": check.ready, "detail": check.detail }))
        .collect();
    let body =
        serde_json::json!({ "status": if readiness.ready { "ready" } else { "unready" }, "checks": checks });
    (status, axum::Json(body)).into_response()
}

async fn health(State(state): State<EndpointState>) -> Response {
    let health = state.ops.health();
    let status = if state.ops.health_fails() { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    let body = serde_json::json!({
        "status": health.status.as_str(),
        "uptime_seconds": health.uptime.as_secs_f64(),
        "firing_warning": health.firing_warning,
        "firing_critical": health.firing_critical,
        "blocked_addresses": health.blocked_addresses,
        "collector_running": health.collector_running,
        "dropped_log_lines": health.dropped_log_lines,
        "backend": health.backend.map(|backend| serde_json::json!({
            "type": "redis",
            "available": backend.available,
            "failures": backend.failures,
            "fallbacks": backend.fallbacks,
        })),
    });
    (status, axum::Json(body)).into_response()
}

async fn alerts(State(state): State<EndpointState>) -> Response {
    let monitor = state.ops.monitor();
    let active: Vec<AlertView> =
        monitor.active_alerts().iter().take(MAX_LISTED).map(AlertView::from).collect();
    let history = monitor.alert_history();
    let recent: Vec<AlertView> = history.iter().rev().take(MAX_LISTED).map(AlertView::from).collect();
    axum::Json(serde_json::json!({ "active": active, "recent": recent })).into_response()
}

/// Why a request may not use the admin routes.
enum Denial {
    /// No admin token is configured: the routes do not exist.
    NotConfigured,
    /// A missing or wrong token.
    Unauthorized,
}

impl IntoResponse for Denial {
    fn into_response(self) -> Response {
        match self {
            Denial::NotConfigured => StatusCode::NOT_FOUND.into_response(),
            Denial::Unauthorized => {
                (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")]).into_response()
            }
        }
    }
}

/// Whether the request carries the admin token. A wrong or missing one is an `admin_auth_failed` security
/// event (logged and counted) and counts toward blocking its source like a refused attack, so guessing is
/// stopped after `ip_blocking.auto_block_after` tries.
fn authorize(state: &EndpointState, headers: &HeaderMap, peer: Option<SocketAddr>) -> Result<(), Denial> {
    let admin = state.admin.as_ref().ok_or(Denial::NotConfigured)?;
    if admin.admits(headers) {
        return Ok(());
    }
    record_auth_failure(&state.ops, headers, peer);
    Err(Denial::Unauthorized)
}

async fn security_blocks(
    State(state): State<EndpointState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Response {
    if let Err(denial) = authorize(&state, &headers, peer.map(|Extension(ConnectInfo(peer))| peer)) {
        return denial.into_response();
    }
    let blocks: Vec<BlockView> =
        state.ops.security().blocklist().blocked(MAX_LISTED).into_iter().map(BlockView::from).collect();
    axum::Json(serde_json::json!({ "blocks": blocks })).into_response()
}

async fn lift_block(
    State(state): State<EndpointState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Path(address): Path<String>,
) -> Response {
    if let Err(denial) = authorize(&state, &headers, peer.map(|Extension(ConnectInfo(peer))| peer)) {
        return denial.into_response();
    }
    lift(&state.ops, &address, "admin_api")
}

async fn security_events(
    State(state): State<EndpointState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if let Err(denial) = authorize(&state, &headers, peer.map(|Extension(ConnectInfo(peer))| peer)) {
        return denial.into_response();
    }
    let limit = params.get("limit").and_then(|limit| limit.parse().ok()).unwrap_or(100).min(MAX_LISTED);
    let min_severity = match params.get("min_severity").map(|text| text.parse::<Severity>()) {
        None => None,
        Some(Ok(severity)) => Some(severity),
        Some(Err(_)) => {
            let body = serde_json::json!({ "error": "min_severity must be low, medium, high or critical" });
            return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
        }
    };
    let query = EventQuery {
        min_severity,
        event_type: params.get("type").map(String::as_str),
        since: None,
        limit: Some(limit),
    };
    let events = state.ops.security().events();
    let counts: Vec<_> = events
        .counts()
        .into_iter()
        .map(|(event_type, severity, count)| {
            serde_json::json!({ "type": event_type, "severity": severity.as_str(), "count": count })
        })
        .collect();
    axum::Json(serde_json::json!({ "events": events.query(&query), "counts": counts })).into_response()
}
