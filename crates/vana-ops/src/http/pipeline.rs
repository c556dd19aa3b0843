//! The pipeline: the layer's steps composed in the order a request meets them. `handle` reads top to
//! bottom: who is asking, may they, is the request acceptable, the inner service, then what every response
//! gets.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response, StatusCode};
use http_body::Body as _;
use tower::Service;
use vana_logging::CorrelationId;
use vana_security::RateDecision;

use crate::error::OpsError;
use crate::http::body::BodyKind;
use crate::http::body_limits::RouteBodyLimits;
use crate::http::counters::LayerCounters;
use crate::http::encoding::{Encoding, decode, json_as_utf8};
use crate::http::reject::Refusal;
use crate::http::routes::{Route, RouteNamer};
use crate::http::step::Exchange;
use crate::http::step::access_log::AccessLog;
use crate::http::step::blocklist::Blocklist;
use crate::http::step::client_address::{Client, ClientAddress, Origin};
use crate::http::step::completion::{BodyWatch, Completed, Finisher, time_to_the_end};
use crate::http::step::correlation::Correlation;
use crate::http::step::csrf::Csrf;
use crate::http::step::gen_ai::{Answer, AnswerWatch, GenAi};
use crate::http::step::rate_limit::RateLimit;
use crate::http::step::route_metrics::RouteMetrics;
use crate::http::step::security_headers::SecurityHeaders;
use crate::http::step::validation::{Findings, Validation};
use crate::ops::Ops;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Every step of the `http` section; a step that is switched off is `None`.
pub(crate) struct Pipeline {
    ops: Ops,
    routes: RouteNamer,
    correlation: Correlation,
    client_address: ClientAddress,
    blocklist: Option<Blocklist>,
    rate_limit: Option<RateLimit>,
    /// Rate limits and blocks live in Redis: their checks leave the async worker.
    remote_address_checks: bool,
    csrf: Csrf,
    body_limits: RouteBodyLimits,
    validation: Option<Validation>,
    security_headers: Option<SecurityHeaders>,
    access_log: Option<AccessLog>,
    route_metrics: Option<RouteMetrics>,
    /// The AI routes, when any is configured.
    gen_ai: Option<GenAi>,
    /// The token budgets, when a route counts any.
    token_budgets: Option<crate::http::step::token_budget::TokenBudgets>,
    /// `http.stream_idle_timeout_ms`.
    stream_idle_timeout: Duration,
    /// Whether every response is watched to its end (a request line, a route metric, an AI route or a
    /// span waits for it); otherwise only streams are, for their idle timeout.
    watches_bodies: bool,
    /// Trace context in and out, when traces are on.
    #[cfg(feature = "otel")]
    trace_context: Option<crate::http::step::trace_context::TraceContext>,
    counters: LayerCounters,
}

/// What the request checks found besides their verdict.
struct Found<'a> {
    findings: &'a mut Findings,
    spenders: &'a mut Option<Box<crate::http::step::token_budget::Spenders>>,
}

/// The client's rate decision, and whether its address may go on.
type AddressVerdict = (Option<RateDecision>, Result<(), Refusal>);

/// What the request checks decided, when they did not refuse.
enum Admission {
    /// On to the inner service, with the body (read, or capped as it streams).
    Forward(Body),
    /// The layer answers itself (the CSRF token route).
    Answer(Response<Body>),
}

impl Pipeline {
    /// The steps of `ops`'s `http` section, naming requests by `templates` after the configured ones.
    pub(crate) fn new(ops: &Ops, templates: &[&str]) -> Result<Self, OpsError> {
        let security = &ops.config().security;
        let rate_limit = security.http.rate_limit.then(|| RateLimit::new(ops));
        Self::build(ops, templates, &security.http, &security.csrf_protection, rate_limit)
    }

