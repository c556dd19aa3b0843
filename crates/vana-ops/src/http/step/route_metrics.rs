//! Route metrics: each request's duration into `response_time.<route>`, tagged with the method and the
//! status code (exported as the OpenTelemetry `http_server_request_duration_seconds`), a failure of the
//! route's error rate when the response is a 5xx or the inner service failed (`http.route_metrics`).

use std::time::Duration;

use http::StatusCode;

use vana_metrics::PerformanceMonitor;

use crate::http::routes::method_label;
use crate::http::step::Exchange;

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
}
