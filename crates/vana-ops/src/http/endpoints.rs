//! The operational endpoints: `/metrics`, `/health`, `/alerts` and, with an admin token, `/security/events`
//! and `/security/blocks`.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use vana_metrics::{AlertEvent, AlertTransition};
use vana_security::{EventQuery, SecurityEvent, Severity};

use crate::error::OpsError;
use crate::ops::Ops;

/// The environment variable with the admin token of `/security/events`.
pub const ADMIN_TOKEN_ENV: &str = "VANA_ADMIN_TOKEN";
/// The environment variable naming a file whose first line is the admin token.
pub const ADMIN_TOKEN_FILE_ENV: &str = "VANA_ADMIN_TOKEN_FILE";
/// The environment variable with the bearer token `/metrics` asks for (none: `/metrics` is open).
pub const METRICS_TOKEN_ENV: &str = "VANA_METRICS_TOKEN";
/// The environment variable naming a file whose first line is the metrics token.
pub const METRICS_TOKEN_FILE_ENV: &str = "VANA_METRICS_TOKEN_FILE";

/// Most alert transitions and events one response returns.
const MAX_LISTED: usize = 1000;
/// Shortest admin token accepted: shorter ones would be guessable.
const MIN_ADMIN_TOKEN_BYTES: usize = 16;

/// The bearer token that opens `/security/events`. Only its SHA-256 is kept; it is never logged.
#[derive(Clone)]
pub struct AdminToken {
    digest: [u8; 32],
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken([REDACTED])")
    }
}

impl AdminToken {
    /// Whether `given` is the token (compared in constant time).
    pub(crate) fn is(&self, given: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(given.trim().as_bytes()).into();
        digest.ct_eq(&self.digest).into()
    }

    /// A token given directly; `None` when shorter than 16 bytes.
    pub fn new(token: &str) -> Option<Self> {
        let token = token.trim();
        (token.len() >= MIN_ADMIN_TOKEN_BYTES)
            .then(|| Self { digest: Sha256::digest(token.as_bytes()).into() })
    }

    /// `VANA_ADMIN_TOKEN`, or the first line of the file named by `VANA_ADMIN_TOKEN_FILE`. `Ok(None)` when
    /// neither is set (the route is then off); an error names the variable, never the token.
    pub fn from_env() -> Result<Option<Self>, OpsError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The same from any variable lookup (for tests and embedding).
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, OpsError> {
        Self::from_named_vars(ADMIN_TOKEN_ENV, ADMIN_TOKEN_FILE_ENV, lookup)
    }

    /// The token in variable `token_env`, or the first line of the file named by `file_env`.
    pub(crate) fn from_named_vars(
        token_env: &str,
        file_env: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, OpsError> {
        let token = match (lookup(token_env), lookup(file_env)) {
            (Some(token), _) => token,
            (None, Some(path)) => std::fs::read_to_string(&path)
                .map_err(OpsError::AdminTokenFile)?
                .lines()
                .next()
                .unwrap_or("")
                .to_owned(),
            _ => return Ok(None),
        };
        Self::new(&token).map(Some).ok_or(OpsError::AdminTokenTooShort { min_bytes: MIN_ADMIN_TOKEN_BYTES })
    }

    /// Whether `Authorization: Bearer <token>` carries this token (compared in constant time; the scheme's
    /// name in any case, as RFC 9110 §11.1 says).
    pub(crate) fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(given) = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token)
        else {
            return false;
        };
        self.is(given)
    }
}

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

/// The metrics token from `VANA_METRICS_TOKEN` or `VANA_METRICS_TOKEN_FILE`, if set.
pub(crate) fn metrics_token_from_env() -> Result<Option<AdminToken>, OpsError> {
    AdminToken::from_named_vars(METRICS_TOKEN_ENV, METRICS_TOKEN_FILE_ENV, |name| std::env::var(name).ok())
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
    let active: Vec<_> = monitor.active_alerts().iter().take(MAX_LISTED).map(alert_json).collect();
    let history = monitor.alert_history();
    let recent: Vec<_> = history.iter().rev().take(MAX_LISTED).map(alert_json).collect();
    axum::Json(serde_json::json!({ "active": active, "recent": recent })).into_response()
}

