//! Where rate-limit state lives: the trait a shared backend (Redis) implements, and the in-memory store.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use parking_lot::Mutex;

use super::clock::{Clock, MonotonicClock};
use super::gcra::{Quota, RateDecision, gcra_step};

/// Rate-limit state for many keys. Implementations apply one GCRA step per call, atomically per key, on
/// their own clock; [`gcra_step`](super::gcra_step) is the reference semantics.
pub trait RateLimitStore: Send + Sync {
    /// Counts one request of `key` against `quota`.
    fn check(&self, key: &str, quota: &Quota) -> RateDecision;

    /// How many keys hold state now (for metrics and tests).
    fn tracked_keys(&self) -> usize;
}

const SHARDS: usize = 64;
/// Least time between two sweeps of a full shard, so a flood of new keys cannot make every request scan.
const SWEEP_INTERVAL_NANOS: u64 = 1_000_000_000;
/// Entries looked at when a full shard must forget an active key.
const EVICTION_SAMPLE: usize = 8;

struct Shard {
    /// Key hash to theoretical arrival time (nanoseconds on the store's clock).
    // The keys are already SipHash values: hashing them again would be wasted work.
    tats: HashMap<u64, u64, nohash_hasher::BuildNoHashHasher<u64>>,
    last_sweep: u64,
}

/// The in-memory store: 16 bytes of state per key in sharded hash maps, at most `max_keys` keys.
///
/// Keys are hashed with SipHash under a random key (an attacker cannot aim collisions), together with
/// the quota, so one identifier under two quotas has two states. A key whose TAT has passed carries no
/// state and is dropped when room is needed; if a shard is full of active keys (a flood of distinct
/// clients past `max_keys`), the sampled key closest to idle is forgotten: it regains at most its burst.
pub struct MemoryStore {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    per_shard_cap: usize,
    clock: Arc<dyn Clock>,
}

impl MemoryStore {
    /// A store for at most `max_keys` keys, on the system's monotonic clock.
    pub fn new(max_keys: usize) -> Self {
        Self::with_clock(max_keys, Arc::new(MonotonicClock::default()))
    }

    /// A store on `clock`.
    pub fn with_clock(max_keys: usize, clock: Arc<dyn Clock>) -> Self {
        let shards = (0..SHARDS)
            .map(|_| Mutex::new(Shard { tats: HashMap::default(), last_sweep: 0 }))
            .collect::<Vec<_>>()
            .into_boxed_slice();
        Self { shards, hasher: RandomState::new(), per_shard_cap: max_keys.div_ceil(SHARDS).max(1), clock }
    }

    /// The most keys the store keeps.
    pub fn max_keys(&self) -> usize {
        self.per_shard_cap * SHARDS
    }

    /// Heap bytes held by the maps (capacity times entry size, plus control bytes): an estimate of the
    /// memory the state takes.
    pub fn memory_bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.lock().tats.capacity() * (std::mem::size_of::<(u64, u64)>() + 1))
            .sum()
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("max_keys", &self.max_keys())
            .field("tracked_keys", &self.tracked_keys())
            .finish()
    }
}

impl Shard {
    fn make_room(&mut self, now: u64, cap: usize) {
        if self.last_sweep == 0 || now.saturating_sub(self.last_sweep) >= SWEEP_INTERVAL_NANOS {
            self.tats.retain(|_, tat| *tat > now);
            self.last_sweep = now.max(1);
        }
        if self.tats.len() >= cap {
            let victim =
                self.tats.iter().take(EVICTION_SAMPLE).min_by_key(|(_, tat)| **tat).map(|(key, _)| *key);
            if let Some(victim) = victim {
                self.tats.remove(&victim);
            }
        }
    }
}

impl RateLimitStore for MemoryStore {
    fn check(&self, key: &str, quota: &Quota) -> RateDecision {
        let hash = self.hasher.hash_one((key, quota.emission_nanos(), quota.tolerance_nanos()));
        // Bits the map itself does not use: its bucket index takes the low bits, its tags the top seven.
        let shard = &self.shards[(hash >> 32) as usize % SHARDS];
        let now = self.clock.now_nanos();
        let mut shard = shard.lock();
        let stored = shard.tats.get(&hash).copied();
        let (tat, decision) = gcra_step(stored, now, quota);
        if decision.allowed {
            if stored.is_none() && shard.tats.len() >= self.per_shard_cap {
                shard.make_room(now, self.per_shard_cap);
            }
            shard.tats.insert(hash, tat);
        }
        decision
    }

    fn tracked_keys(&self) -> usize {
        self.shards.iter().map(|shard| shard.lock().tats.len()).sum()
    }
}
