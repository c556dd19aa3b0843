//! Shared state in a real Redis (Debian's `redis-server`, started here on a free loopback port without
//! persistence): same decisions as the memory store, one limit for two instances, blocks seen by every
//! instance, the failure behaviours while Redis is down, and recovery.

#![cfg(feature = "redis")]

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use vana_config::{Backend, FailureMode, SecurityPolicies};
use vana_security::{
    ManualClock, MemoryStore, RateLimitStore, RedisBackend, RedisStore, SecurityEvent, SecurityManager,
    Severity,
};
use vana_testkit::RedisServer;

/// The harness's server, with the backend settings these tests use.
trait Backends {
    fn backend(&self, prefix: &str, on_failure: FailureMode) -> Arc<RedisBackend>;

    /// A fleet member: a manager with `policies`, sharing keys under `prefix`, local fallback while Redis
    /// is away.
    fn member(&self, prefix: &str, policies: &SecurityPolicies) -> SecurityManager {
        SecurityManager::with_redis(policies, self.backend(prefix, FailureMode::LocalFallback)).unwrap()
    }
}

impl Backends for RedisServer {
    fn backend(&self, prefix: &str, on_failure: FailureMode) -> Arc<RedisBackend> {
        let mut config = Backend::default();
        config.key_prefix = prefix.to_owned();
        config.on_failure = on_failure;
        config.retry_interval_ms = 100;
        config.block_cache_ms = 100;
        config.command_timeout_ms = 500;
        config.events_stream_maxlen = 5;
        Arc::new(RedisBackend::new(&config, &self.url()).unwrap())
    }
}

fn unique(name: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!("t{}-{name}-{}:", std::process::id(), NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// On the same requests at the same times, the Redis store decides exactly as the memory store.
    #[test]
    fn redis_and_memory_decide_alike(
        emission_us in 1u64..2_000_000,
        limit in 1u32..50,
        burst in 1u32..20,
        steps in proptest::collection::vec((0usize..3, 0u64..3_000_000), 1..60),
    ) {
        let redis = shared_redis();
        let store = RedisStore::new(redis.backend(&unique("prop"), FailureMode::FailOpen), MemoryStore::new(100));
        let clock = ManualClock::new();
        let memory = MemoryStore::with_clock(100, Arc::new(clock.clone()));
        let quota = quota(limit, Duration::from_micros(emission_us * u64::from(limit)), burst);
        let mut now_us = 1_000_000u64;
        for (key, advance) in steps {
            now_us += advance;
            clock.set_nanos(now_us * 1000);
            let key = format!("client-{key}");
            let expected = memory.check(&key, &quota);
            let got = store.check_at(&key, &quota, Some(now_us));
            prop_assert_eq!(got, Some(expected));
        }
    }
}

/// One Redis for the property test's cases (each uses its own key prefix).
fn shared_redis() -> &'static RedisServer {
    static REDIS: std::sync::OnceLock<RedisServer> = std::sync::OnceLock::new();
    REDIS.get_or_init(RedisServer::start_shared)
}

fn client(n: u8) -> IpAddr {
    IpAddr::from([198, 51, 100, n])
}

fn policies(burst: u32) -> SecurityPolicies {
    let mut policies = SecurityPolicies::default();
    policies.rate_limiting.default_limit = burst;
    policies.rate_limiting.window_seconds = 3600;
    policies.rate_limiting.burst_limit = burst;
    policies
}

