//! The live dashboard at `<ops prefix>/dashboard`: one page with everything embedded in the binary (no
//! external assets; it works offline), updated over Server-Sent Events from [`stream`].
//!
//! Access: with an admin token configured, the page asks for it once (a form, `POST dashboard/login`) and
//! then keeps a signed session cookie ([`session`]); `Authorization: Bearer <token>` works too. Without a
//! token, only clients connecting from the loopback get in. Unblocking from the page needs the session and
//! the `X-Vana-Dashboard` header, which a cross-site form cannot send.

mod session;
mod snapshot;
mod stream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post};

use crate::http::admin::{AdminToken, lift, record_auth_failure};
use crate::ops::Ops;
use session::Sessions;
use stream::Updates;

const PAGE: &str = include_str!("assets/index.html");
const LOGIN: &str = include_str!("assets/login.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/app.css");
/// The header the page's unblock requests carry.
const PAGE_HEADER: &str = "x-vana-dashboard";
/// Longest login form accepted.
const MAX_LOGIN_BYTES: usize = 4096;

#[derive(Clone)]
struct DashboardState {
    ops: Ops,
    admin: Option<AdminToken>,
    sessions: Arc<Sessions>,
    updates: Arc<Updates>,
}

/// Who may look.
enum Access {
    Allowed,
    /// A token is configured and the request has neither a session nor the token.
    NeedsLogin,
    /// No token is configured and the client is not on the loopback.
    LoopbackOnly,
}

/// The dashboard's routes, to merge into the endpoints' router.
pub(crate) fn router(ops: &Ops, admin: Option<AdminToken>) -> Router {
    let state = DashboardState {
        ops: ops.clone(),
        admin,
        sessions: Arc::new(Sessions::new()),
        updates: Updates::new(ops),
    };
    Router::new()
        .route("/dashboard", get(page))
        .route("/dashboard/login", post(login))
        .route("/dashboard/app.js", get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }))
        .route("/dashboard/app.css", get(|| async { asset("text/css; charset=utf-8", STYLE) }))
        .route("/dashboard/events", get(events))
        .route("/dashboard/blocks/{address}", delete(unblock))
        .with_state(state)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

fn peer_of(peer: Option<Extension<ConnectInfo<SocketAddr>>>) -> Option<SocketAddr> {
    peer.map(|Extension(ConnectInfo(peer))| peer)
}

