//! One series: a name, interned tags, and a ring of recent samples capped by count and by age.
//!
//! Recording does not lock: a sample takes the next index with one atomic add and is written into its
//! slot under the slot's sequence number (a seqlock, `slot.rs`), so readers never see a half-written or
//! mixed sample and skip one being written. Slots are allocated in chunks on first use, so a series that
//! records little costs little. The series' mutex is only taken for what needs it: alerts (when a threshold watches the series)
//! and metadata.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use crate::alert::{AlertState, ThresholdRule};
use crate::slot::Slot;

/// Tags of a series, sorted by key, shared by every sample (stored once, not per sample).
pub type Tags = Arc<[(Arc<str>, Arc<str>)]>;

/// Slots allocated together.
const CHUNK: usize = 64;

/// Bytes one stored sample takes: its sequence number, time and value.
pub const BYTES_PER_SAMPLE: usize = std::mem::size_of::<Slot>();

/// One sample as read back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sample {
    /// Monotonic nanoseconds on the monitor's clock.
    pub(crate) at: u64,
    pub(crate) value: f64,
}

/// A fixed-capacity ring of samples, written without locks.
pub(crate) struct Ring {
    chunks: Box<[OnceLock<Box<[Slot]>>]>,
    /// Samples kept: the newest `capacity` indexes.
    capacity: u64,
    /// Slots minus one: the slots are a power of two at least `capacity`, so a slot is found with a mask
    /// instead of a division.
    mask: u64,
    /// Samples ever pushed; the next index.
    head: AtomicU64,
}

impl Ring {
    fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let slots = capacity.next_power_of_two().max(CHUNK);
        let chunks = (0..slots / CHUNK).map(|_| OnceLock::new()).collect();
        Self { chunks, capacity: capacity as u64, mask: slots as u64 - 1, head: AtomicU64::new(0) }
    }

    fn position(&self, index: u64) -> (usize, usize) {
        let slot = (index & self.mask) as usize;
        (slot / CHUNK, slot % CHUNK)
    }

    /// Appends a sample; returns its index.
    pub(crate) fn push(&self, at: u64, value: f64) -> u64 {
        let index = self.head.fetch_add(1, Ordering::Relaxed);
        let (chunk, offset) = self.position(index);
        let slot = &self.chunks[chunk].get_or_init(|| (0..CHUNK).map(|_| Slot::default()).collect())[offset];
        // `false` only when the ring lapped this writer: a newer sample holds the slot, and this one has
        // left the kept range already.
        slot.write(index, at, value);
        index
    }

    /// Sample `index`, if it is still in the ring and fully written.
    pub(crate) fn read(&self, index: u64) -> Option<Sample> {
        let (chunk, offset) = self.position(index);
        let (at, value) = self.chunks[chunk].get()?[offset].read(index)?;
        Some(Sample { at, value })
    }

    /// Samples ever pushed.
    pub(crate) fn total(&self) -> u64 {
        self.head.load(Ordering::Acquire)
    }

    /// Indexes that may still be in the ring, oldest first.
    pub(crate) fn kept(&self) -> std::ops::Range<u64> {
        let head = self.total();
        head.saturating_sub(self.capacity)..head
    }

    /// The kept, fully written samples with their indexes, oldest first, from monotonic time `from` on.
    pub(crate) fn samples_since(&self, from: u64) -> impl Iterator<Item = (u64, Sample)> + '_ {
        self.kept().filter_map(move |index| {
            self.read(index).filter(|sample| sample.at >= from).map(|sample| (index, sample))
        })
    }
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring").field("capacity", &self.capacity).field("total", &self.total()).finish()
    }
}

/// Thresholds matching this series, with the state of each one's alert.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    pub(crate) alerts: Vec<(Arc<ThresholdRule>, AlertState)>,
}

