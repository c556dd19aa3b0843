//! `Upstream`: the reverse proxy that puts the layer in front of a service in any language.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::uri::{PathAndQuery, Uri};
use http::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::error::OpsError;
use crate::http::address::AddressText;
use crate::http::websocket::{self, ClientSide, Outcome, Session};

/// Headers that describe one connection, not the message: never forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// A tower service that forwards every request to an HTTP upstream and streams the response back
/// unbuffered (server-sent events and long downloads pass through as they are produced).
///
/// It adds `X-Forwarded-For` (the peer), `X-Forwarded-Proto` and `X-Forwarded-Host`, drops hop-by-hop
/// headers both ways, and answers 502 when the upstream cannot be reached.
#[derive(Clone)]
pub struct Upstream {
    /// Shared: the service is cloned for every request, and one count costs less than the client's own.
    inner: Arc<UpstreamInner>,
}

struct UpstreamInner {
    client: Client<HttpConnector, Body>,
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    base_path: String,
    /// `upstream.errors{reason}` for each of [`ERROR_REASONS`], once [`Upstream::count_errors_in`] is called.
    errors: std::sync::OnceLock<Vec<vana_metrics::SeriesHandle>>,
    /// A WebSocket session that moves nothing for this long is closed (milliseconds).
    websocket_idle_ms: std::sync::atomic::AtomicU64,
    /// Reports each ended WebSocket session, once [`Upstream::count_errors_in`] is called.
    websocket_sessions: std::sync::OnceLock<Arc<dyn Fn(Session) + Send + Sync>>,
}

/// The idle timeout of WebSocket sessions until [`Upstream::set_websocket_idle_timeout`] says otherwise
/// (`http.websocket_idle_timeout_ms`'s default).
const DEFAULT_WEBSOCKET_IDLE: Duration = Duration::from_secs(300);

/// Why the proxy answered 502 itself (`vana_upstream_errors_total{reason}`).
const ERROR_REASONS: [&str; 2] = ["upstream_unavailable", "upstream_uri_invalid"];

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Upstream({})", self.url())
    }
}

impl Upstream {
    /// An upstream at `url` (`http://host:port` with an optional path prefix).
    pub fn new(url: &str) -> Result<Self, OpsError> {
        let invalid = |reason, source| OpsError::Upstream { url: url.to_owned(), reason, source };
        let uri: Uri = url.parse().map_err(|source| invalid("not a URL", Some(source)))?;
        let (Some(scheme), Some(authority)) = (uri.scheme().cloned(), uri.authority().cloned()) else {
            return Err(invalid("needs a scheme and a host, as in http://127.0.0.1:8000", None));
        };
        if scheme != http::uri::Scheme::HTTP {
            return Err(invalid(
                "the upstream must be plain http (the gateway runs beside the service; terminate TLS in front of it)",
                None,
            ));
        }
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        connector.set_nodelay(true);
        let client =
            Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(60)).build(connector);
        let base_path = uri.path().trim_end_matches('/').to_owned();
        let inner = UpstreamInner {
            client,
            scheme,
            authority,
            base_path,
            errors: std::sync::OnceLock::new(),
            websocket_idle_ms: std::sync::atomic::AtomicU64::new(DEFAULT_WEBSOCKET_IDLE.as_millis() as u64),
            websocket_sessions: std::sync::OnceLock::new(),
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// Asks the upstream for `path` (under its base path) and reports whether it is up: an answer below 500
    /// within `timeout`. The `Err` says why not, for people.
    pub async fn probe(&self, path: &str, timeout: Duration) -> Result<StatusCode, String> {
        let UpstreamInner { client, scheme, authority, base_path, .. } = &*self.inner;
        let uri = format!("{scheme}://{authority}{base_path}{path}");
        let request = Request::get(uri).body(Body::empty()).map_err(|error| error.to_string())?;
        match tokio::time::timeout(timeout, client.request(request)).await {
            Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
            Ok(Err(error)) => Err(format!("unreachable: {error}")),
            Ok(Ok(response)) if response.status().is_server_error() => {
                Err(format!("answered {}", response.status()))
            }
            Ok(Ok(response)) => Ok(response.status()),
        }
    }

    /// Counts the requests the upstream failed (`upstream.errors{reason}`, exported as
    /// `vana_upstream_errors_total`) and the WebSocket sessions relayed (`vana_websocket_sessions_total
    /// {outcome}`, `vana_websocket_session_seconds_total`, `vana_websocket_transferred_bytes_total
    /// {direction}`) in `monitor`, from 0 now.
    pub fn count_errors_in(&self, monitor: &vana_metrics::PerformanceMonitor) {
        let handles = ERROR_REASONS
            .iter()
            .filter_map(|reason| monitor.series("upstream.errors", "count", &[("reason", reason)]));
        let _ = self.inner.errors.set(handles.collect());
        let _ = self.inner.websocket_sessions.set(session_counters(monitor));
    }

    /// Closes WebSocket sessions that move nothing for `idle` (`http.websocket_idle_timeout_ms`).
    pub fn set_websocket_idle_timeout(&self, idle: Duration) {
        let millis = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX).max(1);
        self.inner.websocket_idle_ms.store(millis, std::sync::atomic::Ordering::Relaxed);
    }

