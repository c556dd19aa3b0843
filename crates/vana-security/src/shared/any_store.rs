//! `SharedStore`: the rate-limit store of a `SecurityManager`, in memory or in Redis.

use crate::rate_limit::{MemoryStore, Quota, RateDecision, RateLimitStore};

/// The store the configuration chose (`backend.type`).
pub enum SharedStore {
    /// This instance's memory.
    Memory(MemoryStore),
    /// Redis, with a local fallback (feature `redis`).
    #[cfg(feature = "redis")]
    Redis(super::RedisStore),
}

impl std::fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SharedStore::Memory(_) => f.write_str("SharedStore::Memory"),
            #[cfg(feature = "redis")]
            SharedStore::Redis(_) => f.write_str("SharedStore::Redis"),
        }
    }
}

impl SharedStore {
    /// Whether checks make a network round trip (callers on an async runtime use
    /// [`check_async`](Self::check_async)).
    pub fn is_remote(&self) -> bool {
        !matches!(self, SharedStore::Memory(_))
    }

    /// [`check`](RateLimitStore::check) without holding a thread while Redis answers (on a Tokio runtime);
    /// in memory, the same check.
    pub async fn check_async(&self, key: &str, quota: &Quota) -> RateDecision {
        match self {
            SharedStore::Memory(store) => store.check(key, quota),
            #[cfg(feature = "redis")]
            SharedStore::Redis(store) => store.check_async(key, quota).await,
        }
    }
}

impl RateLimitStore for SharedStore {
    fn check(&self, key: &str, quota: &Quota) -> RateDecision {
        match self {
            SharedStore::Memory(store) => store.check(key, quota),
            #[cfg(feature = "redis")]
            SharedStore::Redis(store) => store.check(key, quota),
        }
    }

    fn tracked_keys(&self) -> usize {
        match self {
            SharedStore::Memory(store) => store.tracked_keys(),
            #[cfg(feature = "redis")]
            SharedStore::Redis(store) => store.tracked_keys(),
        }
    }
}
