//! Error rates per operation over a sliding window, from `record_response_time`'s success flag.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::monitor::MonitorOptions;

/// Buckets a window is split into: the rate moves in steps of a tenth of the window.
const BUCKETS: usize = 10;

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    /// Index of the bucket's time slot (monotonic nanoseconds / bucket length).
    slot: u64,
    calls: u64,
    errors: u64,
}

#[derive(Debug, Default)]
struct WindowState {
    buckets: [Bucket; BUCKETS],
    /// Sums over the buckets still in the window, kept up to date so a call costs O(1).
    calls: u64,
    errors: u64,
    /// The newest slot seen.
    newest: u64,
    /// The rate last reported and the slot it was reported in.
    last: Option<(f64, u64)>,
}

/// Calls and errors of one operation over the last window.
#[derive(Debug)]
pub(crate) struct ErrorWindow {
    bucket_nanos: u64,
    min_calls: u64,
    state: Mutex<WindowState>,
}

impl ErrorWindow {
    /// Counts one call; returns the error rate in percent when it should be recorded: the window holds at
    /// least `min_calls` calls, and the rate changed or a new bucket began (a steady rate is not recorded on
    /// every call).
    pub(crate) fn observe(&self, success: bool, now: u64) -> Option<f64> {
        let slot = now / self.bucket_nanos;
        let mut state = self.state.lock();
        if slot > state.newest {
            // Buckets that left the window no longer count.
            let oldest = slot.saturating_sub(BUCKETS as u64 - 1);
            let (mut calls, mut errors) = (state.calls, state.errors);
            for bucket in &mut state.buckets {
                if bucket.calls > 0 && bucket.slot < oldest {
                    calls -= bucket.calls;
                    errors -= bucket.errors;
                    *bucket = Bucket::default();
                }
            }
            (state.calls, state.errors, state.newest) = (calls, errors, slot);
        }
        let bucket = &mut state.buckets[(slot % BUCKETS as u64) as usize];
        if bucket.slot != slot {
            *bucket = Bucket { slot, calls: 0, errors: 0 };
        }
        bucket.calls += 1;
        bucket.errors += u64::from(!success);
        state.calls += 1;
        state.errors += u64::from(!success);
        let (calls, errors) = (state.calls, state.errors);
        if calls < self.min_calls {
            return None;
        }
        let rate = 100.0 * errors as f64 / calls as f64;
        match state.last {
            Some((last, last_slot)) if last == rate && last_slot == slot => None,
            _ => {
                state.last = Some((rate, slot));
                Some(rate)
            }
        }
    }
}

/// Error windows by operation name, at most `max_series` of them.
pub(crate) struct ErrorRates {
    bucket_nanos: u64,
    min_calls: u64,
    max_operations: usize,
    operations: Mutex<HashMap<String, Arc<ErrorWindow>>>,
}

impl ErrorRates {
    pub(crate) fn new(options: &MonitorOptions) -> Self {
        let window = u64::try_from(options.error_rate_window.as_nanos()).unwrap_or(u64::MAX);
        Self {
            bucket_nanos: (window / BUCKETS as u64).max(1),
            min_calls: options.error_rate_min_calls.max(1),
            max_operations: options.max_series,
            operations: Mutex::new(HashMap::new()),
        }
    }

    /// The window of `operation`; `None` past the cap on operations.
    pub(crate) fn window(&self, operation: &str) -> Option<Arc<ErrorWindow>> {
        let mut operations = self.operations.lock();
        if let Some(window) = operations.get(operation) {
            return Some(Arc::clone(window));
        }
        if operations.len() >= self.max_operations {
            return None;
        }
        let window = Arc::new(ErrorWindow {
            bucket_nanos: self.bucket_nanos,
            min_calls: self.min_calls,
            state: Mutex::default(),
        });
        operations.insert(operation.to_owned(), Arc::clone(&window));
        Some(window)
    }
}
