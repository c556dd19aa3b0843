//! Error rates per operation over a sliding window, from `record_response_time`'s success flag.

use std::collections::HashMap;

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

/// Calls and errors per operation over the last window.
pub(crate) struct ErrorRates {
    bucket_nanos: u64,
    min_calls: u64,
    max_operations: usize,
    operations: Mutex<HashMap<String, [Bucket; BUCKETS]>>,
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

    /// Counts one call of `operation`; returns its error rate in percent over the window once the window
    /// holds at least `min_calls` calls.
    pub(crate) fn observe(&self, operation: &str, success: bool, now: u64) -> Option<f64> {
        let slot = now / self.bucket_nanos;
        let mut operations = self.operations.lock();
        if !operations.contains_key(operation) {
            if operations.len() >= self.max_operations {
                return None;
            }
            operations.insert(operation.to_owned(), [Bucket::default(); BUCKETS]);
        }
        let buckets = operations.get_mut(operation)?;
        let bucket = &mut buckets[(slot % BUCKETS as u64) as usize];
        if bucket.slot != slot {
            *bucket = Bucket { slot, calls: 0, errors: 0 };
        }
        bucket.calls += 1;
        bucket.errors += u64::from(!success);
        let oldest = slot.saturating_sub(BUCKETS as u64 - 1);
        let (calls, errors) = buckets
            .iter()
            .filter(|bucket| bucket.slot >= oldest && bucket.calls > 0)
            .fold((0, 0), |(calls, errors), bucket| (calls + bucket.calls, errors + bucket.errors));
        (calls >= self.min_calls).then(|| 100.0 * errors as f64 / calls as f64)
    }
}
