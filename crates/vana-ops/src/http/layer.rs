//! `OpsLayer`: the tower middleware that runs every step of the `http` section around a service.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use http::request::Parts;
use http::{HeaderName, HeaderValue, Method, Request, Response, header};
use http_body::Body as _;
use http_body_util::Limited;
use tower::{Layer, Service};
use vana_config::HttpLayer;
use vana_logging::{CorrelationId, RequestRecord, correlation_span};
use vana_security::{RateDecision, SecurityEvent, Severity};

use crate::error::OpsError;
use crate::http::address::AddressText;
use crate::http::body::{BodyKind, ReadError, each_form_part, each_json_string, form_field, read_limited};
use crate::http::csrf::CsrfGuard;
use crate::http::reject::{Refusal, retry_after_secs};
use crate::http::routes::RouteNamer;
use crate::http::timers::RouteTimers;
use crate::ops::Ops;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const RATE_LIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const RATE_LIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const RATE_LIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
const DEFAULT_CORRELATION_HEADER: HeaderName = HeaderName::from_static("x-correlation-id");

/// The tower [`Layer`] of the `http` section: correlation id, client address, blocklist, rate limit, input
/// validation, CSRF, then the inner service, then security headers, the request log line and the
/// `response_time.<route>` metric. Build it with [`Ops::http_layer`].
///
/// It needs the peer address: serve with `into_make_service_with_connect_info::<SocketAddr>()` (axum) or
/// put the `SocketAddr` in the request extensions (hyper). Without it the address steps are skipped.
#[derive(Clone)]
pub struct OpsLayer {
    state: Arc<LayerState>,
}

/// The [`Service`] of [`OpsLayer`].
#[derive(Clone)]
pub struct OpsService<S> {
    inner: S,
    state: Arc<LayerState>,
}

struct LayerState {
    ops: Ops,
    config: HttpLayer,
    correlation_header: HeaderName,
    validated_headers: Vec<HeaderName>,
    routes: RouteNamer,
    timers: RouteTimers,
    csrf: CsrfGuard,
    max_body: usize,
    warned_no_peer: AtomicBool,
    /// Rate limits and blocks live in Redis: their checks leave the async worker.
    remote_state: bool,
    /// The configured limit and its header value, made once: it is on every response.
    limit_header: (u32, HeaderValue),
}

/// What the checks decided before the inner service.
enum Admission {
    Forward(Body),
    Refuse(Refusal),
    Answer(Response<Body>),
}

impl OpsLayer {
    /// The layer of `ops`'s `http` section.
    pub fn new(ops: &Ops) -> Result<Self, OpsError> {
        Self::with_route_templates(ops, &[])
    }

    /// The same, naming requests by `templates` too (after those of `http.route_templates`): for a layer
    /// around a whole router, which runs before routing and so sees no matched route.
    pub fn with_route_templates(ops: &Ops, templates: &[&str]) -> Result<Self, OpsError> {
        let security = &ops.config().security;
        let config = security.http.clone();
        let header_name = &ops.config().monitoring.logging.correlation_id_header;
        let correlation_header = if header_name.eq_ignore_ascii_case(DEFAULT_CORRELATION_HEADER.as_str()) {
            // Static text: cloning it onto every request and response touches no shared count.
            DEFAULT_CORRELATION_HEADER
        } else {
            HeaderName::from_bytes(header_name.as_bytes())
                .map_err(|_| OpsError::Http(format!("`{header_name}` is not a valid header name")))?
        };
        let validated_headers = config
            .validated_headers
            .iter()
            .filter_map(|name| HeaderName::from_bytes(name.as_bytes()).ok())
            .collect();
        Ok(Self {
            state: Arc::new(LayerState {
                ops: ops.clone(),
                correlation_header,
                validated_headers,
                routes: RouteNamer::new(
                    config.route_templates.iter().map(String::as_str).chain(templates.iter().copied()),
                )
                .map_err(OpsError::Http)?,
                timers: RouteTimers::new(ops.monitor().clone()),
                csrf: CsrfGuard::new(&security.csrf_protection, &config)
                    .map_err(|error| OpsError::Http(error.to_string()))?,
                max_body: usize::try_from(config.max_body_bytes).unwrap_or(usize::MAX),
                config,
                warned_no_peer: AtomicBool::new(false),
                remote_state: ops.security().rate_limiter().store().is_remote(),
                limit_header: limit_header(ops.security().rate_limiter().quota().limit),
            }),
        })
    }
}