    /// The steps in front of the operational endpoints: the client address, the blocklist, a rate limit of
    /// their own (`http.ops_rate_limit` a minute per client network), security headers, the correlation id
    /// and the request log. No validation or CSRF (they take no input), and no route metric (a scrape is
    /// not the service's traffic).
    pub(crate) fn for_endpoints(ops: &Ops) -> Result<Self, OpsError> {
        let security = &ops.config().security;
        let mut http = security.http.clone();
        http.validate_input = false;
        http.route_metrics = false;
        http.route_templates = Vec::new();
        http.route_settings.clear();
        let mut csrf = security.csrf_protection.clone();
        csrf.require_csrf = false;
        let rate_limit = security.http.rate_limit.then(|| RateLimit::for_endpoints(ops));
        // The endpoints' router puts each behind the layer, so axum's matched path names them.
        Self::build(ops, &[], &http, &csrf, rate_limit)
    }

    fn build(
        ops: &Ops,
        templates: &[&str],
        config: &vana_config::HttpLayer,
        csrf: &vana_config::CsrfProtection,
        rate_limit: Option<RateLimit>,
    ) -> Result<Self, OpsError> {
        let configured = config.route_templates.iter().map(String::as_str);
        let gen_ai = GenAi::new(config, ops.monitor());
        let watches_bodies =
            config.access_log || config.route_metrics || gen_ai.is_some() || ops.traces_enabled();
        Ok(Self {
            ops: ops.clone(),
            routes: RouteNamer::new(configured.chain(templates.iter().copied()))?,
            correlation: Correlation::new(
                &ops.config().monitoring.logging.correlation_id_header,
                config.correlation_id,
            )?,
            client_address: ClientAddress::new(ops),
            blocklist: config.block_addresses.then(|| Blocklist::new(ops)),
            rate_limit,
            remote_address_checks: ops.security().rate_limiter().store().is_remote(),
            csrf: Csrf::new(csrf, config)?,
            body_limits: RouteBodyLimits::new(config),
            validation: config.validate_input.then(|| Validation::new(ops, config)),
            security_headers: config.security_headers.then(|| SecurityHeaders::new(ops, config)),
            access_log: config.access_log.then(|| {
                let window = std::time::Duration::from_millis(config.refusal_log_window_ms);
                AccessLog::new(ops.request_log().clone(), window, ops.security().networks())
            }),
            route_metrics: config.route_metrics.then(|| RouteMetrics::new(ops.monitor())),
            gen_ai,
            watches_bodies,
            token_budgets: crate::http::step::token_budget::TokenBudgets::new(ops, config),
            stream_idle_timeout: Duration::from_millis(config.stream_idle_timeout_ms),
            #[cfg(feature = "otel")]
            trace_context: ops.traces_enabled().then(crate::http::step::trace_context::TraceContext::new),
            counters: LayerCounters::new(ops.monitor()),
        })
    }

    /// The request's id and route: known before its handling starts, they name its span.
    pub(crate) fn identify(&self, parts: &Parts) -> (CorrelationId, Arc<Route>) {
        (self.correlation.id(&parts.headers), self.routes.route(parts))
    }

    /// The span the request is handled in: its server span when traces are on, else one that carries the
    /// correlation id for inner log lines (the method and route are on the request line).
    pub(crate) fn span(&self, parts: &Parts, id: &CorrelationId, route: &Route) -> tracing::Span {
        #[cfg(feature = "otel")]
        if let Some(trace_context) = &self.trace_context {
            return trace_context.server_span(parts, id, route.name());
        }
        let _ = (parts, route);
        vana_logging::correlation_span(id)
    }