#[test]
fn two_instances_share_one_limit_and_one_blocklist_and_the_event_stream() {
    let redis = RedisServer::start();
    let prefix = unique("fleet");
    let a = redis.member(&prefix, &policies(5));
    let b = redis.member(&prefix, &policies(5));
    // Ten requests of one client, alternating between the instances: five pass, as one limit promises.
    let allowed = (0..10)
        .filter(|n| if n % 2 == 0 { &a } else { &b }.rate_limiter().check("198.51.100.1").allowed)
        .count();
    assert_eq!(allowed, 5);
    // A block made by one instance holds on the other, at its first lookup.
    let attacker = client(66);
    assert!(!b.blocklist().is_blocked(attacker));
    std::thread::sleep(Duration::from_millis(150)); // b's cached "not blocked" expires
    a.block_ip(attacker, "refused attacks");
    assert!(a.blocklist().is_blocked(attacker));
    assert!(b.blocklist().is_blocked(attacker), "the other instance sees the block");
    let listed: Vec<IpAddr> = b.blocklist().blocked(10).iter().map(|entry| entry.network.addr()).collect();
    assert_eq!(listed, [attacker], "every instance lists the fleet's blocks");
    // The whitelist wins over a shared block.
    let local: IpAddr = "127.0.0.1".parse().unwrap();
    let mut connection = redis::Client::open(redis.url()).unwrap().get_connection().unwrap();
    redis::cmd("SET").arg(format!("{prefix}block:127.0.0.1")).arg("x").query::<()>(&mut connection).unwrap();
    assert!(!b.blocklist().is_blocked(local));
    // Unblocking through the other instance lifts the block everywhere once cached answers are stale, on
    // the instance that made it too (its own table no longer outvotes Redis).
    assert!(b.blocklist().unblock(attacker));
    std::thread::sleep(Duration::from_millis(150));
    assert!(!a.blocklist().is_blocked(attacker), "the blocking instance sees the unblock");
    assert!(!b.blocklist().is_blocked(attacker));
    // Events went to the stream, capped at events_stream_maxlen.
    for _ in 0..20 {
        b.log_security_event(SecurityEvent::new("input_rejected", Severity::Low, Some(client(7))));
    }
    let length: u64 = redis::cmd("XLEN").arg(format!("{prefix}events")).query(&mut connection).unwrap();
    assert_eq!(length, 5);
}

/// Runs `check` on another thread and fails the test if it does not return within 10 s: a request must
/// never hang on Redis.
fn within_bound<T: Send + 'static>(check: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(check());
    });
    receiver.recv_timeout(Duration::from_secs(10)).expect("a check hung while Redis was down")
}

#[test]
fn while_redis_is_down_local_fallback_limits_locally_and_recovery_is_automatic() {
    let mut redis = RedisServer::start();
    let prefix = unique("down");
    let manager = Arc::new(redis.member(&prefix, &policies(3)));
    assert!(manager.rate_limiter().check("before").allowed);
    redis.stop();
    let checker = Arc::clone(&manager);
    let allowed =
        within_bound(move || (0..6).filter(|_| checker.rate_limiter().check("client-x").allowed).count());
    assert_eq!(allowed, 3, "the local store enforces the burst meanwhile");
    let status = manager.backend().unwrap().status();
    assert!(status.failures >= 1 && status.fallbacks >= 6, "{status:?}");
    redis.restart();
    std::thread::sleep(Duration::from_millis(200)); // past retry_interval_ms
    // Back on Redis: a fresh client has Redis's state (empty after the restart), and Redis holds the key.
    assert!(manager.rate_limiter().check("client-y").allowed);
    assert!(manager.backend().unwrap().status().available);
    let mut connection = redis::Client::open(redis.url()).unwrap().get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}rl:*")).query(&mut connection).unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
}

#[test]
fn while_redis_is_down_fail_open_allows_and_counts() {
    let mut redis = RedisServer::start();
    let manager = Arc::new(
        SecurityManager::with_redis(&policies(1), redis.backend(&unique("open"), FailureMode::FailOpen))
            .unwrap(),
    );
    redis.stop();
    let checker = Arc::clone(&manager);
    let allowed =
        within_bound(move || (0..5).filter(|_| checker.rate_limiter().check("client-z").allowed).count());
    assert_eq!(allowed, 5);
    assert!(manager.backend().unwrap().status().fallbacks >= 5);
    let blocked = within_bound({
        let manager = Arc::clone(&manager);
        move || manager.blocklist().is_blocked(client(9))
    });
    assert!(!blocked);
}

#[test]
fn idle_keys_expire_in_redis() {
    let redis = RedisServer::start();
    let prefix = unique("ttl");
    let store = RedisStore::new(redis.backend(&prefix, FailureMode::FailOpen), MemoryStore::new(10));
    let mut connection = redis::Client::open(redis.url()).unwrap().get_connection().unwrap();
    let keys = |connection: &mut redis::Connection, pattern: &str| -> Vec<String> {
        redis::cmd("KEYS").arg(pattern).query(connection).unwrap()
    };
    // One request a 10 s window: the key lives until its TAT, 10 s ahead.
    assert!(store.check("slow", &quota(1, Duration::from_secs(10), 1)).allowed);
    let slow = keys(&mut connection, &format!("{prefix}rl:1/*"));
    let ttl: i64 = redis::cmd("PTTL").arg(&slow[0]).query(&mut connection).unwrap();
    assert!((1..=10_001).contains(&ttl), "expires with its TAT, at most 10 s ahead: {ttl} ms");
    // A key whose TAT is 20 ms ahead is gone soon after: an idle client costs nothing.
    assert!(store.check("fast", &quota(50, Duration::from_secs(1), 1)).allowed);
    let fast = format!("{prefix}rl:50/*");
    assert!(vana_testkit::wait_until(Duration::from_secs(30), || keys(&mut connection, &fast).is_empty()));
}

