//! Response-time handles per route and method: a request records its duration without a lookup by name.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use http::Method;
use parking_lot::RwLock;
use vana_metrics::{OperationHandle, PerformanceMonitor};

/// The method labels; extension methods share `other`, so cardinality stays bounded.
const METHODS: [&str; 8] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "other"];
/// Most routes cached per method; past it, durations are recorded by name (slower, same series).
const MAX_ROUTES_PER_METHOD: usize = 1024;

pub(crate) struct RouteTimers {
    monitor: PerformanceMonitor,
    by_method: [RwLock<HashMap<Arc<str>, OperationHandle>>; METHODS.len()],
}

fn method_index(method: &Method) -> usize {
    match *method {
        Method::GET => 0,
        Method::POST => 1,
        Method::PUT => 2,
        Method::PATCH => 3,
        Method::DELETE => 4,
        Method::HEAD => 5,
        Method::OPTIONS => 6,
        _ => 7,
    }
}

impl RouteTimers {
    pub(crate) fn new(monitor: PerformanceMonitor) -> Self {
        Self { monitor, by_method: Default::default() }
    }

    /// Records `elapsed` as `response_time.<route>` tagged with the method, a failure when `!success`.
    pub(crate) fn record(&self, route: &Arc<str>, method: &Method, elapsed: Duration, success: bool) {
        let index = method_index(method);
        if let Some(handle) = self.by_method[index].read().get(&**route) {
            handle.record(elapsed, success);
            return;
        }
        let tags = [("method", METHODS[index])];
        let mut handles = self.by_method[index].write();
        if handles.len() < MAX_ROUTES_PER_METHOD {
            if let Some(handle) = self.monitor.operation_with_tags(route, &tags) {
                handle.record(elapsed, success);
                handles.insert(Arc::clone(route), handle);
                return;
            }
        }
        drop(handles);
        self.monitor.record_response_time(route, elapsed, success, &tags);
    }

    #[cfg(test)]
    fn cached(&self) -> usize {
        self.by_method.iter().map(|handles| handles.read().len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_and_uncached_routes_land_in_the_same_series_and_the_cache_is_capped() {
        let monitor = PerformanceMonitor::new(&vana_config::MonitoringConfig::default());
        let timers = RouteTimers::new(monitor.clone());
        let route: Arc<str> = Arc::from("/items/{id}");
        timers.record(&route, &Method::GET, Duration::from_millis(1), true);
        timers.record(&route, &Method::GET, Duration::from_millis(1), false);
        timers.record(&route, &Method::from_bytes(b"PURGE").unwrap(), Duration::from_millis(1), true);
        assert_eq!(monitor.total_recorded("response_time./items/{id}"), 3);
        for index in 0..MAX_ROUTES_PER_METHOD + 5 {
            timers.record(&Arc::from(format!("/r{index}")), &Method::POST, Duration::from_millis(1), true);
        }
        assert_eq!(timers.cached(), 2 + MAX_ROUTES_PER_METHOD);
        assert_eq!(monitor.total_recorded(&format!("response_time./r{}", MAX_ROUTES_PER_METHOD + 4)), 1);
    }
}