    /// The request's checks, on to the inner service, and what every response gets.
    pub(crate) async fn handle<S, ResBody>(
        self: Arc<Self>,
        mut inner: S,
        (mut parts, body): (Parts, Body),
        (id, route): (CorrelationId, Arc<Route>),
    ) -> Result<Response<Body>, S::Error>
    where
        S: Service<Request<Body>, Response = Response<ResBody>>,
        ResBody: http_body::Body<Data = Bytes> + Send + 'static,
        ResBody::Error: Into<BoxError>,
    {
        let started = Instant::now();
        let (origin, unknown) = match self.client_address.origin(&parts) {
            Ok(origin) => (origin, None),
            Err(refusal) => (Origin { client: None, https: false }, Some(refusal)),
        };
        // On the heap once: it lives on in the response body until the last byte, and a pointer moves cheaply.
        let mut exchange = Box::new(Exchange {
            id,
            route,
            method: parts.method.clone(),
            path_and_query: parts.uri.path_and_query().cloned(),
            client: origin.client,
            https: origin.https,
            started,
            spenders: None,
            // Polled inside the request's span: this is it.
            #[cfg(feature = "otel")]
            span: if self.trace_context.is_some() { tracing::Span::current() } else { tracing::Span::none() },
        });
        let (rate, address) = match unknown {
            Some(refusal) => (None, Err(refusal)),
            None => self.check_address(exchange.client).await,
        };
        let mut findings = Findings::default();
        let admission = match address {
            Ok(()) => {
                let route = exchange.route.name();
                let mut found = Found { findings: &mut findings, spenders: &mut exchange.spenders };
                self.check_request(&parts, body, route, &mut found).await
            }
            Err(refusal) => Err(refusal),
        };
        self.record_findings(&findings, &parts, &exchange);
        let refused = admission.is_err();
        let mut response = match admission {
            Ok(Admission::Forward(body)) => {
                self.correlation.attach_to_request(&mut parts.headers, &exchange.id);
                #[cfg(feature = "otel")]
                if let Some(trace_context) = &self.trace_context {
                    trace_context.inject(&exchange.span, &mut parts.headers);
                }
                match inner.call(Request::from_parts(parts, body)).await {
                    Ok(response) => response.map(Body::new),
                    Err(error) => {
                        self.inner_failed(&exchange);
                        return Err(error);
                    }
                }
            }
            Ok(Admission::Answer(response)) => response,
            Err(refusal) => self.answer_refusal(refusal, &parts, &exchange).await,
        };
        self.finish(&mut response, &exchange, rate.as_ref());
        // The log line, the metrics and the span wait for the body's end: a stream is timed to its last
        // event, and it is ended when it goes quiet.
        if !self.watches_bodies && !crate::http::step::completion::is_event_stream(response.headers()) {
            return Ok(response);
        }
        let settings =
            BodyWatch::of(&response, exchange.route.name(), self.gen_ai.as_ref(), self.stream_idle_timeout);
        let finisher: Arc<dyn Finisher> = self;
        Ok(time_to_the_end(response, exchange, refused, finisher, settings))
    }

    /// The blocklist and the rate limit: the client's rate decision (its headers go on the response,
    /// refused or not) and whether the client may go on.
    async fn check_address(self: &Arc<Self>, client: Option<Client>) -> AddressVerdict {
        let Some(client) = client else { return (None, Ok(())) };
        if !self.remote_address_checks {
            return self.address_checks(&client);
        }
        // Redis is asked on the multiplexed connection: the worker serves other requests meanwhile (the
        // backend's timeouts bound the wait). Boxed: the request future stays small in memory mode.
        Box::pin(self.address_checks_remote(&client)).await
    }

    /// [`address_checks`](Self::address_checks) with Redis asked without holding a thread.
    async fn address_checks_remote(&self, client: &Client) -> AddressVerdict {
        if let Some(blocklist) = &self.blocklist
            && let Err(refusal) = blocklist.check_async(client).await
        {
            return (None, Err(refusal));
        }
        match &self.rate_limit {
            Some(rate_limit) => {
                let decision = rate_limit.check_async(client).await;
                let admitted = RateLimit::admits(&decision);
                (Some(decision), admitted)
            }
            None => (None, Ok(())),
        }
    }

    /// The refusal's response, once a refused attack counted toward blocking its source.
    async fn answer_refusal(&self, refusal: Refusal, parts: &Parts, exchange: &Exchange) -> Response<Body> {
        let (response, strike) = self.refuse(refusal, parts, exchange);
        if let Some(address) = strike {
            self.strike(address).await;
        }
        response
    }

    /// Counts a refused attack toward blocking `address` (in Redis on the multiplexed connection when the
    /// backend is remote).
    async fn strike(&self, address: std::net::IpAddr) {
        let security = self.ops.security();
        if self.remote_address_checks {
            Box::pin(security.record_refused_attack_async(address)).await;
        } else {
            security.record_refused_attack(address);
        }
    }

