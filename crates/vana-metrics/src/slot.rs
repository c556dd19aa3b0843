//! One sample's slot in a ring: a seqlock that many writers and readers share without a lock.
//!
//! The sequence number says who holds the slot: `2 × index + 1` while sample `index` is written,
//! `2 × index + 2` once it is. A writer claims the slot by moving the number from an even value below its
//! own to its odd one, so two writers never write the same slot at once: when a ring laps, the writer of
//! the newer index waits for the older one to finish (a few instructions, unless that thread was
//! preempted), and the writer of an older index gives up when a newer sample already took the slot (its
//! sample has left the ring anyway). A reader takes a sample only when the number is the one it expects
//! before and after reading, so it never sees half of one sample and half of another.
//!
//! Under `--cfg loom` the slot runs on loom's atomics; `cargo xtask loom` explores every interleaving of
//! two lapping writers and a reader.

#[cfg(loom)]
use loom::{
    hint::spin_loop,
    sync::atomic::{AtomicU64, Ordering, fence},
    thread::yield_now,
};
#[cfg(not(loom))]
use std::{
    hint::spin_loop,
    sync::atomic::{AtomicU64, Ordering, fence},
    thread::yield_now,
};

/// Spins before a waiting writer gives its core away: enough for a write in progress, not for a writer
/// that was preempted in the middle of one.
const SPINS_BEFORE_YIELD: u32 = 64;

/// One stored sample: its sequence number, time and value (24 bytes).
#[derive(Debug, Default)]
pub(crate) struct Slot {
    seq: AtomicU64,
    at: AtomicU64,
    value: AtomicU64,
}

impl Slot {
    /// Writes sample `index` unless a newer sample holds the slot; whether it was written.
    pub(crate) fn write(&self, index: u64, at: u64, value: f64) -> bool {
        let writing = 2 * index + 1;
        let mut spins = 0u32;
        loop {
            let current = self.seq.load(Ordering::Acquire);
            if current >= writing {
                return false;
            }
            if current % 2 == 1 {
                // An older sample is being written here: it is done in a few instructions, unless its
                // writer lost its core, which then needs it back.
                spins += 1;
                if spins < SPINS_BEFORE_YIELD {
                    spin_loop()
                } else {
                    yield_now()
                }
                continue;
            }
            if self.seq.compare_exchange_weak(current, writing, Ordering::Acquire, Ordering::Relaxed).is_ok()
            {
                break;
            }
        }
        // The odd number is visible before the data changes (a reader then sees the change).
        fence(Ordering::Release);
        self.at.store(at, Ordering::Relaxed);
        self.value.store(value.to_bits(), Ordering::Relaxed);
        self.seq.store(writing + 1, Ordering::Release);
        true
    }

    /// Sample `index` as `(at, value)`, if it is here and fully written.
    pub(crate) fn read(&self, index: u64) -> Option<(u64, f64)> {
        let written = 2 * index + 2;
        if self.seq.load(Ordering::Acquire) != written {
            return None;
        }
        let at = self.at.load(Ordering::Relaxed);
        let value = self.value.load(Ordering::Relaxed);
        // The data is read before the number is read again.
        fence(Ordering::Acquire);
        (self.seq.load(Ordering::Relaxed) == written).then(|| (at, f64::from_bits(value)))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_newer_sample_replaces_an_older_one_never_the_reverse() {
        let slot = Slot::default();
        assert!(slot.read(0).is_none());
        assert!(slot.write(0, 10, 1.0));
        assert_eq!(slot.read(0), Some((10, 1.0)));
        assert!(slot.write(64, 20, 2.0));
        assert_eq!((slot.read(0), slot.read(64)), (None, Some((20, 2.0))));
        assert!(!slot.write(0, 30, 3.0), "a late writer of an older index gives up");
        assert_eq!(slot.read(64), Some((20, 2.0)));
    }

    #[test]
    fn lapping_writers_and_readers_never_mix_two_samples() {
        // Each sample's time and value encode its index: a mixed read would not agree with itself.
        let slot = std::sync::Arc::new(Slot::default());
        let writers: Vec<_> = (0..2u64)
            .map(|writer| {
                let slot = std::sync::Arc::clone(&slot);
                std::thread::spawn(move || {
                    for round in 0..20_000u64 {
                        let index = round * 2 + writer;
                        slot.write(index, index, index as f64);
                    }
                })
            })
            .collect();
        for round in 0..40_000u64 {
            if let Some((at, value)) = slot.read(round) {
                assert_eq!(value, at as f64);
                assert_eq!(at, round);
            }
        }
        for writer in writers {
            writer.join().unwrap();
        }
        assert!(slot.read(39_999).is_some(), "the newest sample stays");
    }
}

#[cfg(all(test, loom))]
mod loom_model {
    use loom::sync::Arc;

    use super::*;

    /// Two writers whose indexes share the slot (a ring that lapped) and a reader of each index: every
    /// interleaving leaves the newer sample, and a read returns one whole sample or none.
    #[test]
    fn lapping_writers_and_a_reader() {
        loom::model(|| {
            let slot = Arc::new(Slot::default());
            let older = {
                let slot = Arc::clone(&slot);
                loom::thread::spawn(move || slot.write(1, 1, 1.0))
            };
            let newer = {
                let slot = Arc::clone(&slot);
                loom::thread::spawn(move || slot.write(65, 65, 65.0))
            };
            for index in [1, 65] {
                if let Some((at, value)) = slot.read(index) {
                    assert_eq!((at, value), (index, index as f64));
                }
            }
            older.join().unwrap();
            assert!(newer.join().unwrap(), "the newer sample is always written");
            assert_eq!(slot.read(65), Some((65, 65.0)));
            assert_eq!(slot.read(1), None);
        });
    }
}
