//! Access log: one line per request with its route, status, duration and client (`http.access_log`).

use std::time::Duration;

use vana_logging::{RequestLog, RequestRecord};

use crate::http::pipeline::Exchange;

/// The access-log step.
pub(crate) struct AccessLog {
    log: RequestLog,
}

impl AccessLog {
    pub(crate) fn new(log: RequestLog) -> Self {
        Self { log }
    }

    pub(crate) fn write(&self, exchange: &Exchange, status: http::StatusCode, elapsed: Duration) {
        self.log.write(&RequestRecord {
            method: exchange.method.as_str(),
            route: exchange.route.name(),
            path: exchange.uri.path(),
            status: status.as_u16(),
            duration: elapsed,
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
            path = exchange.uri.path(),
            "the inner service failed"
        );
    }
}