    fn address_checks(&self, client: &Client) -> AddressVerdict {
        if let Some(blocklist) = &self.blocklist
            && let Err(refusal) = blocklist.check(client)
        {
            return (None, Err(refusal));
        }
        match &self.rate_limit {
            Some(rate_limit) => {
                let decision = rate_limit.check(client);
                let admitted = RateLimit::admits(&decision);
                (Some(decision), admitted)
            }
            None => (None, Ok(())),
        }
    }

    /// The token route, the body cap, validation and CSRF. The body is read only when a step must see it.
    /// Findings that let the request go on land in `findings`.
    async fn check_request(
        &self,
        parts: &Parts,
        body: Body,
        route: &str,
        found: &mut Found<'_>,
    ) -> Result<Admission, Refusal> {
        if self.csrf.is_token_request(parts) {
            return Ok(Admission::Answer(self.csrf.token_response(&parts.headers)));
        }
        let limits = self.body_limits.of(route);
        limits.cap.check_declared(&parts.headers)?;
        let validation = self
            .validation
            .as_ref()
            .filter(|validation| validation.applies_to(parts.uri.path()))
            .map(|validation| (validation, validation.actions(route)));
        if let Some((validation, actions)) = validation {
            validation.check_head(parts, actions, found.findings)?;
        }
        let token = self.csrf.check_head(parts)?;
        // The body is read only when a step must see it.
        let kind = BodyKind::of(&parts.headers);
        let budgets = self.token_budgets.as_ref();
        let read = !body.is_end_stream()
            && (validation.is_some_and(|_| Validation::needs_body(kind))
                || token.as_ref().is_some_and(|token| token.needs_body(kind))
                || (kind == BodyKind::Json && budgets.is_some_and(|budgets| budgets.needs_json(route))));
        if !read {
            if let Some(token) = token {
                token.check(None)?;
            }
            if self.token_budgets.is_some() {
                self.check_budgets(parts, route, None, found).await?;
            }
            return Ok(Admission::Forward(limits.cap.limit(body)));
        }
        // A coding validation cannot undo is refused before the body is read.
        let encoding = Encoding::of(&parts.headers)?;
        let bytes = limits.cap.read(body).await?;
        // Validated as the service will read it; forwarded as sent.
        let decoded = decode(encoding, &bytes, limits.decode)?;
        let readable =
            if kind == BodyKind::Json { json_as_utf8(&decoded)? } else { Cow::Borrowed(&*decoded) };
        if let Some((validation, actions)) = validation {
            validation.check_body(
                &parts.headers,
                &readable,
                limits.decode.max_bytes,
                actions,
                found.findings,
            )?;
        }
        if let Some(token) = token {
            token.check(Some((kind, &readable)))?;
        }
        if self.token_budgets.is_some() {
            let json = (kind == BodyKind::Json).then_some(&*readable);
            self.check_budgets(parts, route, json, found).await?;
        }
        Ok(Admission::Forward(Body::from(bytes)))
    }

    /// The request's token budgets: who spends them (kept for the answer's end), and a refusal when one
    /// is spent.
    async fn check_budgets(
        &self,
        parts: &Parts,
        route: &str,
        json: Option<&[u8]>,
        found: &mut Found<'_>,
    ) -> Result<(), Refusal> {
        let Some(budgets) = &self.token_budgets else { return Ok(()) };
        let Some(spenders) = budgets.spenders(route, &crate::http::path::normalized(parts.uri.path()), json)
        else {
            return Ok(());
        };
        // Boxed: the request future stays small for the routes without budgets.
        Box::pin(budgets.check(&spenders)).await?;
        *found.spenders = Some(Box::new(spenders));
        Ok(())
    }

    /// The refusal's security event and its response, and the address to count a strike against: a request
    /// refused for its input counts toward blocking its source (`ip_blocking.auto_block_after`), unless a
    /// third-party page made the visitor's browser send it: the refusal stands, the visitor is not the
    /// attacker.
    fn refuse(
        &self,
        refusal: Refusal,
        parts: &Parts,
        exchange: &Exchange,
    ) -> (Response<Body>, Option<std::net::IpAddr>) {
        let client = exchange.client.map(|client| client.address);
        let security = self.ops.security();
        let third_party = sent_for_a_third_party_page(&parts.headers);
        let mut event = refusal.event(client, parts, exchange.route.name());
        if third_party {
            event = event.detail("strike", "no: sent by a browser for a third-party page");
        }
        security.log_security_event(event.detail("correlation_id", exchange.id.as_str()));
        self.counters.refused(refusal);
        let strike = match (refusal, client, third_party) {
            (Refusal::InvalidInput(_), Some(client), false) => Some(client),
            _ => None,
        };
        (refusal.response(exchange.id.as_str()), strike)
    }

