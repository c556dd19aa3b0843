//! Route metrics: each request's duration into `response_time.<route>`, tagged with the method, a
//! failure when the response is a 5xx or the inner service failed (`http.route_metrics`).

use std::time::Duration;

use vana_metrics::PerformanceMonitor;

use crate::http::pipeline::Exchange;
use crate::http::routes::method_label;

/// The route-metrics step.
pub(crate) struct RouteMetrics {
    monitor: PerformanceMonitor,
}

impl RouteMetrics {
    pub(crate) fn new(monitor: &PerformanceMonitor) -> Self {
        Self { monitor: monitor.clone() }
    }

    pub(crate) fn record(&self, exchange: &Exchange, elapsed: Duration, success: bool) {
        let route = exchange.route.name();
        let timer = exchange
            .route
            .timer(&exchange.method, |method| self.monitor.operation_with_tags(route, &[("method", method)]));
        match timer {
            Some(timer) => timer.record(elapsed, success),
            // Past the monitor's series cap: by name, which counts what it must drop.
            None => self.monitor.record_response_time(
                route,
                elapsed,
                success,
                &[("method", method_label(&exchange.method))],
            ),
        }
    }
}
