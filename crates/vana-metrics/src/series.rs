//! One series: a name, interned tags, and a ring of recent samples capped by count and by age.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::alert::{AlertState, ThresholdRule};

/// Tags of a series, sorted by key, shared by every sample (stored once, not per sample).
pub type Tags = Arc<[(Arc<str>, Arc<str>)]>;

/// One stored sample: 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sample {
    /// Monotonic nanoseconds on the monitor's clock.
    pub(crate) at: u64,
    pub(crate) value: f64,
}

/// Thresholds matching this series, with the state of each one's alert.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    /// The version of the threshold list this was computed from.
    pub(crate) version: u64,
    pub(crate) alerts: Vec<(Arc<ThresholdRule>, AlertState)>,
}

#[derive(Debug)]
pub(crate) struct SeriesState {
    pub(crate) samples: VecDeque<Sample>,
    /// Samples ever recorded (not only those kept).
    pub(crate) total: u64,
    /// Sum of every value ever recorded (for counters and histograms).
    pub(crate) sum: f64,
    /// Cumulative counts per histogram bucket (response times only), all samples ever.
    pub(crate) buckets: Option<Box<[u64]>>,
    /// Metadata change points: from the sample of this index (counted from the first ever) on, samples
    /// carry this metadata. Only changes are stored, so repeated metadata costs nothing per sample; at most
    /// one entry per kept sample.
    pub(crate) metadata: VecDeque<(u64, Tags)>,
    pub(crate) watch: Watch,
}

/// A series of samples.
#[derive(Debug)]
pub(crate) struct Series {
    pub(crate) name: Arc<str>,
    pub(crate) tags: Tags,
    pub(crate) unit: Arc<str>,
    pub(crate) state: Mutex<SeriesState>,
    capacity: usize,
}

impl Series {
    /// A series that also counts its values into `bucket_count` histogram buckets, when given.
    pub(crate) fn with_buckets(
        name: Arc<str>,
        tags: Tags,
        unit: Arc<str>,
        capacity: usize,
        bucket_count: Option<usize>,
    ) -> Self {
        let state = SeriesState {
            samples: VecDeque::new(),
            total: 0,
            sum: 0.0,
            buckets: bucket_count.map(|count| vec![0; count].into_boxed_slice()),
            metadata: VecDeque::new(),
            watch: Watch { version: u64::MAX, alerts: Vec::new() },
        };
        Self { name, tags, unit, state: Mutex::new(state), capacity: capacity.max(1) }
    }

    /// Appends a sample, dropping those past the count cap or older than `oldest`; counts it into the
    /// histogram buckets whose bound it does not exceed.
    pub(crate) fn push(
        state: &mut SeriesState,
        capacity: usize,
        sample: Sample,
        oldest: u64,
        bounds: &[f64],
    ) {
        if let Some(buckets) = state.buckets.as_mut() {
            // Buckets hold per-bucket counts; the export makes them cumulative.
            if let Some(index) = bounds.iter().position(|bound| sample.value <= *bound) {
                buckets[index] += 1;
            }
        }
        if sample.value.is_finite() {
            state.sum += sample.value;
        }
        while state.samples.front().is_some_and(|front| front.at < oldest) {
            state.samples.pop_front();
        }
        if state.samples.len() >= capacity {
            state.samples.pop_front();
        }
        state.samples.push_back(sample);
        state.total += 1;
        // Change points older than the first kept sample's no longer apply to anything.
        if state.metadata.len() > 1 {
            let first_kept = state.total - state.samples.len() as u64;
            while state.metadata.get(1).is_some_and(|(from, _)| *from <= first_kept) {
                state.metadata.pop_front();
            }
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }
}

impl SeriesState {
    /// The metadata of the sample with index `index` (counted from the first ever).
    pub(crate) fn metadata_of(&self, index: u64) -> Option<&Tags> {
        self.metadata.iter().rev().find(|(from, _)| *from <= index).map(|(_, metadata)| metadata)
    }

    /// Whether the newest metadata equals `metadata` (absent counts as empty).
    pub(crate) fn metadata_is(&self, metadata: &[(&str, &str)]) -> bool {
        match self.metadata.back() {
            Some((_, current)) => {
                current.len() == metadata.len()
                    && current.iter().zip(metadata).all(|((k, v), (mk, mv))| &**k == *mk && &**v == *mv)
            }
            None => metadata.is_empty(),
        }
    }
}