#[test]
fn one_call_for_many_keys_decides_like_single_checks() {
    let redis = RedisServer::start();
    let store = RedisStore::new(redis.backend(&unique("batch"), FailureMode::FailOpen), MemoryStore::new(10));
    let quota = quota(2, Duration::from_secs(3600), 2);
    let keys = ["a", "b", "a", "a", "c", "b", "b"];
    let allowed: Vec<bool> =
        store.check_batch(&keys, &quota).iter().map(|decision| decision.allowed).collect();
    assert_eq!(allowed, [true, true, true, false, true, true, false]);
    assert!(!store.check("a", &quota).allowed);
    assert!(store.check("c", &quota).allowed);
}

/// A quota from plain counts (each at least 1).
fn quota(limit: u32, window: std::time::Duration, burst: u32) -> vana_security::Quota {
    let count = |n: u32| std::num::NonZeroU32::new(n).expect("a count of at least 1");
    vana_security::Quota::new(count(limit), window, count(burst))
}

/// Clients connected to `redis`, this test's own connection included (`INFO clients`).
fn connected_clients(connection: &mut redis::Connection) -> usize {
    let info: String = redis::cmd("INFO").arg("clients").query(connection).unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("connected_clients:"))
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn pool_size_caps_the_idle_connections_kept() {
    // A server of its own: the connection count must be this test's alone.
    let redis = RedisServer::start();
    let mut admin = redis::Client::open(redis.url()).unwrap().get_connection().unwrap();
    for (pool_size, kept) in [(2, 2), (8, 5)] {
        let mut config = Backend::default();
        config.key_prefix = unique("pool");
        config.pool_size = pool_size;
        config.command_timeout_ms = 60_000; // commands wait out the pause below
        let backend = Arc::new(RedisBackend::new(&config, &redis.url()).unwrap());
        let blocklist =
            Arc::new(vana_security::IpBlocklist::from_config(&Default::default()).shared_through(backend));
        // Writes wait while the server is paused: five blocks at once need five connections.
        let () = redis::cmd("CLIENT").arg("PAUSE").arg(60_000).arg("WRITE").query(&mut admin).unwrap();
        let writers: Vec<_> = (1..=5u8)
            .map(|n| {
                let blocklist = Arc::clone(&blocklist);
                std::thread::spawn(move || blocklist.block(IpAddr::from([203, 0, 113, n]), "pool"))
            })
            .collect();
        let all_waiting =
            vana_testkit::wait_until(Duration::from_secs(30), || connected_clients(&mut admin) == 6);
        let () = redis::cmd("CLIENT").arg("UNPAUSE").query(&mut admin).unwrap();
        assert!(all_waiting, "five connections at once: {}", connected_clients(&mut admin));
        for writer in writers {
            writer.join().unwrap();
        }
        // Past the pool's size, connections are closed when their command is done.
        assert!(
            vana_testkit::wait_until(Duration::from_secs(30), || connected_clients(&mut admin) == kept + 1),
            "pool_size {pool_size}: {} connected",
            connected_clients(&mut admin) - 1
        );
        drop(blocklist);
        assert!(vana_testkit::wait_until(Duration::from_secs(30), || connected_clients(&mut admin) == 1));
    }
}

#[test]
fn token_budgets_are_one_for_two_instances_and_fall_back_to_memory_while_redis_is_down() {
    use std::num::NonZeroU64;
    use vana_security::{BudgetLedger, MemoryLedger, RedisLedger, TokenQuota};
    let mut redis = RedisServer::start();
    let prefix = unique("budget");
    let ledger = |redis: &RedisServer| {
        let local = MemoryLedger::new(100, Arc::new(ManualClock::new()));
        RedisLedger::new(redis.backend(&prefix, FailureMode::LocalFallback), local)
    };
    let (first, second) = (ledger(&redis), ledger(&redis));
    let quota = TokenQuota::new(NonZeroU64::new(1000).unwrap(), Duration::from_secs(3600));
    first.spend("user-1", &quota, 600);
    assert_eq!(second.wait("user-1", &quota), Duration::ZERO, "600 of 1000");
    second.spend("user-1", &quota, 600);
    // 1200 in a bucket of 1000 freeing 1000 an hour: 200 over (720 s) and one token's 3.6 s, less the
    // moments Redis's clock moved since.
    let wait = first.wait("user-1", &quota);
    assert!(wait > Duration::from_secs(720) && wait <= Duration::from_millis(723_600), "{wait:?}");
    assert_eq!(first.wait("user-2", &quota), Duration::ZERO);
    redis.stop();
    first.spend("user-3", &quota, 2000);
    assert!(first.wait("user-3", &quota) > Duration::ZERO, "counted in memory while Redis is down");
}

