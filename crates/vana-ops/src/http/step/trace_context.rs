//! Trace context (the `otel` feature, with traces on): the request's server span, named and attributed by
//! the HTTP semantic conventions, a child of the caller's W3C `traceparent`/`tracestate` (or a new trace);
//! its context passed on to the upstream, so the service's own spans join the trace; at the response's
//! end, its status and, on an AI route, the GenAI attributes and the time to first token.

use http::HeaderMap;
use http::request::Parts;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use vana_logging::CorrelationId;

use crate::http::step::Exchange;
use crate::http::step::completion::Completed;

/// The W3C trace-context propagator of one layer.
pub(crate) struct TraceContext {
    propagator: TraceContextPropagator,
}

impl TraceContext {
    pub(crate) fn new() -> Self {
        Self { propagator: TraceContextPropagator::new() }
    }

    /// The server span of the request, the caller's trace its parent when it sent one.
    pub(crate) fn server_span(&self, parts: &Parts, id: &CorrelationId, route: &str) -> tracing::Span {
        let span = tracing::info_span!(
            "request",
            otel.name = %format_args!("{} {route}", parts.method),
            otel.kind = "server",
            otel.status_code = Empty,
            correlation_id = id.as_str(),
            http.request.method = parts.method.as_str(),
            http.route = route,
            url.path = parts.uri.path(),
            http.response.status_code = Empty,
            gen_ai.operation.name = Empty,
            gen_ai.response.model = Empty,
            gen_ai.agent.name = Empty,
            gen_ai.usage.input_tokens = Empty,
            gen_ai.usage.output_tokens = Empty,
            gen_ai.server.time_to_first_token = Empty,
        );
        let parent = self.propagator.extract(&HeaderExtractor(&parts.headers));
        // Refused only when the span is already started, which it is not.
        let _ = span.set_parent(parent);
        span
    }

    /// Puts `span`'s context on the request to the upstream (`traceparent`, `tracestate`), replacing what
    /// the caller sent: the upstream's spans are children of the gateway's.
    pub(crate) fn inject(&self, span: &tracing::Span, headers: &mut HeaderMap) {
        self.propagator.inject_context(&span.context(), &mut HeaderInjector(headers));
    }
}

/// What the response's end adds to the request's span.
pub(crate) fn record_end(exchange: &Exchange, completed: &Completed) {
    let span = &exchange.span;
    span.record("http.response.status_code", completed.status.as_u16());
    if completed.status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    let Some(answer) = &completed.answer else { return };
    let reading = &answer.reading;
    span.record("gen_ai.operation.name", &*answer.spec().operation);
    if let Some(model) = &reading.model {
        span.record("gen_ai.response.model", &**model);
    }
    if let Some(agent) = &reading.agent {
        span.record("gen_ai.agent.name", &**agent);
    }
    if let Some(tokens) = reading.input_tokens {
        span.record("gen_ai.usage.input_tokens", tokens);
    }
    if let Some(tokens) = reading.output_tokens {
        span.record("gen_ai.usage.output_tokens", tokens);
    }
    if let Some(first) = reading.first_content {
        let seconds = first.saturating_duration_since(exchange.started).as_secs_f64();
        span.record("gen_ai.server.time_to_first_token", seconds);
    }
}
