//! `RateLimiter`: the configured quota over a store.

use std::num::NonZeroU32;
use std::time::Duration;

use vana_config::RateLimiting;

use super::gcra::{Quota, RateDecision};
use super::store::{MemoryStore, RateLimitStore};

/// Checks requests against the configured quota (or one given per call), on any [`RateLimitStore`].
///
/// ```
/// use vana_security::RateLimiter;
///
/// let limiter = RateLimiter::from_config(&vana_config::RateLimiting::default()); // 100/min, burst 10
/// let decisions: Vec<bool> = (0..12).map(|_| limiter.check("203.0.113.9").allowed).collect();
/// assert_eq!(decisions.iter().filter(|allowed| **allowed).count(), 10);
/// ```
#[derive(Debug)]
pub struct RateLimiter<S = MemoryStore> {
    store: S,
    quota: Quota,
}

impl RateLimiter<MemoryStore> {
    /// `default_limit` per `window_seconds` with bursts of `burst_limit`, in memory for at most
    /// `max_tracked_clients` clients.
    pub fn from_config(config: &RateLimiting) -> Self {
        let max_keys = usize::try_from(config.max_tracked_clients).unwrap_or(usize::MAX);
        Self::with_store(config, MemoryStore::new(max_keys))
    }
}

impl<S: RateLimitStore> RateLimiter<S> {
    /// The configured quota over `store` (a shared backend, or a store on a test clock).
    pub fn with_store(config: &RateLimiting, store: S) -> Self {
        // Configuration validation keeps both at least 1.
        let at_least_one = |count: u32| NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN);
        let quota =
            Quota::new(at_least_one(config.default_limit), config.window(), at_least_one(config.burst_limit));
        Self { store, quota }
    }

    /// Counts one request of `identifier` against the configured quota.
    pub fn check(&self, identifier: &str) -> RateDecision {
        self.store.check(identifier, &self.quota)
    }

    /// The specification's call: `limit` per `window` for `identifier`, with the configured burst (at
    /// most `limit`). Each distinct (limit, window) keeps its own state.
    pub fn check_rate_limit(&self, identifier: &str, limit: NonZeroU32, window: Duration) -> RateDecision {
        self.store.check(identifier, &Quota::new(limit, window, self.quota.burst().min(limit)))
    }

    /// Counts one request against any quota.
    pub fn check_quota(&self, identifier: &str, quota: &Quota) -> RateDecision {
        self.store.check(identifier, quota)
    }

    /// The configured quota.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }
}

impl RateLimiter<crate::SharedStore> {
    /// [`check_quota`](Self::check_quota) without holding a thread while a shared store answers (on a Tokio
    /// runtime).
    pub async fn check_quota_async(&self, identifier: &str, quota: &Quota) -> RateDecision {
        self.store.check_async(identifier, quota).await
    }

    /// [`check`](Self::check) without holding a thread while a shared store answers (on a Tokio runtime).
    pub async fn check_async(&self, identifier: &str) -> RateDecision {
        self.store.check_async(identifier, &self.quota).await
    }
}