    /// One 502 of the proxy's own.
    fn failed(&self, reason: &'static str) -> Response<Body> {
        let index = ERROR_REASONS.iter().position(|known| *known == reason);
        if let (Some(errors), Some(index)) = (self.inner.errors.get(), index)
            && let Some(series) = errors.get(index)
        {
            series.record(1.0);
        }
        bad_gateway(reason)
    }

    /// Probes `path` every `interval` for as long as the process runs, reporting each outcome to `ops` as
    /// the readiness check `upstream`.
    pub fn watch_readiness(&self, ops: &crate::Ops, path: String, interval: Duration, timeout: Duration) {
        let (upstream, ops) = (self.clone(), ops.clone());
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match upstream.probe(&path, timeout).await {
                    Ok(status) => ops.report_readiness("upstream", true, format!("{path} answered {status}")),
                    Err(why) => ops.report_readiness("upstream", false, format!("{path}: {why}")),
                }
            }
        });
    }

    /// The base URL requests go to.
    pub fn url(&self) -> String {
        let UpstreamInner { scheme, authority, base_path, .. } = &*self.inner;
        format!("{scheme}://{authority}{base_path}")
    }

    fn target(&self, original: &Uri) -> Option<Uri> {
        let UpstreamInner { scheme, authority, base_path, .. } = &*self.inner;
        let path_and_query = match (base_path.is_empty(), original.path_and_query()) {
            // No prefix: the request's own path and query, shared rather than copied and parsed again.
            (true, Some(path_and_query)) => path_and_query.clone(),
            (_, path_and_query) => {
                let path_and_query = path_and_query.map_or("/", PathAndQuery::as_str);
                PathAndQuery::from_maybe_shared(format!("{base_path}{path_and_query}")).ok()?
            }
        };
        Uri::builder()
            .scheme(scheme.clone())
            .authority(authority.clone())
            .path_and_query(path_and_query)
            .build()
            .ok()
    }

    async fn forward(self, mut request: Request<Body>) -> Response<Body> {
        // A WebSocket handshake keeps its `Upgrade` and the client's side of the switch.
        let switching =
            if websocket::is_handshake(request.headers()) { ClientSide::take(&mut request) } else { None };
        let (mut parts, body) = request.into_parts();
        let Some(target) = self.target(&parts.uri) else {
            return self.failed("upstream_uri_invalid");
        };
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
        let headers = &mut parts.headers;
        let upgrade = switching.as_ref().and_then(|_| headers.get(header::UPGRADE).cloned());
        strip_hop_by_hop(headers);
        if let Some(upgrade) = upgrade {
            headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            headers.insert(header::UPGRADE, upgrade);
        }
        if let Some(host) = headers.remove(header::HOST) {
            headers.insert(X_FORWARDED_HOST, host);
        }
        if let Some(peer) = peer {
            append_forwarded_for(headers, peer);
        }
        headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
        parts.uri = target;
        parts.version = http::Version::HTTP_11;
        match self.inner.client.request(Request::from_parts(parts, body)).await {
            Ok(mut response) if response.status() == StatusCode::SWITCHING_PROTOCOLS => match switching {
                Some(client) => self.switch(client, &mut response),
                None => self.failed("upstream_unavailable"),
            },
            Ok(response) => {
                let (mut parts, body) = response.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                Response::from_parts(parts, Body::new(body))
            }
            // The client's body went past `http.max_body_bytes` on its way (a chunked body declares no
            // length): the client's fault, 413 as when the layer reads it, not the upstream's.
            Err(error) if caused_by_body_cap(&error) => too_large(),
            Err(error) => {
                tracing::warn!(target: "vana_ops::proxy", upstream = %self.inner.authority, error = %error, "upstream request failed");
                self.failed("upstream_unavailable")
            }
        }
    }
}

impl Upstream {
    /// The upstream switched protocols: the client gets its `101` (with `Upgrade` and `Connection`), and the
    /// two upgraded connections are relayed.
    fn switch(
        &self,
        client: ClientSide,
        response: &mut http::Response<hyper::body::Incoming>,
    ) -> Response<Body> {
        let upstream = hyper::upgrade::on(&mut *response);
        let idle =
            Duration::from_millis(self.inner.websocket_idle_ms.load(std::sync::atomic::Ordering::Relaxed));
        let done = self.inner.websocket_sessions.get().cloned().unwrap_or_else(|| Arc::new(|_| {}));
        websocket::relay(client, upstream, idle, done);
        let mut switched = Response::new(Body::empty());
        *switched.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        *switched.headers_mut() = std::mem::take(response.headers_mut());
        switched
    }
}