impl std::fmt::Debug for OpsLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpsLayer").field("config", &self.state.config).finish_non_exhaustive()
    }
}

impl<S> std::fmt::Debug for OpsService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpsService").finish_non_exhaustive()
    }
}

impl<S> Layer<S> for OpsLayer {
    type Service = OpsService<S>;

    fn layer(&self, inner: S) -> OpsService<S> {
        OpsService { inner, state: Arc::clone(&self.state) }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for OpsService<S>
where
    S: Service<Request<Body>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: http_body::Body<Data = Bytes> + Send + 'static,
    ReqBody::Error: Into<BoxError>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The clone takes the place of the service that was polled ready, which serves this request.
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        let state = Arc::clone(&self.state);
        let (parts, body) = request.into_parts();
        let id = CorrelationId::from_headers(&parts.headers, &state.correlation_header);
        let route = state.routes.name(&parts);
        // The method and route are on the request line; the span carries what inner lines need.
        let span = correlation_span(&id);
        ResponseFuture {
            inner: Some(Box::pin(handle(state, ready, parts, Body::new(body), id, route))),
            span,
        }
    }
}

/// The future of [`OpsService`]: the request's handling, polled inside the request's span.
///
/// Unlike `tracing::Instrumented`, it drops the handling as soon as it completes, still inside the span, so
/// that dropping the finished future later needs no second entry into the span.
pub struct ResponseFuture<E> {
    span: tracing::Span,
    inner: Option<Handling<E>>,
}

/// The handling of one request, boxed.
type Handling<E> = Pin<Box<dyn Future<Output = Result<Response<Body>, E>> + Send>>;

impl<E> Future for ResponseFuture<E> {
    type Output = Result<Response<Body>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let _entered = this.span.enter();
        let Some(inner) = this.inner.as_mut() else {
            // Polled again after completion, against the `Future` contract: it stays pending.
            return Poll::Pending;
        };
        let output = std::task::ready!(inner.as_mut().poll(cx));
        this.inner = None;
        Poll::Ready(output)
    }
}

impl<E> Drop for ResponseFuture<E> {
    fn drop(&mut self) {
        // Cancelled before completion: what the handling drops may log, with the request's id.
        if let Some(inner) = self.inner.take() {
            let _entered = self.span.enter();
            drop(inner);
        }
    }
}

impl<E> std::fmt::Debug for ResponseFuture<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").field("done", &self.inner.is_none()).finish_non_exhaustive()
    }
}

async fn handle<S, ResBody>(
    state: Arc<LayerState>,
    mut inner: S,
    mut parts: Parts,
    body: Body,
    id: CorrelationId,
    route: &'static str,
) -> Result<Response<Body>, S::Error>
where
    S: Service<Request<Body>, Response = Response<ResBody>>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    let started = Instant::now();
    let client = state.client_address(&parts).map(|address| (address, AddressText::new(address)));
    let mut rate = None;
    // Cheap: a standard method is copied, the URI shares the request's buffer (no copy of the path).
    let (method, uri) = (parts.method.clone(), parts.uri.clone());
    let mut response = match state.admit(&parts, body, client, &mut rate).await {
        Admission::Forward(body) => {
            // The upstream (or handler) sees the same correlation id in its own logs.
            parts.headers.insert(state.correlation_header.clone(), id.header_value().clone());
            match inner.call(Request::from_parts(parts, body)).await {
                Ok(response) => response.map(Body::new),
                Err(error) => {
                    tracing::error!(target: vana_logging::ACCESS_TARGET, method = %method, route = %route, path = uri.path(), "the inner service failed");
                    state.timers.record(route, &method, started.elapsed(), false);
                    return Err(error);
                }
            }
        }
        Admission::Answer(response) => response,
        Admission::Refuse(refusal) => {
            state.record_refusal(refusal, client.map(|(address, _)| address), &parts, route);
            refusal.response(id.as_str())
        }
    };
    state.finish(&mut response, &id, rate.as_ref(), route, &method, uri.path(), client, started);
    Ok(response)
}

