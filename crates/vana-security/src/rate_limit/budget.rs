//! Token budgets: so many tokens per window for one identity (a user, an app), counted from what the
//! answers report. A budget is a bucket the size of the budget that empties at budget/window, as a rate
//! limit refills: spending never refuses (the tokens were used), and an identity at or past its budget waits
//! until one token's room is free again.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::clock::Clock;

/// A budget: `tokens` per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenQuota {
    tokens: NonZeroU64,
    window_nanos: u64,
    /// The time one token takes to free (at least 1 ns).
    per_token_nanos: u64,
}

impl TokenQuota {
    /// `tokens` per `window`.
    pub fn new(tokens: NonZeroU64, window: Duration) -> Self {
        let window_nanos = u64::try_from(window.as_nanos()).unwrap_or(u64::MAX).max(1);
        Self { tokens, window_nanos, per_token_nanos: (window_nanos / tokens.get()).max(1) }
    }

    /// The budget's tokens.
    pub fn tokens(&self) -> u64 {
        self.tokens.get()
    }

    /// The budget's window.
    pub fn window(&self) -> Duration {
        Duration::from_nanos(self.window_nanos)
    }

    /// The time one token takes to free.
    pub fn per_token(&self) -> Duration {
        Duration::from_nanos(self.per_token_nanos)
    }

    /// The wait of an identity whose bucket empties at `empty_at`, at `now`: until one token's room is
    /// free (zero: it is).
    pub fn wait(&self, empty_at: u64, now: u64) -> Duration {
        let needed = empty_at.saturating_sub(now).saturating_add(self.per_token_nanos);
        Duration::from_nanos(needed.saturating_sub(self.window_nanos))
    }

    /// When the bucket that empties at `empty_at` empties once `tokens` more are in it, at `now`.
    pub fn spend(&self, empty_at: u64, now: u64, tokens: u64) -> u64 {
        empty_at.max(now).saturating_add(tokens.saturating_mul(self.per_token_nanos))
    }
}

/// Where budgets are counted: this process, or Redis for a fleet.
pub trait BudgetLedger: Send + Sync {
    /// How long `identity` waits before its next request under `quota` (zero: it may go on).
    fn wait(&self, identity: &str, quota: &TokenQuota) -> Duration;

    /// Counts `tokens` that `identity` used.
    fn spend(&self, identity: &str, quota: &TokenQuota, tokens: u64);
}

/// The ledger in this process: when each identity's bucket empties, at most `max_identities` of them. An
/// empty bucket carries nothing and is forgotten first; when every tracked identity is spending, the one
/// whose bucket empties soonest is forgotten (it regains at most what it had left).
pub struct MemoryLedger {
    empty_at: Mutex<HashMap<u64, u64, nohash_hasher::BuildNoHashHasher<u64>>>,
    hasher: RandomState,
    max_identities: usize,
    clock: Arc<dyn Clock>,
}

impl MemoryLedger {
    /// A ledger of at most `max_identities` on `clock`.
    pub fn new(max_identities: usize, clock: Arc<dyn Clock>) -> Self {
        Self {
            empty_at: Mutex::new(HashMap::default()),
            hasher: RandomState::new(),
            max_identities: max_identities.max(1),
            clock,
        }
    }

    /// Identities tracked now.
    pub fn tracked(&self) -> usize {
        self.empty_at.lock().len()
    }

    fn key(&self, identity: &str, quota: &TokenQuota) -> u64 {
        self.hasher.hash_one((identity, quota))
    }
}

impl std::fmt::Debug for MemoryLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryLedger").field("tracked", &self.tracked()).finish_non_exhaustive()
    }
}

impl BudgetLedger for MemoryLedger {
    fn wait(&self, identity: &str, quota: &TokenQuota) -> Duration {
        let now = self.clock.now_nanos();
        let empty_at = self.empty_at.lock().get(&self.key(identity, quota)).copied().unwrap_or(now);
        quota.wait(empty_at, now)
    }

    fn spend(&self, identity: &str, quota: &TokenQuota, tokens: u64) {
        let now = self.clock.now_nanos();
        let key = self.key(identity, quota);
        let mut table = self.empty_at.lock();
        if !table.contains_key(&key) && table.len() >= self.max_identities {
            table.retain(|_, empty_at| *empty_at > now);
            if table.len() >= self.max_identities
                && let Some(soonest) =
                    table.iter().min_by_key(|(_, empty_at)| **empty_at).map(|(key, _)| *key)
            {
                table.remove(&soonest);
            }
        }
        let empty_at = table.entry(key).or_insert(now);
        *empty_at = quota.spend(*empty_at, now, tokens);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;

    const S: Duration = Duration::from_secs(1);

    fn ledger(max: usize) -> (MemoryLedger, ManualClock) {
        let clock = ManualClock::new();
        (MemoryLedger::new(max, Arc::new(clock.clone())), clock)
    }

    #[test]
    fn a_budget_spent_waits_until_one_token_is_free_again() {
        let (ledger, clock) = ledger(10);
        let quota = TokenQuota::new(NonZeroU64::new(100).unwrap(), 60 * S);
        assert_eq!(ledger.wait("ana", &quota), Duration::ZERO);
        ledger.spend("ana", &quota, 80);
        assert_eq!(ledger.wait("ana", &quota), Duration::ZERO, "80 of 100");
        ledger.spend("ana", &quota, 80);
        // 160 in a bucket of 100 that frees 100 a minute: 60 over, plus one token's 0.6 s.
        assert_eq!(ledger.wait("ana", &quota), Duration::from_millis(36_600));
        assert_eq!(ledger.wait("bob", &quota), Duration::ZERO, "budgets are per identity");
        clock.advance(Duration::from_millis(36_600));
        assert_eq!(ledger.wait("ana", &quota), Duration::ZERO, "refilled");
        clock.advance(120 * S);
        ledger.spend("ana", &quota, 100);
        assert!(ledger.wait("ana", &quota) > Duration::ZERO, "exactly the budget: spent");
    }

    #[test]
    fn the_ledger_keeps_at_most_its_cap_forgetting_empty_buckets_first() {
        let (ledger, clock) = ledger(3);
        let quota = TokenQuota::new(NonZeroU64::new(10).unwrap(), 10 * S);
        ledger.spend("a", &quota, 1);
        clock.advance(5 * S);
        for identity in ["b", "c", "d", "e"] {
            ledger.spend(identity, &quota, 100);
        }
        assert_eq!(ledger.tracked(), 3);
        assert!(ledger.wait("e", &quota) > Duration::ZERO, "the newest spender is tracked");
    }

    #[test]
    fn huge_spends_saturate_instead_of_wrapping() {
        let (ledger, _) = ledger(2);
        let quota = TokenQuota::new(NonZeroU64::new(1).unwrap(), Duration::from_secs(30 * 24 * 3600));
        ledger.spend("x", &quota, u64::MAX);
        ledger.spend("x", &quota, u64::MAX);
        assert!(ledger.wait("x", &quota) > Duration::ZERO);
    }
}
