//! Response-time handles per route and method: a request records its duration without a lookup by name.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::Method;
use parking_lot::RwLock;
use vana_metrics::{OperationHandle, PerformanceMonitor};

/// The method labels; extension methods share `other`, so cardinality stays bounded.
const METHODS: [&str; 8] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "other"];
/// Most routes cached per method; past it, durations are recorded by name (slower, same series).
const MAX_ROUTES_PER_METHOD: usize = 1024;

pub(crate) struct RouteTimers {
    /// Tells this instance's entries apart in the per-thread caches.
    id: u64,
    monitor: PerformanceMonitor,
    by_method: [RwLock<HashMap<&'static str, OperationHandle>>; METHODS.len()],
}

/// Slots of the per-thread handle cache.
const CACHED_SLOTS: usize = 64;

/// A handle cached on one thread, for (timers, route name's address, method).
struct Cached {
    key: (u64, usize, usize),
    handle: OperationHandle,
}

thread_local! {
    /// Handles used lately on this thread: a request finds its handle without hashing the route or taking
    /// the lock all threads share.
    static CACHED: RefCell<Vec<Option<Cached>>> = RefCell::new((0..CACHED_SLOTS).map(|_| None).collect());
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
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Self { id: NEXT_ID.fetch_add(1, Ordering::Relaxed), monitor, by_method: Default::default() }
    }

    /// Records `elapsed` as `response_time.<route>` tagged with the method, a failure when `!success`.
    pub(crate) fn record(&self, route: &'static str, method: &Method, elapsed: Duration, success: bool) {
        let index = method_index(method);
        let key = (self.id, route.as_ptr() as usize, index);
        let slot = (key.1 >> 3).wrapping_add(index).wrapping_add(key.0 as usize) % CACHED_SLOTS;
        let recorded = CACHED.with(|cache| {
            // Busy only if recording re-entered on this thread: then the shared path below serves.
            let Ok(mut cache) = cache.try_borrow_mut() else { return false };
            let entry = &mut cache[slot];
            if let Some(cached) = entry.as_ref().filter(|cached| cached.key == key) {
                cached.handle.record(elapsed, success);
                return true;
            }
            match self.shared_handle(route, index) {
                Some(handle) => {
                    handle.record(elapsed, success);
                    *entry = Some(Cached { key, handle });
                }
                None => self.record_by_name(route, index, elapsed, success),
            }
            true
        });
        if !recorded {
            match self.shared_handle(route, index) {
                Some(handle) => handle.record(elapsed, success),
                None => self.record_by_name(route, index, elapsed, success),
            }
        }
    }

    /// The handle of `route` and method `index` from the map all threads share, made when missing while
    /// the map has room.
    fn shared_handle(&self, route: &'static str, index: usize) -> Option<OperationHandle> {
        if let Some(handle) = self.by_method[index].read().get(route) {
            return Some(handle.clone());
        }
        let mut handles = self.by_method[index].write();
        if let Some(handle) = handles.get(route) {
            return Some(handle.clone());
        }
        if handles.len() >= MAX_ROUTES_PER_METHOD {
            return None;
        }
        let handle = self.monitor.operation_with_tags(route, &[("method", METHODS[index])])?;
        handles.insert(route, handle.clone());
        Some(handle)
    }

    /// Once the shared map is full: by name (slower, same series).
    fn record_by_name(&self, route: &'static str, index: usize, elapsed: Duration, success: bool) {
        self.monitor.record_response_time(route, elapsed, success, &[("method", METHODS[index])]);
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
        let route = "/items/{id}";
        timers.record(route, &Method::GET, Duration::from_millis(1), true);
        timers.record(route, &Method::GET, Duration::from_millis(1), false);
        timers.record(route, &Method::from_bytes(b"PURGE").unwrap(), Duration::from_millis(1), true);
        assert_eq!(monitor.total_recorded("response_time./items/{id}"), 3);
        for index in 0..MAX_ROUTES_PER_METHOD + 5 {
            let route: &'static str = Box::leak(format!("/r{index}").into_boxed_str());
            timers.record(route, &Method::POST, Duration::from_millis(1), true);
        }
        assert_eq!(timers.cached(), 2 + MAX_ROUTES_PER_METHOD);
        assert_eq!(monitor.total_recorded(&format!("response_time./r{}", MAX_ROUTES_PER_METHOD + 4)), 1);
    }

    #[test]
    fn two_layers_on_one_thread_record_into_their_own_monitors() {
        let (first, second) = (
            PerformanceMonitor::new(&vana_config::MonitoringConfig::default()),
            PerformanceMonitor::new(&vana_config::MonitoringConfig::default()),
        );
        let (timers_a, timers_b) = (RouteTimers::new(first.clone()), RouteTimers::new(second.clone()));
        for _ in 0..3 {
            timers_a.record("/shared", &Method::GET, Duration::from_millis(1), true);
        }
        timers_b.record("/shared", &Method::GET, Duration::from_millis(1), true);
        assert_eq!(first.total_recorded("response_time./shared"), 3);
        assert_eq!(second.total_recorded("response_time./shared"), 1);
    }
}
