//! Route metrics: each request's duration, to its last body byte, into `response_time.<route>`, tagged with
//! the method and the status code (exported as the OpenTelemetry `http_server_request_duration_seconds`), a
//! failure of the route's error rate when the response is a 5xx or the inner service failed; and how each
//! server-sent event stream ended (`http.route_metrics`).

use std::time::Duration;

use http::StatusCode;

use vana_metrics::PerformanceMonitor;

use crate::http::routes::method_label;
use crate::http::step::Exchange;
use crate::http::step::completion::StreamOutcome;

/// `http.streams{http_route, outcome}`: exported as `vana_http_streams_total`.
pub(crate) const STREAMS: &str = "http.streams";
/// `http.stream_events{http_route}`: exported as `vana_http_stream_events_total`.
const STREAM_EVENTS: &str = "http.stream_events";

/// The error rate of a route's streams is that of the operation `stream:<route>`.
pub(crate) const STREAM_OPERATION_PREFIX: &str = "stream:";

/// The route-metrics step.
pub(crate) struct RouteMetrics {
    monitor: PerformanceMonitor,
}

impl RouteMetrics {
    pub(crate) fn new(monitor: &PerformanceMonitor) -> Self {
        Self { monitor: monitor.clone() }
    }

    pub(crate) fn record(&self, exchange: &Exchange, elapsed: Duration, status: StatusCode) {
        let route = exchange.route.name();
        let success = !status.is_server_error();
        let timer = exchange.route.timer(&exchange.method, status, |method| {
            self.monitor.http_request(route, method, status.as_str())
        });
        match timer {
            Some(timer) => timer.record(elapsed, success),
            // A status without a slot, or past the monitor's series cap: by name, which counts what the cap
            // drops.
            None => match self.monitor.http_request(route, method_label(&exchange.method), status.as_str()) {
                Some(timer) => timer.record(elapsed, success),
                None => self.monitor.record_response_time(route, elapsed, success, &[]),
            },
        }
    }

    /// A server-sent event stream's end: `vana_http_streams_total{http_route, outcome}`, its events in
    /// `vana_http_stream_events_total{http_route}`, and whether it failed (cut by the upstream or for
    /// idleness) in the error rate of the operation `stream:<route>` (`vana_error_ratio`), which a
    /// threshold on `error_rate.stream:*` watches.
    pub(crate) fn record_stream(&self, exchange: &Exchange, events: u64, outcome: StreamOutcome) {
        let route = exchange.route.name();
        let failed = outcome.failed();
        let outcome = outcome.as_str();
        self.monitor.record_metric(STREAMS, 1.0, "count", &[("http_route", route), ("outcome", outcome)]);
        self.monitor.record_metric(STREAM_EVENTS, events as f64, "count", &[("http_route", route)]);
        self.monitor.record_outcome(&format!("{STREAM_OPERATION_PREFIX}{route}"), !failed);
    }
}