    /// An `input_detected` event for each finding that let the request go on; they never block.
    fn record_findings(&self, findings: &Findings, parts: &Parts, exchange: &Exchange) {
        let client = exchange.client.map(|client| client.address);
        for (finding, action) in findings.iter() {
            let event = finding.detected_event(*action, client, parts, exchange.route.name());
            self.ops.security().log_security_event(event.detail("correlation_id", exchange.id.as_str()));
            self.counters.found(finding, *action);
        }
    }

    /// What every response's head gets, in order: security headers first (a response with few headers of its
    /// own starts from their template), the correlation id, the rate-limit headers.
    fn finish(&self, response: &mut Response<Body>, exchange: &Exchange, rate: Option<&RateDecision>) {
        if let Some(security_headers) = &self.security_headers {
            security_headers.apply(response.headers_mut(), exchange.https, exchange.route.name());
        }
        self.correlation.attach(response.headers_mut(), &exchange.id);
        if let (Some(rate_limit), Some(rate)) = (&self.rate_limit, rate) {
            rate_limit.annotate(response.headers_mut(), rate);
        }
    }

    /// The inner service failed: there is no response, but the request is logged and timed.
    fn inner_failed(&self, exchange: &Exchange) {
        if let Some(access_log) = &self.access_log {
            access_log.write_failure(exchange);
        }
        if let Some(route_metrics) = &self.route_metrics {
            route_metrics.record(exchange, exchange.started.elapsed(), StatusCode::INTERNAL_SERVER_ERROR);
        }
    }
}

impl Finisher for Pipeline {
    /// The response is over: its log line, its duration in the route metric, and a stream's counts.
    fn finish(&self, exchange: &Exchange, completed: &Completed) {
        if let Some(access_log) = &self.access_log {
            access_log.write(exchange, completed);
        }
        if let Some(route_metrics) = &self.route_metrics {
            route_metrics.record(exchange, completed.duration, completed.status);
            if let Some((events, outcome)) = completed.stream {
                route_metrics.record_stream(exchange, events, outcome);
            }
        }
        #[cfg(feature = "otel")]
        if self.trace_context.is_some() {
            crate::http::step::trace_context::record_end(exchange, completed);
        }
        if let Some(answer) = &completed.answer {
            self.finish_answer(exchange, completed, answer);
        }
    }
}

impl Pipeline {
    /// An AI route's answer is over: its tokens spent against the request's budgets, its GenAI metrics.
    #[cold]
    fn finish_answer(&self, exchange: &Exchange, completed: &Completed, answer: &AnswerWatch) {
        let reading = &answer.reading;
        if let (Some(budgets), Some(spenders)) = (&self.token_budgets, &exchange.spenders) {
            let tokens = reading.input_tokens.unwrap_or(0).saturating_add(reading.output_tokens.unwrap_or(0));
            budgets.spend(spenders, tokens);
        }
        if let Some(gen_ai) = &self.gen_ai {
            gen_ai.metrics.record(&Answer {
                route: exchange.route.name(),
                spec: answer.spec(),
                reading,
                started: exchange.started,
                ended: exchange.started + completed.duration,
                streamed: answer.streamed(),
            });
        }
    }
}

/// Whether a browser sent the request for a page of another site (`Sec-Fetch-Site: cross-site`): an image,
/// a script, a frame or a form that page embeds, which the visitor neither wrote nor saw. Browsers set the
/// header and scripts cannot; a client outside a browser can forge it, and then gains only that its refusals
/// do not block it (docs/security.md).
fn sent_for_a_third_party_page(headers: &http::HeaderMap) -> bool {
    headers.get("sec-fetch-site").is_some_and(|site| site.as_bytes().eq_ignore_ascii_case(b"cross-site"))
}