#[test]
fn blocks_survive_a_redis_restart_and_an_outage_and_a_lifted_block_stays_lifted() {
    let mut redis = RedisServer::start();
    let prefix = unique("survive");
    let instance = |redis: &RedisServer| redis.member(&prefix, &policies(5));
    let (a, b) = (instance(&redis), instance(&redis));
    let stale = || std::thread::sleep(Duration::from_millis(150)); // cached answers expire
    let (made, learnt, lifted, during_outage) = (client(81), client(82), client(83), client(84));
    a.block_ip(made, "refused attacks");
    b.block_ip(learnt, "refused attacks");
    a.block_ip(lifted, "refused attacks");
    assert!(a.blocklist().is_blocked(learnt), "a learns b's block from Redis");
    assert!(b.blocklist().is_blocked(lifted));
    // Lifted through a: b's copy ends at b's next fresh answer, and stays ended.
    assert!(a.blocklist().unblock(lifted));
    stale();
    assert!(!b.blocklist().is_blocked(lifted));
    // Redis goes away: a block made meanwhile holds locally.
    redis.stop();
    a.block_ip(during_outage, "refused attacks");
    assert!(a.blocklist().is_blocked(during_outage), "held locally while Redis is away");
    // Redis comes back empty: every instance writes its blocks back at its next fresh answer.
    redis.restart();
    stale();
    for (name, manager) in [("a", &a), ("b", &b)] {
        for address in [made, learnt, during_outage] {
            assert!(manager.blocklist().is_blocked(address), "{name}: {address} blocked after the restart");
        }
        assert!(!manager.blocklist().is_blocked(lifted), "{name}: the lifted block stays lifted");
    }
    // In Redis itself, for a new instance that never saw any of it.
    let newcomer = instance(&redis);
    for address in [made, learnt, during_outage] {
        assert!(newcomer.blocklist().is_blocked(address), "a new instance sees {address}");
    }
    assert!(!newcomer.blocklist().is_blocked(lifted));
}

#[test]
fn refused_attacks_count_across_the_fleet_and_locally_while_redis_is_away() {
    let mut redis = RedisServer::start();
    let prefix = unique("strikes");
    let mut config = policies(100);
    config.ip_blocking.auto_block_after = 3;
    let instance = || redis.member(&prefix, &config);
    let (a, b) = (instance(), instance());
    let attacker = client(91);
    // Three refusals seen by two instances: the third blocks, wherever it lands.
    assert!(a.record_refused_attack(attacker).is_none());
    assert!(b.record_refused_attack(attacker).is_none());
    assert!(a.record_refused_attack(attacker).is_some(), "the fleet's third refusal blocks");
    std::thread::sleep(Duration::from_millis(150));
    assert!(b.blocklist().is_blocked(attacker));
    // While Redis is away, each instance counts on its own: still blocked after three of its own.
    redis.stop();
    let other = client(92);
    assert!(a.record_refused_attack(other).is_none() && a.record_refused_attack(other).is_none());
    assert!(a.record_refused_attack(other).is_some(), "counted locally meanwhile");
}

