//! `RedisLedger`: token budgets in Redis, shared by a fleet; one atomic round trip per look or spend, on
//! Redis's clock. While Redis is away, this instance's memory ledger counts (and the look falls back to it).

use std::sync::Arc;
use std::time::Duration;

use super::backend::RedisBackend;
use crate::rate_limit::{BudgetLedger, MemoryLedger, TokenQuota};

/// When the bucket empties, in microseconds on Redis's clock (`TIME`; `ARGV[4]`, when not empty, replaces
/// it, for tests): `ARGV[3]` tokens added first when not 0. Answers the wait in microseconds until one
/// token's room is free (0: it is), as [`TokenQuota::wait`]. The key expires when its bucket is empty.
pub const BUDGET_SCRIPT: &str = concat!(
    redis_clock_lua!(),
    r#"
local per_token = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local spend = tonumber(ARGV[3])
local now = clock(ARGV[4])
local stored = redis.call('GET', KEYS[1])
local empty_at = now
if stored then empty_at = math.max(tonumber(stored), now) end
if spend > 0 then
  empty_at = empty_at + spend * per_token
  redis.call('SET', KEYS[1], string.format('%.0f', empty_at), 'PX', math.floor((empty_at - now) / 1000) + 1)
end
local needed = empty_at - now + per_token
if needed <= window then return '0' end
return string.format('%.0f', needed - window)
"#
);

/// Token budgets in Redis, with this instance's ledger while Redis does not answer.
pub struct RedisLedger {
    backend: Arc<RedisBackend>,
    script: redis::Script,
    local: MemoryLedger,
}

impl RedisLedger {
    /// A ledger on `backend`, falling back to `local`.
    pub fn new(backend: Arc<RedisBackend>, local: MemoryLedger) -> Self {
        Self { backend, script: redis::Script::new(BUDGET_SCRIPT), local }
    }

    /// One run of the script: the wait, or `None` when Redis did not answer.
    fn run(&self, identity: &str, quota: &TokenQuota, spend: u64) -> Option<Duration> {
        let micros = |duration: Duration| u64::try_from(duration.as_micros()).unwrap_or(u64::MAX).max(1);
        let name = format!("{}/{}", quota.tokens(), quota.window().as_micros());
        let key = self.backend.key(&["budget", &name, identity]);
        let mut invocation = self.script.key(key);
        invocation.arg(micros(quota.per_token())).arg(micros(quota.window())).arg(spend).arg("");
        let wait: Option<String> = self.backend.run(|connection| invocation.invoke(connection));
        wait.map(|wait| Duration::from_micros(wait.parse().unwrap_or(0)))
    }
}

impl std::fmt::Debug for RedisLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLedger").field("local", &self.local).finish_non_exhaustive()
    }
}

impl BudgetLedger for RedisLedger {
    fn wait(&self, identity: &str, quota: &TokenQuota) -> Duration {
        self.run(identity, quota, 0).unwrap_or_else(|| {
            self.backend.count_fallback();
            self.local.wait(identity, quota)
        })
    }

    fn spend(&self, identity: &str, quota: &TokenQuota, tokens: u64) {
        if self.run(identity, quota, tokens).is_none() {
            self.backend.count_fallback();
            self.local.spend(identity, quota, tokens);
        }
    }
}