/// What recording needs a lock for.
#[derive(Debug, Default)]
pub(crate) struct SeriesState {
    /// Metadata change points: from the sample of this index on, samples carry this metadata. Only
    /// changes are stored, so repeated metadata costs nothing per sample; at most one per kept sample.
    pub(crate) metadata: VecDeque<(u64, Tags)>,
    pub(crate) watch: Watch,
}

/// A series of samples.
#[derive(Debug)]
pub(crate) struct Series {
    pub(crate) name: Arc<str>,
    pub(crate) tags: Tags,
    pub(crate) unit: Arc<str>,
    pub(crate) ring: Ring,
    /// Sum of every value ever recorded, as `f64` bits (kept for counters and histograms only).
    sum: Option<AtomicU64>,
    /// Per-bucket counts of every value ever recorded (histogram series only).
    pub(crate) histogram: Option<Histogram>,
    /// The threshold-list version the watch was computed for (`u64::MAX`: never).
    pub(crate) watch_version: AtomicU64,
    /// Whether any threshold watches the series (then recording takes the lock to run its alerts).
    pub(crate) watched: AtomicBool,
    /// Whether the newest metadata is not empty (then a plain sample records an empty change point).
    pub(crate) has_metadata: AtomicBool,
    pub(crate) state: Mutex<SeriesState>,
}

/// A histogram's bucket bounds (ascending) and the count of values in each.
#[derive(Debug)]
pub(crate) struct Histogram {
    pub(crate) bounds: Arc<[f64]>,
    /// Per-bucket counts; the export makes them cumulative.
    pub(crate) counts: Box<[AtomicU64]>,
}

impl Histogram {
    /// The bounds with each bucket's count, as read now.
    pub(crate) fn read(&self) -> Vec<(f64, u64)> {
        self.bounds
            .iter()
            .copied()
            .zip(self.counts.iter().map(|count| count.load(Ordering::Relaxed)))
            .collect()
    }
}

impl Series {
    /// A series; a histogram over `bounds` when given; `sum` kept when `keeps_sum`.
    pub(crate) fn new(
        name: Arc<str>,
        tags: Tags,
        unit: Arc<str>,
        capacity: usize,
        bounds: Option<Arc<[f64]>>,
        keeps_sum: bool,
    ) -> Self {
        Self {
            name,
            tags,
            unit,
            ring: Ring::new(capacity),
            sum: (keeps_sum || bounds.is_some()).then(|| AtomicU64::new(0f64.to_bits())),
            histogram: bounds.map(|bounds| Histogram {
                counts: (0..bounds.len()).map(|_| AtomicU64::new(0)).collect(),
                bounds,
            }),
            watch_version: AtomicU64::new(u64::MAX),
            watched: AtomicBool::new(false),
            has_metadata: AtomicBool::new(false),
            state: Mutex::new(SeriesState::default()),
        }
    }

    /// Counts `value` into the histogram and the sum, when the series keeps them.
    pub(crate) fn accumulate(&self, value: f64) {
        if let Some(histogram) = &self.histogram
            && let Some(index) = histogram.bounds.iter().position(|bound| value <= *bound)
        {
            histogram.counts[index].fetch_add(1, Ordering::Relaxed);
        }
        if let (Some(sum), true) = (&self.sum, value.is_finite()) {
            let _ = sum.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + value).to_bits())
            });
        }
    }

    /// The sum of every value ever recorded (0 when the series does not keep it).
    pub(crate) fn sum(&self) -> f64 {
        self.sum.as_ref().map_or(0.0, |sum| f64::from_bits(sum.load(Ordering::Relaxed)))
    }

    /// The newest fully written sample.
    pub(crate) fn latest(&self) -> Option<Sample> {
        self.ring.kept().rev().find_map(|index| self.ring.read(index))
    }
}

impl SeriesState {
    /// The metadata of the sample with index `index`.
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

    /// Drops change points that no kept sample uses (those before the one covering `first_kept`).
    pub(crate) fn prune_metadata(&mut self, first_kept: u64) {
        while self.metadata.get(1).is_some_and(|(from, _)| *from <= first_kept) {
            self.metadata.pop_front();
        }
    }
}
