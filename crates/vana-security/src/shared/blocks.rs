//! Blocked addresses in Redis: a block made by one instance holds on every instance. Answers are cached
//! locally for `block_cache_ms`, so a blocked-address check does not cost a round trip per request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::backend::RedisBackend;

/// The shared half of an `IpBlocklist`.
pub(crate) struct SharedBlocks {
    backend: Arc<RedisBackend>,
    /// Address to (blocked, answer valid until).
    cache: Mutex<HashMap<IpAddr, (bool, Instant)>>,
}

impl SharedBlocks {
    pub(crate) fn new(backend: Arc<RedisBackend>) -> Self {
        Self { backend, cache: Mutex::new(HashMap::new()) }
    }

    fn key(&self, address: IpAddr) -> String {
        self.backend.key(&["block", &address.to_string()])
    }

    fn remember(&self, address: IpAddr, blocked: bool, valid_for: Duration) {
        let mut cache = self.cache.lock();
        if cache.len() >= self.backend.block_cache_entries && !cache.contains_key(&address) {
            let now = Instant::now();
            cache.retain(|_, (_, until)| *until > now);
            if cache.len() >= self.backend.block_cache_entries {
                cache.clear();
            }
        }
        cache.insert(address, (blocked, Instant::now() + valid_for));
    }

    /// Records a block for `duration` in Redis (best effort: while Redis is away the local block holds).
    pub(crate) fn block(&self, address: IpAddr, reason: &str, duration: Duration) {
        let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1);
        let key = self.key(address);
        self.backend.run(|connection| {
            redis::cmd("SET").arg(&key).arg(reason).arg("PX").arg(millis).query::<()>(connection)
        });
        self.remember(address, true, self.backend.block_cache.min(duration));
    }

    /// Lifts a block in Redis.
    pub(crate) fn unblock(&self, address: IpAddr) -> bool {
        let key = self.key(address);
        let removed = self.backend.run(|connection| redis::cmd("DEL").arg(&key).query::<u64>(connection));
        self.cache.lock().remove(&address);
        removed.is_some_and(|count| count > 0)
    }

    /// Whether another instance (or this one) blocked `address`: the cached answer while it is fresh, else
    /// one round trip. While Redis is away, not blocked (the local table still applies).
    pub(crate) fn is_blocked(&self, address: IpAddr) -> bool {
        if let Some(&(blocked, until)) = self.cache.lock().get(&address) {
            if until > Instant::now() {
                return blocked;
            }
        }
        let key = self.key(address);
        match self.backend.run(|connection| redis::cmd("PTTL").arg(&key).query::<i64>(connection)) {
            Some(ttl) => {
                let blocked = ttl > 0 || ttl == -1;
                let valid_for = if ttl > 0 {
                    self.backend.block_cache.min(Duration::from_millis(ttl.unsigned_abs()))
                } else {
                    self.backend.block_cache
                };
                self.remember(address, blocked, valid_for);
                blocked
            }
            None => {
                self.backend.count_fallback();
                false
            }
        }
    }

    /// Cached answers now (for the cap's test).
    #[cfg(test)]
    pub(crate) fn cached(&self) -> usize {
        self.cache.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_cache_is_capped_even_when_redis_is_away() {
        let mut config = vana_config::Backend::default();
        config.block_cache_entries = 10;
        config.connect_timeout_ms = 20;
        // Nothing listens on port 1: every command fails fast, blocks still land in the cache.
        let backend = Arc::new(RedisBackend::new(&config, "redis://127.0.0.1:1/").unwrap());
        let blocks = SharedBlocks::new(Arc::clone(&backend));
        for index in 0..50u8 {
            blocks.block(IpAddr::from([198, 51, 100, index]), "test", Duration::from_secs(60));
            assert!(blocks.cached() <= 10);
        }
        assert!(
            blocks.is_blocked(IpAddr::from([198, 51, 100, 49])),
            "a cached block holds while Redis is away"
        );
        assert!(!blocks.is_blocked(IpAddr::from([203, 0, 113, 1])), "unknown and unreachable: not blocked");
        assert!(!backend.status().available);
    }
}
