//! The Generic Cell Rate Algorithm, as nginx `limit_req`, `governor` and redis-cell use it.
//!
//! A quota of `limit` requests per `window` with a burst of `burst` has an emission interval
//! `T = window / limit` and a tolerance `τ = T × (burst − 1)`. Each key keeps one number, its theoretical
//! arrival time (TAT). A request at `now` is allowed when `max(TAT, now) − now ≤ τ`, and then moves the
//! TAT to `max(TAT, now) + T`.
//!
//! **The promise**: in any span of time of length `L`, at most `burst + ⌊L / T⌋` requests of one key are
//! allowed: `burst` back to back from idle, then one per `T`. A key whose TAT is in the past carries no
//! state at all (it behaves exactly like a key never seen), which is what makes eviction safe.

use std::num::NonZeroU32;
use std::time::Duration;

/// Requests per window, with a burst. Both counts are at least one by type, as in `governor`.
///
/// ```
/// use std::num::NonZeroU32;
/// use std::time::Duration;
///
/// let quota = vana_security::Quota::new(NonZeroU32::new(100).unwrap(), Duration::from_secs(60), NonZeroU32::MIN);
/// assert_eq!(quota.limit().get(), 100);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    limit: NonZeroU32,
    window: Duration,
    burst: NonZeroU32,
}

impl Quota {
    /// `limit` per `window`, with bursts of `burst`. A window shorter than `limit` nanoseconds admits one
    /// request a nanosecond.
    pub const fn new(limit: NonZeroU32, window: Duration, burst: NonZeroU32) -> Self {
        Self { limit, window, burst }
    }

    /// Requests per window (the sustained rate).
    pub const fn limit(&self) -> NonZeroU32 {
        self.limit
    }

    /// The window.
    pub const fn window(&self) -> Duration {
        self.window
    }

    /// Requests allowed back to back from idle.
    pub const fn burst(&self) -> NonZeroU32 {
        self.burst
    }

    /// The emission interval `T`, in nanoseconds (at least 1).
    pub(crate) fn emission_nanos(&self) -> u64 {
        let window = u64::try_from(self.window.as_nanos()).unwrap_or(u64::MAX);
        (window / u64::from(self.limit.get())).max(1)
    }

    /// The tolerance `τ = T × (burst − 1)`, in nanoseconds.
    pub(crate) fn tolerance_nanos(&self) -> u64 {
        self.emission_nanos().saturating_mul(u64::from(self.burst.get()) - 1)
    }
}

/// What a rate-limit check decided, with what HTTP needs to say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether the request may go on.
    pub allowed: bool,
    /// The sustained limit per window (for `X-RateLimit-Limit`).
    pub limit: u32,
    /// Requests that could be made right now after this one (for `X-RateLimit-Remaining`).
    pub remaining: u32,
    /// Time until the key is back to its full burst (for `X-RateLimit-Reset`).
    pub reset_after: Duration,
    /// When denied, how long to wait before a request will be allowed (for `Retry-After`).
    pub retry_after: Option<Duration>,
}

/// One GCRA step: the key's stored TAT (`None` or in the past: no state) and `now`, both in nanoseconds
/// of the same clock. Returns the TAT to store (unchanged when denied) and the decision.
pub fn gcra_step(stored_tat: Option<u64>, now: u64, quota: &Quota) -> (u64, RateDecision) {
    let emission = quota.emission_nanos();
    let tolerance = quota.tolerance_nanos();
    let tat = stored_tat.unwrap_or(now).max(now);
    let debt = tat - now;
    if debt > tolerance {
        let wait = debt - tolerance;
        let decision = RateDecision {
            allowed: false,
            limit: quota.limit.get(),
            remaining: 0,
            reset_after: Duration::from_nanos(debt),
            retry_after: Some(Duration::from_nanos(wait)),
        };
        return (tat, decision);
    }
    let new_tat = tat.saturating_add(emission);
    let new_debt = new_tat - now;
    // Room left under the tolerance, in whole emission intervals.
    let room = (tolerance + emission).saturating_sub(new_debt) / emission;
    let decision = RateDecision {
        allowed: true,
        limit: quota.limit.get(),
        remaining: u32::try_from(room).unwrap_or(u32::MAX),
        reset_after: Duration::from_nanos(new_debt),
        retry_after: None,
    };
    (new_tat, decision)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(limit: u32, window: Duration, burst: u32) -> Quota {
        Quota::new(NonZeroU32::new(limit).unwrap(), window, NonZeroU32::new(burst).unwrap())
    }

    const SECOND: u64 = 1_000_000_000;

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let quota = quota(10, Duration::from_secs(10), 3); // T = 1 s, burst 3
        let mut tat = None;
        let mut allowed = Vec::new();
        for _ in 0..5 {
            let (next, decision) = gcra_step(tat, 0, &quota);
            tat = Some(next);
            allowed.push((decision.allowed, decision.remaining));
        }
        assert_eq!(allowed, [(true, 2), (true, 1), (true, 0), (false, 0), (false, 0)]);
        let (_, denied) = gcra_step(tat, 0, &quota);
        assert_eq!(denied.retry_after, Some(Duration::from_secs(1)));
        assert_eq!(denied.reset_after, Duration::from_secs(3));
        let (next, later) = gcra_step(tat, SECOND, &quota);
        assert!(later.allowed);
        let (_, again) = gcra_step(Some(next), SECOND, &quota);
        assert!(!again.allowed);
    }

    #[test]
    fn the_decision_is_the_same_at_any_time() {
        // The burst test again, a long way from the clock's start.
        let quota = quota(10, Duration::from_secs(10), 3);
        let start = 1_000_000 * SECOND;
        let mut tat = None;
        let mut seen = Vec::new();
        for _ in 0..4 {
            let (next, decision) = gcra_step(tat, start, &quota);
            tat = Some(next);
            seen.push((decision.allowed, decision.remaining, decision.reset_after));
        }
        let secs = Duration::from_secs;
        assert_eq!(seen, [(true, 2, secs(1)), (true, 1, secs(2)), (true, 0, secs(3)), (false, 0, secs(3))]);
    }

    #[test]
    fn an_idle_key_is_as_good_as_new() {
        let quota = quota(5, Duration::from_secs(5), 2);
        let (_, fresh) = gcra_step(None, 100 * SECOND, &quota);
        let (_, stale) = gcra_step(Some(3 * SECOND), 100 * SECOND, &quota);
        assert_eq!(fresh, stale);
    }

    #[test]
    fn limits_above_a_thousand_work() {
        let quota = quota(5000, Duration::from_secs(1), 5000);
        let mut tat = None;
        let mut allowed = 0;
        for _ in 0..6000 {
            let (next, decision) = gcra_step(tat, 0, &quota);
            tat = Some(next);
            allowed += u32::from(decision.allowed);
        }
        assert_eq!(allowed, 5000);
    }
}
