//! `RedisStore`: the GCRA of the in-memory store, one atomic round trip per check, on Redis's clock.

use std::time::Duration;

use vana_config::FailureMode;

use super::backend::RedisBackend;
use crate::rate_limit::{MemoryStore, Quota, RateDecision, RateLimitStore};

/// The GCRA step in Lua (the same algorithm as [`gcra_step`](crate::gcra_step)), on Redis's clock in
/// microseconds (Lua numbers are doubles: nanoseconds since the epoch would lose precision). The key
/// expires when its TAT passes, so an idle client costs nothing. `ARGV[3]`, when not empty, replaces the
/// clock (tests).
pub const GCRA_SCRIPT: &str = concat!(
    redis_clock_lua!(),
    r#"
local emission = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local now = clock(ARGV[3])
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then tat = math.max(tonumber(stored), now) end
local debt = tat - now
if debt > tolerance then
  return {0, 0, string.format('%.0f', debt), string.format('%.0f', debt - tolerance)}
end
local new_tat = tat + emission
local new_debt = new_tat - now
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.floor(new_debt / 1000) + 1)
local room = math.floor((tolerance + emission - new_debt) / emission)
if room < 0 then room = 0 end
return {1, room, string.format('%.0f', new_debt), '0'}
"#
);

/// Rate limits in Redis, shared by every instance; while Redis is away, `fail_open` allows (and counts)
/// and `local_fallback` decides with this instance's memory store.
///
/// Concurrent checks are coalesced: while one pipeline is in flight, the checks that arrive meanwhile go
/// together in the next one.
pub struct RedisStore {
    backend: std::sync::Arc<RedisBackend>,
    script: redis::Script,
    local: MemoryStore,
    batcher: super::batcher::Batcher,
}

/// Adds one GCRA check of `key` (the script by its `hash`) to `pipeline`.
pub(crate) fn push_check(
    pipeline: &mut redis::Pipeline,
    hash: &str,
    key: &str,
    emission: u64,
    tolerance: u64,
) {
    pipeline.cmd("EVALSHA").arg(hash).arg(1).arg(key).arg(emission).arg(tolerance).arg("");
}

/// What the script answers: allowed (1 or 0), remaining, reset and retry times in microseconds.
pub(crate) type Reply = (i64, i64, String, String);

impl RedisStore {
    /// A store on `backend`, falling back to `local`.
    pub fn new(backend: std::sync::Arc<RedisBackend>, local: MemoryStore) -> Self {
        let script = redis::Script::new(GCRA_SCRIPT);
        // A caller waits for a connection and a round trip at most, then falls back.
        let patience = backend.connect_timeout() + backend.command_timeout() * 2;
        let batcher = super::batcher::Batcher::new(
            std::sync::Arc::clone(&backend),
            script.get_hash().to_owned(),
            patience,
        );
        Self { backend, script, local, batcher }
    }

    /// The backend.
    pub fn backend(&self) -> &RedisBackend {
        &self.backend
    }

    fn redis_key(&self, key: &str, quota: &Quota) -> String {
        let identity = format!("{}/{}/{}", quota.limit(), quota.window().as_micros(), quota.burst());
        self.backend.key(&["rl", &identity, key])
    }

    /// Counts one request of each of `keys` in one round trip (a pipeline), for batch work such as an
    /// ingestion job checking many tenants; while Redis is away, each key falls back as [`check`] does.
    ///
    /// [`check`]: RateLimitStore::check
    pub fn check_batch(&self, keys: &[&str], quota: &Quota) -> Vec<RateDecision> {
        let (emission, tolerance) = Self::micros(quota);
        let mut pipeline = redis::pipe();
        // Loading is idempotent and costs a hash lookup: it makes the batch work after a Redis restart.
        pipeline.cmd("SCRIPT").arg("LOAD").arg(GCRA_SCRIPT).ignore();
        for key in keys {
            push_check(
                &mut pipeline,
                self.script.get_hash(),
                &self.redis_key(key, quota),
                emission,
                tolerance,
            );
        }
        let replies: Option<Vec<Reply>> = self.backend.run(|connection| pipeline.query(connection));
        match replies {
            Some(replies) if replies.len() == keys.len() => {
                replies.into_iter().map(|reply| Self::decision(reply, quota)).collect()
            }
            _ => keys.iter().map(|key| self.fallback(key, quota)).collect(),
        }
    }

    fn micros(quota: &Quota) -> (u64, u64) {
        let emission = quota.emission_nanos().div_ceil(1000).max(1);
        (emission, emission.saturating_mul(u64::from(quota.burst().get()) - 1))
    }

    fn decision(reply: Reply, quota: &Quota) -> RateDecision {
        let micros = |text: &str| Duration::from_micros(text.parse::<u64>().unwrap_or(0));
        let allowed = reply.0 == 1;
        RateDecision {
            allowed,
            limit: quota.limit().get(),
            remaining: u32::try_from(reply.1.max(0)).unwrap_or(u32::MAX),
            reset_after: micros(&reply.2),
            retry_after: (!allowed).then(|| micros(&reply.3)),
        }
    }

    fn fallback(&self, key: &str, quota: &Quota) -> RateDecision {
        self.backend.count_fallback();
        match self.backend.on_failure {
            FailureMode::FailOpen => RateDecision {
                allowed: true,
                limit: quota.limit().get(),
                remaining: quota.burst().get() - 1,
                reset_after: Duration::ZERO,
                retry_after: None,
            },
            _ => self.local.check(key, quota),
        }
    }

    /// Counts one request of `key` on the multiplexed connection, without holding a thread: concurrent
    /// checks share one socket and are pipelined as they come. While Redis is away, as [`check`] does.
    /// Must run on a Tokio runtime.
    ///
    /// [`check`]: RateLimitStore::check
    pub async fn check_async(&self, key: &str, quota: &Quota) -> RateDecision {
        let (emission, tolerance) = Self::micros(quota);
        let mut pipeline = redis::pipe();
        push_check(&mut pipeline, self.script.get_hash(), &self.redis_key(key, quota), emission, tolerance);
        match self.backend.run_async::<(Reply,)>(&pipeline, &[GCRA_SCRIPT]).await {
            Some((reply,)) => Self::decision(reply, quota),
            None => self.fallback(key, quota),
        }
    }

    /// One check at `now_micros` instead of Redis's clock (for tests that compare with the memory store);
    /// `None` when Redis did not answer.
    #[doc(hidden)]
    pub fn check_at(&self, key: &str, quota: &Quota, now_micros: Option<u64>) -> Option<RateDecision> {
        let (emission, tolerance) = Self::micros(quota);
        let redis_key = self.redis_key(key, quota);
        let now = now_micros.map(|now| now.to_string()).unwrap_or_default();
        let reply: Reply = self.backend.run(|connection| {
            self.script.key(&redis_key).arg(emission).arg(tolerance).arg(&now).invoke(connection)
        })?;
        Some(Self::decision(reply, quota))
    }
}

impl RateLimitStore for RedisStore {
    fn check(&self, key: &str, quota: &Quota) -> RateDecision {
        let (emission, tolerance) = Self::micros(quota);
        match self.batcher.check(self.redis_key(key, quota), emission, tolerance) {
            Some(reply) => Self::decision(reply, quota),
            None => self.fallback(key, quota),
        }
    }

    fn tracked_keys(&self) -> usize {
        // Keys in Redis expire on their own; only the local fallback's are counted here.
        self.local.tracked_keys()
    }
}