/// The async side, on one multiplexed connection: exact limits under concurrency and beside a blocking
/// instance, blocks and strikes across instances, scripts reloaded after Redis forgot them, a frozen Redis
/// answered by the fallback within the timeouts, and recovery after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_checks_share_exact_limits_blocks_and_strikes_and_survive_faults() {
    let mut redis = RedisServer::start();
    let prefix = unique("async");
    let mut config = policies(50);
    config.ip_blocking.auto_block_after = 3;
    let instance = || Arc::new(redis.member(&prefix, &config));
    let (a, b) = (instance(), instance());
    // 200 concurrent checks of one client on two instances: exactly the burst of 50 pass.
    let tasks: Vec<_> = (0..200)
        .map(|n| {
            let manager = Arc::clone(if n % 2 == 0 { &a } else { &b });
            tokio::spawn(async move { manager.rate_limiter().check_async("198.51.100.1").await.allowed })
        })
        .collect();
    let mut allowed = 0;
    for task in tasks {
        allowed += usize::from(task.await.unwrap());
    }
    assert_eq!(allowed, 50, "one limit, exact under concurrency");
    // Async and blocking callers count against the same key.
    assert!(a.rate_limiter().check_async("198.51.100.2").await.allowed);
    let blocking = Arc::clone(&b);
    let sync_allowed = tokio::task::spawn_blocking(move || {
        (0..60).filter(|_| blocking.rate_limiter().check("198.51.100.2").allowed).count()
    })
    .await
    .unwrap();
    assert_eq!(sync_allowed, 49);
    // Strikes counted by two instances: the third blocks, and the other instance sees it.
    let attacker = client(101);
    assert!(a.record_refused_attack_async(attacker).await.is_none());
    assert!(b.record_refused_attack_async(attacker).await.is_none());
    assert!(a.record_refused_attack_async(attacker).await.is_some(), "the fleet's third refusal blocks");
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(b.blocklist().is_blocked_async(attacker).await);
    // Redis forgets its scripts: the next check loads them again and answers from Redis.
    let mut connection = redis::Client::open(redis.url()).unwrap().get_connection().unwrap();
    redis::cmd("SCRIPT").arg("FLUSH").query::<()>(&mut connection).unwrap();
    let failures = a.backend().unwrap().status().failures;
    assert!(a.rate_limiter().check_async("198.51.100.3").await.allowed);
    assert_eq!(a.backend().unwrap().status().failures, failures, "NOSCRIPT is not a failure");
    // Frozen: the check falls back within the timeouts (500 ms command timeout here).
    redis.freeze();
    let started = std::time::Instant::now();
    assert!(a.rate_limiter().check_async("198.51.100.4").await.allowed);
    assert!(started.elapsed() < Duration::from_secs(3), "answered in {:?}", started.elapsed());
    assert!(!a.backend().unwrap().status().available);
    redis.thaw();
    // Restarted: the multiplexed connection reconnects once the retry interval is over.
    redis.restart();
    let back = async {
        loop {
            tokio::time::sleep(Duration::from_millis(150)).await;
            a.rate_limiter().check_async("198.51.100.5").await;
            if a.backend().unwrap().status().available {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), back).await.expect("back on Redis after the restart");
    let mut connection = redis::Client::open(redis.url()).unwrap().get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}rl:*")).query(&mut connection).unwrap();
    assert_eq!(keys.len(), 1, "the check after the restart is in Redis: {keys:?}");
}

/// After Redis restarts empty, an instance that holds no blocks may be the first to set the marker again:
/// the instance that holds a block still writes it back, since the marker is not the one it wrote under.
#[test]
fn a_new_marker_set_by_another_instance_does_not_hide_the_loss() {
    let mut redis = RedisServer::start();
    let prefix = unique("epoch");
    let (holder, empty) = (redis.member(&prefix, &policies(5)), redis.member(&prefix, &policies(5)));
    let blocked = client(111);
    holder.block_ip(blocked, "refused attacks");
    assert!(!empty.blocklist().is_blocked(client(113)), "the other instance has talked to Redis");
    redis.restart();
    std::thread::sleep(Duration::from_millis(250)); // past retry_interval_ms and the cached answers
    // The instance without blocks answers first: it finds Redis empty and sets a new marker.
    assert!(!empty.blocklist().is_blocked(client(112)));
    assert!(!empty.blocklist().is_blocked(blocked), "it never held the block, and Redis lost it");
    // The holder sees a marker it did not write under: it writes its block back, and it holds everywhere.
    assert!(holder.blocklist().is_blocked(blocked), "the holder keeps and writes back its block");
    std::thread::sleep(Duration::from_millis(150));
    assert!(empty.blocklist().is_blocked(blocked), "the written-back block holds on the other instance");
}

/// On a runtime, events go to the stream in tasks of their own, at most `MAX_EVENTS_IN_FLIGHT` at once:
/// while Redis is frozen, the events past the cap are not queued (they stay in the instance's table) and
/// count as failures; the request that logged them never waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_on_their_way_to_the_stream_are_capped() {
    let redis = RedisServer::start();
    let manager = redis.member(&unique("inflight"), &policies(5));
    redis.freeze();
    let extra = 76;
    let started = std::time::Instant::now();
    for _ in 0..vana_security::MAX_EVENTS_IN_FLIGHT + extra {
        manager.log_security_event(SecurityEvent::new("input_rejected", Severity::Low, Some(client(9))));
    }
    let logging = started.elapsed();
    let failures = manager.backend().unwrap().status().failures;
    redis.thaw();
    assert!(logging < Duration::from_millis(400), "logging never waited on Redis: {logging:?}");
    assert_eq!(failures, extra as u64, "the events past the cap, counted at once");
}