impl LayerState {
    fn client_address(&self, parts: &Parts) -> Option<IpAddr> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip())
            .or_else(|| parts.extensions.get::<SocketAddr>().map(SocketAddr::ip));
        match peer {
            Some(peer) => Some(self.ops.security().client_addresses().resolve(peer, &parts.headers)),
            None => {
                if !self.warned_no_peer.swap(true, Ordering::Relaxed) {
                    tracing::warn!(target: "vana_ops", "requests carry no peer address: blocking and rate limiting are skipped; serve with connect info");
                }
                None
            }
        }
    }

    /// The blocklist and the rate limit for `client`: whether it is blocked, else the rate decision.
    fn address_checks(&self, (client, key): (IpAddr, AddressText)) -> (bool, Option<RateDecision>) {
        let security = self.ops.security();
        if self.config.block_addresses && security.blocklist().is_blocked(client) {
            return (true, None);
        }
        let decision = self.config.rate_limit.then(|| security.rate_limiter().check(key.as_str()));
        (false, decision)
    }

    async fn admit(
        self: &Arc<Self>,
        parts: &Parts,
        body: Body,
        client: Option<(IpAddr, AddressText)>,
        rate: &mut Option<RateDecision>,
    ) -> Admission {
        if let Some(client) = client {
            let (blocked, decision) = if self.remote_state {
                // A round trip to Redis must not hold this worker: it waits on the blocking pool, so other
                // requests go on meanwhile (the backend's timeouts bound the wait).
                let state = Arc::clone(self);
                // A panicked check (it cannot, but the join says so) admits, as fail-open would.
                tokio::task::spawn_blocking(move || state.address_checks(client)).await.unwrap_or_default()
            } else {
                self.address_checks(client)
            };
            if blocked {
                return Admission::Refuse(Refusal::Blocked);
            }
            if let Some(decision) = decision {
                let (allowed, retry_after) = (decision.allowed, decision.retry_after);
                *rate = Some(decision);
                if !allowed {
                    return Admission::Refuse(Refusal::RateLimited(retry_after.unwrap_or(Duration::ZERO)));
                }
            }
        }
        let path = parts.uri.path();
        if parts.method == Method::GET && path == self.csrf.token_path {
            return Admission::Answer(self.token_response(&parts.headers));
        }
        let declared_length = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared_length.is_some_and(|length| length > self.config.max_body_bytes) {
            return Admission::Refuse(Refusal::BodyTooLarge);
        }
        let validate = self.config.validate_input
            && !self.config.validation_exempt_paths.iter().any(|prefix| path.starts_with(prefix.as_str()));
        if let Some(refusal) = validate.then(|| self.validate_head(parts)).flatten() {
            return Admission::Refuse(refusal);
        }
        let csrf_needed = self.csrf.applies_to(&parts.method, path);
        let header_token = if csrf_needed { self.csrf.header_token(&parts.headers) } else { None };
        let kind = BodyKind::of(&parts.headers);
        let has_body = !body.is_end_stream();
        let read_body = has_body
            && ((validate && kind != BodyKind::Opaque)
                || (csrf_needed && header_token.is_none() && kind == BodyKind::Form));
        if !read_body {
            if csrf_needed && !self.csrf.is_valid(header_token, &parts.headers) {
                return Admission::Refuse(Refusal::Csrf);
            }
            // Not inspected, but still capped: the inner service sees an error past the limit.
            let body = if has_body { Body::new(Limited::new(body, self.max_body)) } else { body };
            return Admission::Forward(body);
        }
        let bytes = match read_limited(body, self.max_body).await {
            Ok(bytes) => bytes,
            Err(ReadError::TooLarge) => return Admission::Refuse(Refusal::BodyTooLarge),
            Err(ReadError::Failed) => return Admission::Refuse(Refusal::BodyUnreadable),
        };
        if let Some(refusal) = validate.then(|| self.validate_body(kind, &bytes)).flatten() {
            return Admission::Refuse(refusal);
        }
        if csrf_needed {
            let form_token =
                || (kind == BodyKind::Form).then(|| form_field(&bytes, &self.csrf.form_field)).flatten();
            let token = header_token.map(str::to_owned).or_else(form_token);
            if !self.csrf.is_valid(token.as_deref(), &parts.headers) {
                return Admission::Refuse(Refusal::Csrf);
            }
        }
        Admission::Forward(Body::from(bytes))
    }

    fn token_response(&self, headers: &http::HeaderMap) -> Response<Body> {
        let (body, cookie) = self.csrf.issue(headers);
        let mut response = Response::new(Body::from(body.to_string()));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(cookie) = cookie {
            headers.insert(header::SET_COOKIE, cookie);
        }
        response
    }

    /// The path, query names and values, and the configured headers.
    fn validate_head(&self, parts: &Parts) -> Option<Refusal> {
        let validator = self.ops.security().validator();
        let check = |verdict: vana_security::Verdict, location: &'static str| match verdict.rejection() {
            Some(rejection) => ControlFlow::Break(Refusal::InvalidInput {
                category: rejection.category.as_str(),
                rule_id: rejection.rule_id,
                severity: rejection.severity,
                location,
            }),
            None => ControlFlow::Continue(()),
        };
        let flow = (|| {
            // Paths and many query values recur from request to request.
            check(validator.validate_recurring(parts.uri.path()), "path")?;
            if let Some(query) = parts.uri.query() {
                each_form_part(query, |part| check(validator.validate_recurring(part), "query"))?;
            }
            for name in &self.validated_headers {
                for value in parts.headers.get_all(name) {
                    let verdict = match value.to_str() {
                        // User agents, referrers and the like recur too.
                        Ok(text) => validator.validate_recurring(text),
                        Err(_) => validator.validate_bytes(value.as_bytes()),
                    };
                    check(verdict, "header")?;
                }
            }
            ControlFlow::Continue(())
        })();
        flow.break_value()
    }

    /// Form fields, JSON strings, or the whole text, each up to the body cap.
    fn validate_body(&self, kind: BodyKind, bytes: &[u8]) -> Option<Refusal> {
        let validator = self.ops.security().validator();
        let check = |text: &str| match validator.validate_with_limit(text, self.max_body).rejection() {
            Some(rejection) => ControlFlow::Break(Refusal::InvalidInput {
                category: rejection.category.as_str(),
                rule_id: rejection.rule_id,
                severity: rejection.severity,
                location: "body",
            }),
            None => ControlFlow::Continue(()),
        };
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            // A binary body in a textual type: the validator's byte entry point decides.
            Err(_) => return check_bytes(validator, bytes),
        };
        let flow = match kind {
            BodyKind::Form => each_form_part(text, check),
            BodyKind::Json => each_json_string(bytes, check).unwrap_or_else(|| check(text)),
            BodyKind::Text => check(text),
            BodyKind::Opaque => ControlFlow::Continue(()),
        };
        flow.break_value()
    }

    fn record_refusal(&self, refusal: Refusal, client: Option<IpAddr>, parts: &Parts, route: &str) {
        let severity = match refusal {
            Refusal::InvalidInput { severity, .. } => severity,
            Refusal::Csrf => Severity::Medium,
            Refusal::Blocked | Refusal::RateLimited(_) | Refusal::BodyTooLarge | Refusal::BodyUnreadable => {
                Severity::Low
            }
        };
        let mut event = SecurityEvent::new(refusal.code(), severity, client)
            .detail("method", parts.method.as_str())
            .detail("route", route);
        if let Some(agent) = parts.headers.get(header::USER_AGENT).and_then(|value| value.to_str().ok()) {
            event = event.user_agent(agent);
        }
        if let Refusal::InvalidInput { category, rule_id, location, .. } = refusal {
            event =
                event.detail("category", category).detail("rule_id", rule_id).detail("location", location);
        }
        // Critical events block their source when `auto_block_on_critical` is on.
        self.ops.security().log_security_event(event);
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        response: &mut Response<Body>,
        id: &CorrelationId,
        rate: Option<&RateDecision>,
        route: &'static str,
        method: &Method,
        path: &str,
        client: Option<(IpAddr, AddressText)>,
        started: Instant,
    ) {
        let headers = response.headers_mut();
        // First: a response with few headers of its own starts from the security headers' template, which
        // has room for the ones below.
        if self.config.security_headers {
            self.ops.security().headers().apply(headers);
        }
        headers.insert(self.correlation_header.clone(), id.header_value().clone());
        if let Some(rate) = rate {
            let limit = match &self.limit_header {
                (limit, value) if *limit == rate.limit => value.clone(),
                _ => number_header(rate.limit.into()),
            };
            headers.insert(RATE_LIMIT_LIMIT, limit);
            headers.insert(RATE_LIMIT_REMAINING, number_header(rate.remaining.into()));
            headers.insert(RATE_LIMIT_RESET, number_header(retry_after_secs(rate.reset_after)));
        }
        // The step is the request's record: its log line and its `response_time.<route>` metric.
        if !self.config.access_log {
            return;
        }
        let elapsed = started.elapsed();
        let status = response.status();
        self.timers.record(route, method, elapsed, !status.is_server_error());
        self.ops.request_log().write(&RequestRecord {
            method: method.as_str(),
            route,
            path,
            status: status.as_u16(),
            duration: elapsed,
            client: client.as_ref().map(|(_, text)| text.as_str()),
            correlation_id: Some(id.as_str()),
        });
    }
}