impl DashboardState {
    fn access(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Access {
        match &self.admin {
            Some(token) if token.admits(headers) || self.sessions.admits(headers, SystemTime::now()) => {
                Access::Allowed
            }
            Some(_) => Access::NeedsLogin,
            None if self.client_is_local(headers, peer) => Access::Allowed,
            None => Access::LoopbackOnly,
        }
    }

    /// Whether the client the gateway resolved is on the loopback. Behind a trusted proxy the socket's peer
    /// is the proxy, and a forwarded-for header names the client: a remote client reached through a proxy
    /// on this host is remote.
    fn client_is_local(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> bool {
        let addresses = self.ops.security().client_addresses();
        peer.is_some_and(|peer| addresses.resolve(peer.ip(), headers).is_loopback())
    }
}

fn login_page(status: StatusCode, message: &str) -> Response {
    let page = LOGIN.replace("{message}", message);
    (status, [(header::CACHE_CONTROL, "no-store")], Html(page)).into_response()
}

fn loopback_only() -> Response {
    let text = "The dashboard answers loopback clients only while no admin token is set: set VANA_ADMIN_TOKEN \
                (or VANA_ADMIN_TOKEN_FILE) on the gateway to open it to others.\n";
    (StatusCode::FORBIDDEN, text).into_response()
}

async fn page(
    State(state): State<DashboardState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let failed = uri.query().is_some_and(|query| query.split('&').any(|pair| pair == "login=failed"));
    match state.access(&headers, peer_of(peer)) {
        Access::Allowed => ([(header::CACHE_CONTROL, "no-store")], Html(PAGE)).into_response(),
        Access::NeedsLogin if failed => login_page(StatusCode::UNAUTHORIZED, "That is not the admin token."),
        Access::NeedsLogin => login_page(StatusCode::UNAUTHORIZED, "Enter the gateway's admin token."),
        Access::LoopbackOnly => loopback_only(),
    }
}

async fn login(
    State(state): State<DashboardState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(admin) = &state.admin else {
        return match state.access(&headers, peer_of(peer)) {
            Access::Allowed => see_dashboard("../dashboard", None),
            _ => loopback_only(),
        };
    };
    let token = (body.len() <= MAX_LOGIN_BYTES)
        .then(|| form_urlencoded::parse(&body).find(|(key, _)| key == "token").map(|(_, value)| value))
        .flatten();
    if token.is_some_and(|token| admin.is(&token)) {
        let https = headers.get("x-forwarded-proto").is_some_and(|proto| proto.as_bytes() == b"https");
        return see_dashboard("../dashboard", Some(state.sessions.issue(SystemTime::now(), https)));
    }
    record_auth_failure(&state.ops, &headers, peer_of(peer));
    see_dashboard("../dashboard?login=failed", None)
}

/// `303 See Other` to the page at `location` (relative to `.../dashboard/login`, so the page's own
/// relative links keep working under any prefix), with a new session when given.
fn see_dashboard(location: &'static str, cookie: Option<String>) -> Response {
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    if let Some(cookie) = cookie.and_then(|cookie| HeaderValue::from_str(&cookie).ok()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

async fn events(
    State(state): State<DashboardState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Response {
    match state.access(&headers, peer_of(peer)) {
        Access::Allowed => match state.updates.subscribe() {
            Some(stream) => Sse::new(stream).keep_alive(KeepAlive::default()).into_response(),
            None => (StatusCode::SERVICE_UNAVAILABLE, "Too many dashboards are open; close one.\n")
                .into_response(),
        },
        Access::NeedsLogin => {
            (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")]).into_response()
        }
        Access::LoopbackOnly => loopback_only(),
    }
}

async fn unblock(
    State(state): State<DashboardState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Path(address): Path<String>,
) -> Response {
    match state.access(&headers, peer_of(peer)) {
        Access::Allowed if headers.contains_key(PAGE_HEADER) => lift(&state.ops, &address, "dashboard"),
        Access::Allowed => (StatusCode::FORBIDDEN, "Unblock from the dashboard page.\n").into_response(),
        Access::NeedsLogin => {
            record_auth_failure(&state.ops, &headers, peer_of(peer));
            (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")]).into_response()
        }
        Access::LoopbackOnly => loopback_only(),
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http::Request;
    use tower::ServiceExt as _;

    use super::*;

    fn ops() -> Ops {
        Ops::builder_from_embedded_defaults().install_logging(false).start_collector(false).build().unwrap()
    }

    async fn get(
        app: &Router,
        path: &str,
        peer: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, String) {
        let mut request = Request::get(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut request = request.body(Body::empty()).unwrap();
        request.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        let response = app.clone().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        if parts.headers.get(header::CONTENT_TYPE).is_some_and(|kind| kind == "text/event-stream") {
            // An event stream never ends: its first event is enough.
            let mut stream = body.into_data_stream();
            let first = futures_util::StreamExt::next(&mut stream).await.unwrap().unwrap();
            return (parts.status, parts.headers, String::from_utf8_lossy(&first).into_owned());
        }
        let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        (parts.status, parts.headers, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn without_a_token_only_loopback_peers_get_in() {
        let app = router(&ops(), None);
        assert_eq!(get(&app, "/dashboard", "127.0.0.1:5000", &[]).await.0, StatusCode::OK);
        assert_eq!(get(&app, "/dashboard", "[::1]:5000", &[]).await.0, StatusCode::OK);
        let (status, _, body) = get(&app, "/dashboard", "192.0.2.7:5000", &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body.contains("VANA_ADMIN_TOKEN"), "{body}");
        assert_eq!(get(&app, "/dashboard/events", "192.0.2.7:5000", &[]).await.0, StatusCode::FORBIDDEN);
        // A forwarded header does not make a remote peer local.
        let forwarded = [("x-forwarded-for", "127.0.0.1")];
        assert_eq!(get(&app, "/dashboard", "192.0.2.7:5000", &forwarded).await.0, StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn behind_a_trusted_proxy_on_this_host_the_forwarded_client_decides() {
        let ops = crate::http::step::test_ops("client_address:\n  trusted_proxies: [\"127.0.0.1\"]\n");
        let app = router(&ops, None);
        let remote = [("x-forwarded-for", "8.8.8.8")];
        assert_eq!(get(&app, "/dashboard", "127.0.0.1:5000", &remote).await.0, StatusCode::FORBIDDEN);
        let mut request = Request::delete("/dashboard/blocks/192.0.2.1")
            .header("x-forwarded-for", "8.8.8.8")
            .header(PAGE_HEADER, "1")
            .body(Body::empty())
            .unwrap();
        request.extensions_mut().insert(ConnectInfo("127.0.0.1:5000".parse::<SocketAddr>().unwrap()));
        assert_eq!(app.clone().oneshot(request).await.unwrap().status(), StatusCode::FORBIDDEN);
        let local = [("x-forwarded-for", "127.0.0.1")];
        assert_eq!(get(&app, "/dashboard", "127.0.0.1:5000", &local).await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn with_a_token_the_bearer_or_a_session_opens_it_and_assets_carry_no_data() {
        let token = "a-dashboard-test-token-0123";
        let app = router(&ops(), AdminToken::new(token));
        let (status, _, body) = get(&app, "/dashboard", "127.0.0.1:5000", &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "loopback is no key once a token is set");
        assert!(body.contains("name=\"token\""), "{body}");
        let bearer = format!("Bearer {token}");
        let (status, headers, body) =
            get(&app, "/dashboard", "192.0.2.7:5000", &[("authorization", &bearer)]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert!(body.contains("dashboard/app.js"));
        let (status, headers, _) = get(&app, "/dashboard/app.js", "192.0.2.7:5000", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/javascript"));
        let (status, headers, first) =
            get(&app, "/dashboard/events", "192.0.2.7:5000", &[("authorization", &bearer)]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "text/event-stream");
        assert!(first.starts_with("event: update\ndata: {"), "{first}");
    }
}
