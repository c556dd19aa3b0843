//! Handles that record into one series (or one operation) with no lookup.

use super::*;

/// A series to record into with no name lookup and no allocation; cheap to clone.
#[derive(Clone)]
pub struct SeriesHandle {
    pub(super) series: Arc<Series>,
    pub(super) inner: Arc<Inner>,
}

impl SeriesHandle {
    /// Records `value` now.
    pub fn record(&self, value: f64) {
        self.inner.record_into(&self.series, value);
    }

    /// The series' name.
    pub fn name(&self) -> &str {
        &self.series.name
    }
}

/// One operation's response-time series and error rate: what [`PerformanceMonitor::record_response_time`]
/// records, without its lookups. Cheap to clone.
#[derive(Clone, Debug)]
pub struct OperationHandle {
    pub(super) succeeded: SeriesHandle,
    pub(super) failed: SeriesHandle,
    pub(super) error_rate: SeriesHandle,
    pub(super) window: Arc<crate::error_rate::ErrorWindow>,
    pub(super) operation: Arc<str>,
}

impl OperationHandle {
    /// Records one call.
    pub fn record(&self, duration: Duration, success: bool) {
        let now = self.now();
        self.record_at(duration.as_secs_f64(), success, now);
    }

    /// The monitor's clock now, in monotonic nanoseconds: take it at the start of a call and hand it to
    /// [`record_since`](Self::record_since), so a call costs two clock reads in all.
    pub fn now(&self) -> u64 {
        self.succeeded.inner.now()
    }

    /// Records one call that started at `start` (from [`now`](Self::now)) and ends now.
    pub fn record_since(&self, start: u64, success: bool) {
        let now = self.now();
        self.record_at(now.saturating_sub(start) as f64 / 1e9, success, now);
    }

    fn record_at(&self, seconds: f64, success: bool, now: u64) {
        let handle = if success { &self.succeeded } else { &self.failed };
        handle.inner.record_at(&handle.series, seconds, now);
        if let Some(rate) = self.window.observe(success, now) {
            handle.inner.record_at(&self.error_rate.series, rate, now);
        }
    }

    /// The operation's name.
    pub fn operation(&self) -> &str {
        &self.operation
    }
}

impl std::fmt::Debug for SeriesHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesHandle")
            .field("name", &self.series.name)
            .field("tags", &self.series.tags)
            .finish()
    }
}
