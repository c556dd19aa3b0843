//! `RedisStore`: the GCRA of the in-memory store, one atomic round trip per check, on Redis's clock.

use std::time::Duration;

use vana_config::FailureMode;

use super::backend::RedisBackend;
use crate::rate_limit::{MemoryStore, Quota, RateDecision, RateLimitStore};

/// The GCRA step in Lua (the same algorithm as [`gcra_step`](crate::gcra_step)) for each of `KEYS`, in
/// order, on Redis's clock in microseconds (Lua numbers are doubles: nanoseconds since the epoch would lose
/// precision): one call checks many clients (a coalesced batch, [`RedisStore::check_batch`]).
/// `ARGV[1]`, when not empty, replaces the clock (tests); `ARGV[2k]` and `ARGV[2k + 1]` are the emission
/// interval and tolerance of `KEYS[k]`. Each answer is `{allowed, room, reset, retry}`, integers (whole
/// microseconds: exact as doubles, and Redis's integer replies cost it less than formatted strings). A key
/// expires when its TAT passes, so an idle client costs nothing; a key twice in one call is counted twice, in
/// order.
pub const GCRA_SCRIPT: &str = concat!(
    redis_clock_lua!(),
    r#"
local now = clock(ARGV[1])
local answers = {}
for index = 1, #KEYS do
  local emission = tonumber(ARGV[2 * index])
  local tolerance = tonumber(ARGV[2 * index + 1])
  local stored = redis.call('GET', KEYS[index])
  local tat = now
  if stored then tat = math.max(tonumber(stored), now) end
  local debt = tat - now
  if debt > tolerance then
    answers[index] = {0, 0, debt, debt - tolerance}
  else
    local new_tat = tat + emission
    local new_debt = new_tat - now
    redis.call('SET', KEYS[index], string.format('%.0f', new_tat), 'PX', math.floor(new_debt / 1000) + 1)
    local room = math.floor((tolerance + emission - new_debt) / emission)
    if room < 0 then room = 0 end
    answers[index] = {1, room, new_debt, 0}
  end
end
return answers
"#
);

/// One check's key and quota, in the script's units.
pub(crate) struct Check {
    pub(crate) key: String,
    pub(crate) emission: u64,
    pub(crate) tolerance: u64,
}

/// Appends one call of the script (by its `hash`) for `checks` to `pipeline`, on Redis's clock unless
/// `now_micros` says.
pub(crate) fn push_script_call(
    pipeline: &mut redis::Pipeline,
    hash: &str,
    checks: &[Check],
    now_micros: Option<u64>,
) {
    let call = pipeline.cmd("EVALSHA").arg(hash).arg(checks.len());
    for check in checks {
        call.arg(&check.key);
    }
    call.arg(now_micros.map(|now| now.to_string()).unwrap_or_default());
    for check in checks {
        call.arg(check.emission).arg(check.tolerance);
    }
}

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

/// What the script answers for one key: allowed (1 or 0), remaining, reset and retry times in microseconds.
pub(crate) type Reply = (i64, i64, i64, i64);

impl RedisStore {
    /// A store on `backend`, falling back to `local`.
    pub fn new(backend: std::sync::Arc<RedisBackend>, local: MemoryStore) -> Self {
        let script = redis::Script::new(GCRA_SCRIPT);
        // A caller waits for a connection and a round trip at most, then falls back.
        let patience = backend.connect_timeout() + backend.command_timeout() * 2;
        let hash = script.get_hash().to_owned();
        let batcher = super::batcher::Batcher::new(std::sync::Arc::clone(&backend), hash, patience);
        Self { backend, script, local, batcher }
    }

    /// The backend.
    pub fn backend(&self) -> &RedisBackend {
        &self.backend
    }

    /// The script's check of `key` under `quota`.
    fn check_of(&self, key: &str, quota: &Quota) -> Check {
        let identity = format!("{}/{}/{}", quota.limit(), quota.window().as_micros(), quota.burst());
        let emission = quota.emission_nanos().div_ceil(1000).max(1);
        Check {
            key: self.backend.key(&["rl", &identity, key]),
            emission,
            tolerance: emission.saturating_mul(u64::from(quota.burst().get()) - 1),
        }
    }

    /// Counts one request of each of `keys` in one call of the script, for batch work such as an ingestion
    /// job checking many tenants; while Redis is away, each key falls back as [`check`] does.
    ///
    /// [`check`]: RateLimitStore::check
    pub fn check_batch(&self, keys: &[&str], quota: &Quota) -> Vec<RateDecision> {
        let checks: Vec<Check> = keys.iter().map(|key| self.check_of(key, quota)).collect();
        let mut pipeline = redis::pipe();
        // Loading is idempotent and costs a hash lookup: it makes the batch work after a Redis restart.
        pipeline.cmd("SCRIPT").arg("LOAD").arg(GCRA_SCRIPT).ignore();
        push_script_call(&mut pipeline, self.script.get_hash(), &checks, None);
        let replies: Option<(Vec<Reply>,)> = self.backend.run(|connection| pipeline.query(connection));
        match replies {
            Some((replies,)) if replies.len() == keys.len() => {
                replies.into_iter().map(|reply| Self::decision(reply, quota)).collect()
            }
            _ => keys.iter().map(|key| self.fallback(key, quota)).collect(),
        }
    }

    fn decision(reply: Reply, quota: &Quota) -> RateDecision {
        let micros = |value: i64| Duration::from_micros(value.max(0).unsigned_abs());
        let allowed = reply.0 == 1;
        RateDecision {
            allowed,
            limit: quota.limit().get(),
            remaining: u32::try_from(reply.1.max(0)).unwrap_or(u32::MAX),
            reset_after: micros(reply.2),
            retry_after: (!allowed).then(|| micros(reply.3)),
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
        let mut pipeline = redis::pipe();
        push_script_call(&mut pipeline, self.script.get_hash(), &[self.check_of(key, quota)], None);
        let replies: Option<(Vec<Reply>,)> = self.backend.run_async(&pipeline, &[GCRA_SCRIPT]).await;
        match replies.and_then(|(replies,)| replies.into_iter().next()) {
            Some(reply) => Self::decision(reply, quota),
            None => self.fallback(key, quota),
        }
    }

    /// One check at `now_micros` instead of Redis's clock (for tests that compare with the memory store);
    /// `None` when Redis did not answer.
    #[doc(hidden)]
    pub fn check_at(&self, key: &str, quota: &Quota, now_micros: Option<u64>) -> Option<RateDecision> {
        let check = self.check_of(key, quota);
        let now = now_micros.map(|now| now.to_string()).unwrap_or_default();
        let replies: Vec<Reply> = self.backend.run(|connection| {
            self.script.key(&check.key).arg(&now).arg(check.emission).arg(check.tolerance).invoke(connection)
        })?;
        replies.into_iter().next().map(|reply| Self::decision(reply, quota))
    }
}

impl RateLimitStore for RedisStore {
    fn check(&self, key: &str, quota: &Quota) -> RateDecision {
        match self.batcher.check(self.check_of(key, quota)) {
            Some(reply) => Self::decision(reply, quota),
            None => self.fallback(key, quota),
        }
    }

    fn tracked_keys(&self) -> usize {
        // Keys in Redis expire on their own; only the local fallback's are counted here.
        self.local.tracked_keys()
    }
}
