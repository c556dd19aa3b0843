//! Refused attacks counted in Redis, so an address is blocked after `auto_block_after` refusals across the
//! fleet, whichever instances saw them: one atomic script per refusal.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::backend::RedisBackend;

/// One refusal of `KEYS[1]`: the count of its window (`ARGV[1]` milliseconds from the first refusal), and
/// `1` when it reaches `ARGV[2]` (the count then starts again, as the local count does), else `0`.
pub const STRIKE_SCRIPT: &str = r#"
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if count >= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"#;

/// The shared half of the strike count.
pub(crate) struct SharedStrikes {
    backend: Arc<RedisBackend>,
    script: redis::Script,
}

impl SharedStrikes {
    pub(crate) fn new(backend: Arc<RedisBackend>) -> Self {
        Self { backend, script: redis::Script::new(STRIKE_SCRIPT) }
    }

    /// Counts one refusal of `address` within `window`; whether the fleet's count reached `limit`. `None`
    /// while Redis does not answer (this instance counts on its own meanwhile).
    pub(crate) fn strike(&self, address: IpAddr, window: Duration, limit: u32) -> Option<bool> {
        let key = self.key(address);
        let millis = window_millis(window);
        let mut invocation = self.script.key(key);
        invocation.arg(millis).arg(limit);
        let reached: Option<i64> = self.backend.run(|connection| invocation.invoke(connection));
        self.reached(reached)
    }

    /// [`strike`](Self::strike) on the multiplexed connection.
    pub(crate) async fn strike_async(&self, address: IpAddr, window: Duration, limit: u32) -> Option<bool> {
        let mut pipeline = redis::pipe();
        pipeline
            .cmd("EVALSHA")
            .arg(self.script.get_hash())
            .arg(1)
            .arg(self.key(address))
            .arg(window_millis(window))
            .arg(limit);
        let reached = self.backend.run_async::<(i64,)>(&pipeline, &[STRIKE_SCRIPT]).await;
        self.reached(reached.map(|(reached,)| reached))
    }

    fn key(&self, address: IpAddr) -> String {
        self.backend.key(&["strikes", &address.to_string()])
    }

    fn reached(&self, reply: Option<i64>) -> Option<bool> {
        if reply.is_none() {
            self.backend.count_fallback();
        }
        reply.map(|reached| reached == 1)
    }
}

impl std::fmt::Debug for SharedStrikes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedStrikes").finish_non_exhaustive()
    }
}

fn window_millis(window: Duration) -> u64 {
    u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1)
}
