//! The rate limiter keeps its promise, under concurrency too, with a bounded key table.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use vana_security::{ManualClock, MemoryStore, RateLimitStore, RateLimiter};

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// In any span of length L, at most burst + ⌊L / T⌋ requests are allowed.
    #[test]
    fn no_span_lets_through_more_than_promised(
        limit in 1u32..3000,
        window_ms in 1u64..120_000,
        burst in 1u32..60,
        gaps in prop::collection::vec(0u64..2_000_000_000, 1..300),
    ) {
        let clock = ManualClock::new();
        let store = MemoryStore::with_clock(16, Arc::new(clock.clone()));
        let quota = quota(limit, Duration::from_millis(window_ms), burst);
        let emission = (window_ms * 1_000_000 / u64::from(limit)).max(1);
        let mut now = 0u64;
        let mut allowed_at = Vec::new();
        for gap in gaps {
            now += gap % (emission * 4 + 1);
            clock.set_nanos(now);
            let decision = store.check("client", &quota);
            if decision.allowed {
                allowed_at.push(now);
                prop_assert!(decision.remaining < burst);
            } else {
                prop_assert!(decision.retry_after.is_some_and(|wait| wait > Duration::ZERO));
            }
        }
        for (i, start) in allowed_at.iter().enumerate() {
            for (j, end) in allowed_at.iter().enumerate().skip(i) {
                let count = (j - i + 1) as u64;
                let promised = u64::from(burst) + (end - start) / emission;
                prop_assert!(count <= promised, "{count} allowed in {} ns, promised {promised}", end - start);
            }
        }
    }

    /// Denied requests are told the truth: waiting retry_after makes the next one pass.
    #[test]
    fn retry_after_is_exact(limit in 1u32..100, burst in 1u32..10) {
        let clock = ManualClock::new();
        let store = MemoryStore::with_clock(16, Arc::new(clock.clone()));
        let quota = quota(limit, Duration::from_secs(10), burst);
        let mut denied = None;
        for _ in 0..=burst {
            let decision = store.check("k", &quota);
            if !decision.allowed {
                denied = decision.retry_after;
            }
        }
        let wait = denied.expect("the request past the burst is denied");
        clock.advance(wait - Duration::from_nanos(1));
        prop_assert!(!store.check("k", &quota).allowed);
        clock.advance(Duration::from_nanos(1));
        prop_assert!(store.check("k", &quota).allowed);
    }
}

#[test]
fn concurrent_callers_get_exactly_the_burst() {
    let clock = ManualClock::new();
    let store = Arc::new(MemoryStore::with_clock(1024, Arc::new(clock.clone())));
    let quota = quota(60, Duration::from_secs(60), 25);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || (0..500).filter(|_| store.check("shared", &quota).allowed).count())
        })
        .collect();
    let allowed: usize = threads.into_iter().map(|thread| thread.join().unwrap()).sum();
    assert_eq!(allowed, 25);
    clock.advance(Duration::from_secs(3)); // three emission intervals
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || (0..100).filter(|_| store.check("shared", &quota).allowed).count())
        })
        .collect();
    let allowed: usize = threads.into_iter().map(|thread| thread.join().unwrap()).sum();
    assert_eq!(allowed, 3);
}

#[test]
fn limits_above_a_thousand_and_per_call_quotas() {
    let mut config = vana_config::RateLimiting::default();
    config.burst_limit = 5000;
    let limiter = RateLimiter::with_store(&config, MemoryStore::with_clock(16, Arc::new(ManualClock::new())));
    let allowed = (0..7000)
        .filter(|_| {
            limiter.check_rate_limit("bulk", NonZeroU32::new(5000).unwrap(), Duration::from_secs(60)).allowed
        })
        .count();
    assert_eq!(allowed, 5000);
    // Another quota for the same identifier keeps its own state.
    assert!(limiter.check_rate_limit("bulk", NonZeroU32::new(10).unwrap(), Duration::from_secs(60)).allowed);
    let decision = limiter.check("bulk");
    assert!(decision.allowed);
    assert_eq!(decision.limit, 100);
}

#[test]
fn the_key_table_is_bounded_under_rotating_addresses() {
    let clock = ManualClock::new();
    let store = MemoryStore::with_clock(100_000, Arc::new(clock.clone()));
    let quota = quota(100, Duration::from_secs(60), 10);
    for n in 0..1_000_000u32 {
        let address = std::net::Ipv4Addr::from(n).to_string();
        assert!(store.check(&address, &quota).allowed);
    }
    assert!(store.tracked_keys() <= store.max_keys(), "{} keys", store.tracked_keys());
    assert!(store.tracked_keys() >= store.max_keys() * 9 / 10);
    // Once idle, old keys carry no state and make room without eviction of active ones.
    clock.advance(Duration::from_secs(60));
    for n in 0..1000u32 {
        store.check(&format!("new-{n}"), &quota);
    }
    assert!(store.tracked_keys() <= store.max_keys());
}

#[test]
fn a_million_keys_cost_under_a_hundred_bytes_each() {
    let store = MemoryStore::with_clock(1_000_000, Arc::new(ManualClock::new()));
    let quota = quota(100, Duration::from_secs(60), 10);
    for n in 0..1_000_000u32 {
        store.check(&n.to_string(), &quota);
    }
    let keys = store.tracked_keys();
    assert!(keys >= 990_000, "{keys}");
    let per_key = store.memory_bytes() / keys;
    assert!(per_key <= 100, "{per_key} bytes per key");
    println!("{per_key} bytes per key at {keys} keys");
}

/// A quota from plain counts (each at least 1).
fn quota(limit: u32, window: std::time::Duration, burst: u32) -> vana_security::Quota {
    let count = |n: u32| std::num::NonZeroU32::new(n).expect("a count of at least 1");
    vana_security::Quota::new(count(limit), window, count(burst))
}