/// The WebSocket counters of `monitor`, made at 0, and what records an ended session into them.
fn session_counters(monitor: &vana_metrics::PerformanceMonitor) -> Arc<dyn Fn(Session) + Send + Sync> {
    let by_outcome: Vec<_> = Outcome::ALL
        .iter()
        .map(|outcome| monitor.series("websocket.sessions", "count", &[("outcome", outcome.as_str())]))
        .collect();
    let seconds = monitor.series("websocket.session_seconds", "count", &[] as &[(&str, &str)]);
    let to_upstream = monitor.series("websocket.transferred_bytes", "count", &[("direction", "to_upstream")]);
    let to_client = monitor.series("websocket.transferred_bytes", "count", &[("direction", "to_client")]);
    Arc::new(move |session: Session| {
        let index = Outcome::ALL.iter().position(|outcome| *outcome == session.outcome);
        if let Some(Some(sessions)) = index.and_then(|index| by_outcome.get(index)) {
            sessions.record(1.0);
        }
        if let Some(seconds) = &seconds {
            seconds.record(session.duration.as_secs_f64());
        }
        if let Some(to_upstream) = &to_upstream {
            to_upstream.record(session.to_upstream as f64);
        }
        if let Some(to_client) = &to_client {
            to_client.record(session.to_client as f64);
        }
    })
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Most messages carry none: one look at each name costs less than a lookup of each hop-by-hop one.
    if !headers.keys().any(|name| HOP_BY_HOP.contains(name)) {
        return;
    }
    // Headers the `Connection` header names are hop-by-hop too.
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in HOP_BY_HOP.iter().chain(&named) {
        headers.remove(name);
    }
}

fn append_forwarded_for(headers: &mut HeaderMap, peer: std::net::IpAddr) {
    let peer = AddressText::new(peer);
    let value = match headers.get(X_FORWARDED_FOR).and_then(|value| value.to_str().ok()) {
        Some(existing) => HeaderValue::from_str(&format!("{existing}, {}", peer.as_str())),
        None => HeaderValue::from_str(peer.as_str()),
    };
    if let Ok(value) = value {
        headers.insert(X_FORWARDED_FOR, value);
    }
}

/// Whether `error`, or an error it comes from, is the body cap's.
fn caused_by_body_cap(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = cause {
        if error.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = error.source();
    }
    false
}

fn too_large() -> Response<Body> {
    let mut response =
        Response::new(Body::from(serde_json::json!({ "error": "body_too_large" }).to_string()));
    *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn bad_gateway(code: &str) -> Response<Body> {
    let mut response = Response::new(Body::from(serde_json::json!({ "error": code }).to_string()));
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

impl tower::Service<Request<Body>> for Upstream {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let upstream = self.clone();
        Box::pin(async move { Ok(upstream.forward(request).await) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_join_the_base_path_and_keep_the_query() {
        let upstream = Upstream::new("http://127.0.0.1:9000/api/").unwrap();
        let target = upstream.target(&"/chat?x=1".parse().unwrap()).unwrap();
        assert_eq!(target.to_string(), "http://127.0.0.1:9000/api/chat?x=1");
        let bare = Upstream::new("http://127.0.0.1:9000").unwrap();
        assert_eq!(
            bare.target(&"/chat?x=1".parse().unwrap()).unwrap().to_string(),
            "http://127.0.0.1:9000/chat?x=1"
        );
        assert_eq!(bare.target(&"http://h/".parse().unwrap()).unwrap().to_string(), "http://127.0.0.1:9000/");
        assert_eq!(upstream.url(), "http://127.0.0.1:9000/api");
        assert!(Upstream::new("https://example.com").is_err());
        assert!(Upstream::new("127.0.0.1:9000").is_err());
    }

    #[test]
    fn hop_by_hop_headers_are_dropped_with_those_connection_names() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, "keep-alive, x-private".parse().unwrap());
        headers.insert("x-private", "1".parse().unwrap());
        headers.insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        headers.insert(header::ACCEPT, "text/event-stream".parse().unwrap());
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1);
        append_forwarded_for(&mut headers, "10.0.0.1".parse().unwrap());
        append_forwarded_for(&mut headers, "2001:db8::7".parse().unwrap());
        assert_eq!(headers["x-forwarded-for"], "10.0.0.1, 2001:db8::7");
        // Without a hop-by-hop header, nothing is removed.
        let before = headers.clone();
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers, before);
    }
}