/// `limit` and its header value, as static text when the process has room for it (no shared count per
/// response).
fn limit_header(limit: u32) -> (u32, HeaderValue) {
    let text = limit.to_string();
    let value =
        vana_config::static_text(&text).map_or_else(|| number_header(limit.into()), HeaderValue::from_static);
    (limit, value)
}

/// Header values of the numbers `0..=1024`, made once: rate-limit headers are on every response, and a
/// value made from a number allocates.
fn number_header(number: u64) -> HeaderValue {
    static SMALL: std::sync::OnceLock<Vec<HeaderValue>> = std::sync::OnceLock::new();
    // Static text (a table of about 4 KiB, made once per process): clones then touch no shared counter.
    let small = SMALL.get_or_init(|| {
        (0..=1024_u64).map(|n| HeaderValue::from_static(Box::leak(n.to_string().into_boxed_str()))).collect()
    });
    usize::try_from(number)
        .ok()
        .and_then(|index| small.get(index))
        .cloned()
        .unwrap_or_else(|| large_number(number))
}

/// The decimal digits of a number, owned by the header value that carries them.
struct Digits {
    bytes: [u8; 20],
    len: usize,
}

impl AsRef<[u8]> for Digits {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// A header value of `number`'s digits in one allocation (`HeaderValue::from(u64)` takes two, and a third
/// when the value is cloned).
fn large_number(number: u64) -> HeaderValue {
    let mut buffer = itoa::Buffer::new();
    let text = buffer.format(number).as_bytes();
    let mut digits = Digits { bytes: [0; 20], len: text.len() };
    digits.bytes[..text.len()].copy_from_slice(text);
    // Digits are always a valid header value.
    HeaderValue::from_maybe_shared(Bytes::from_owner(digits)).unwrap_or_else(|_| number.into())
}

fn check_bytes(validator: &vana_security::InputValidator, bytes: &[u8]) -> Option<Refusal> {
    validator.validate_bytes(bytes).rejection().map(|rejection| Refusal::InvalidInput {
        category: rejection.category.as_str(),
        rule_id: rejection.rule_id,
        severity: rejection.severity,
        location: "body",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_headers_read_as_the_number_whatever_its_size() {
        for number in [0, 7, 1024, 1025, 65_535, 3_999_999_999, u64::from(u32::MAX), u64::MAX] {
            let value = number_header(number);
            assert_eq!(value.to_str().unwrap(), number.to_string());
            assert_eq!(value.clone(), value, "{number}");
        }
    }
}
