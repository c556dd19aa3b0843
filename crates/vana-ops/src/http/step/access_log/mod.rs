//! Access log: one line per request with its route, status, duration and client (`http.access_log`);
//! floods of identical refusals are summarized (`http.refusal_log_window_ms`, see `refusal_floods.rs`).

mod refusal_floods;

use std::time::Duration;

use vana_logging::{RequestLog, RequestRecord};
use vana_security::ClientNetworks;

use crate::http::step::Exchange;
use crate::http::step::completion::Completed;
use refusal_floods::{RefusalFloods, Summary, Verdict};

/// The access-log step.
pub(crate) struct AccessLog {
    log: RequestLog,
    /// `None` when every refusal is logged (`refusal_log_window_ms: 0`).
    floods: Option<RefusalFloods>,
    networks: ClientNetworks,
}

impl AccessLog {
    pub(crate) fn new(log: RequestLog, refusal_log_window: Duration, networks: ClientNetworks) -> Self {
        let floods = (!refusal_log_window.is_zero()).then(|| RefusalFloods::new(refusal_log_window));
        Self { log, floods, networks }
    }

    /// The request's line; a refusal (`refused`: the layer answered it) may be counted into a summary
    /// instead.
    pub(crate) fn write(&self, exchange: &Exchange, completed: &Completed) {
        let &Completed { status, duration: elapsed, refused, .. } = completed;
        if let Some(floods) = &self.floods {
            let now = exchange.started + elapsed;
            for summary in floods.sweep(now) {
                summarize(&summary, exchange.route.name());
            }
            if let (true, Some(client)) = (refused, &exchange.client) {
                match floods.admit(self.networks.key(client.address), status.as_u16(), now) {
                    Verdict::Suppress => return,
                    Verdict::LogAfter(summary) => summarize(&summary, exchange.route.name()),
                    Verdict::Log => {}
                }
            }
        }
        self.log.write(&RequestRecord {
            method: exchange.method.as_str(),
            route: exchange.route.name(),
            path: exchange.path(),
            status: status.as_u16(),
            duration: elapsed,
            first_byte: completed.first_byte,
            stream: completed
                .stream
                .map(|(events, outcome)| vana_logging::StreamRecord { events, outcome: outcome.as_str() }),
            gen_ai: completed.answer.as_ref().map(|answer| vana_logging::GenAiRecord {
                time_to_first_token: answer
                    .reading
                    .first_content
                    .map(|at| at.saturating_duration_since(exchange.started)),
                input_tokens: answer.reading.input_tokens,
                output_tokens: answer.reading.output_tokens,
            }),
            client: exchange.client.as_ref().map(|client| client.text.as_str()),
            correlation_id: Some(exchange.id.as_str()),
        });
    }

    /// The line of a request whose inner service failed (it has no response).
    pub(crate) fn write_failure(&self, exchange: &Exchange) {
        tracing::error!(
            target: vana_logging::ACCESS_TARGET,
            method = %exchange.method,
            route = exchange.route.name(),
            path = exchange.path(),
            "the inner service failed"
        );
    }
}

/// The line that stands for refusals not logged one by one.
fn summarize(summary: &Summary, route: &str) {
    tracing::warn!(
        target: vana_logging::ACCESS_TARGET,
        client_network = %summary.network,
        status = summary.status,
        suppressed = summary.suppressed,
        route,
        "identical refusals from one client network were counted, not logged one by one"
    );
}