fn epoch_seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH).map_or(0.0, |since| since.as_secs_f64())
}

/// One alert as JSON (also the shape of the webhook's `alerts[].labels`-free summary).
pub(crate) fn alert_json(alert: &AlertEvent) -> serde_json::Value {
    let transition = match alert.transition {
        AlertTransition::Firing => "firing",
        AlertTransition::Escalated => "escalated",
        AlertTransition::Deescalated => "deescalated",
        AlertTransition::Repeated => "repeated",
        AlertTransition::Resolved => "resolved",
    };
    let tags: serde_json::Map<String, serde_json::Value> =
        alert.tags.iter().map(|(key, value)| (key.to_string(), value.to_string().into())).collect();
    serde_json::json!({
        "threshold": &*alert.threshold,
        "metric": &*alert.metric,
        "tags": tags,
        "level": alert.level.to_string(),
        "transition": transition,
        "value": alert.value,
        "threshold_value": alert.threshold_value,
        "comparison": alert.comparison.to_string(),
        "since": epoch_seconds(alert.since),
        "at": epoch_seconds(alert.at),
        "message": alert.message(),
    })
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

/// A wrong or missing admin token: an `admin_auth_failed` event, and a strike toward blocking its source.
pub(crate) fn record_auth_failure(ops: &Ops, headers: &HeaderMap, peer: Option<SocketAddr>) {
    let security = ops.security();
    let client = peer.map(|peer| security.client_addresses().resolve(peer.ip(), headers));
    security.log_security_event(SecurityEvent::new("admin_auth_failed", Severity::Medium, client));
    if let Some(client) = client {
        security.record_refused_attack(client);
    }
}

async fn security_blocks(
    State(state): State<EndpointState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Response {
    if let Err(denial) = authorize(&state, &headers, peer.map(|Extension(ConnectInfo(peer))| peer)) {
        return denial.into_response();
    }
    let blocks: Vec<_> = state
        .ops
        .security()
        .blocklist()
        .blocked(MAX_LISTED)
        .into_iter()
        .map(|block| {
            serde_json::json!({
                "address": network_text(block.network),
                "remaining_seconds": block.remaining.as_secs(),
                "reason": block.reason,
                "offences": block.offences,
            })
        })
        .collect();
    axum::Json(serde_json::json!({ "blocks": blocks })).into_response()
}

/// A single address as itself, a wider network in CIDR notation.
pub(crate) fn network_text(network: ipnet::IpNet) -> String {
    if network.prefix_len() == network.max_prefix_len() {
        network.addr().to_string()
    } else {
        network.to_string()
    }
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

/// Lifts the block of `address` (an address lifts the block of its network; a network as listed, such as
/// `2001:db8:1:2::/64`, works too), records an `ip_unblocked` event naming who did it (`by`), and answers
/// whether it was blocked.
pub(crate) fn lift(ops: &Ops, address: &str, by: &'static str) -> Response {
    let parsed = address
        .parse::<std::net::IpAddr>()
        .or_else(|_| address.parse::<ipnet::IpNet>().map(|net| net.network()));
    let Ok(address) = parsed else {
        let body = serde_json::json!({ "error": "not an IPv4 or IPv6 address or network" });
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    };
    let security = ops.security();
    let was_blocked = security.blocklist().unblock(address);
    security.log_security_event(
        SecurityEvent::new("ip_unblocked", Severity::Low, Some(address))
            .detail("was_blocked", was_blocked)
            .detail("by", by),
    );
    axum::Json(serde_json::json!({ "address": address.to_string(), "was_blocked": was_blocked }))
        .into_response()
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
    let min_severity = match params.get("min_severity").map(String::as_str) {
        None => None,
        Some("low") => Some(Severity::Low),
        Some("medium") => Some(Severity::Medium),
        Some("high") => Some(Severity::High),
        Some("critical") => Some(Severity::Critical),
        Some(_) => {
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
