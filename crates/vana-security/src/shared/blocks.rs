//! Blocked addresses in Redis: a block made by one instance holds on every instance. Answers are cached
//! locally for `block_cache_ms`, so a blocked-address check does not cost a round trip per request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::backend::RedisBackend;

/// What Redis answered about one address.
pub(crate) enum SharedAnswer {
    /// A recent answer, from the cache.
    Cached(bool),
    /// A fresh answer: the block's time left and reason when Redis holds one; `lost` when Redis's marker is
    /// not the one this instance last wrote its blocks under: Redis restarted empty (or failed over to a
    /// replica that never had them), whether or not another instance has set a new marker since.
    Fresh { block: Option<(Duration, String)>, lost: bool },
}

/// The shared half of an `IpBlocklist`.
pub(crate) struct SharedBlocks {
    backend: Arc<RedisBackend>,
    /// Address to (blocked, answer valid until).
    cache: Mutex<HashMap<IpAddr, (bool, Instant)>>,
    /// The marker's value (an epoch, random, set by whichever instance first finds Redis without one)
    /// when this instance last wrote all its blocks back: another value means Redis lost them since.
    epoch: Mutex<Option<String>>,
}

impl SharedBlocks {
    pub(crate) fn new(backend: Arc<RedisBackend>) -> Self {
        Self { backend, cache: Mutex::new(HashMap::new()), epoch: Mutex::new(None) }
    }

    fn key(&self, address: IpAddr) -> String {
        self.backend.key(&["block", &address.to_string()])
    }

    /// The fleet's marker: set once Redis holds the fleet's blocks, to an epoch; gone when Redis restarted
    /// empty, and set to a new epoch by the first instance that writes its blocks back.
    fn marker(&self) -> String {
        self.backend.key(&["blocks-held"])
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

    /// Records a block for `duration` in Redis; false while Redis is away (the local block holds, and is
    /// written back when Redis answers again).
    pub(crate) fn block(&self, address: IpAddr, reason: &str, duration: Duration) -> bool {
        self.remember(address, true, self.backend.block_cache.min(duration));
        let pipeline = self.write_pipeline(&[(address, duration, reason.to_owned())]);
        let marker = self.backend.run(|connection| pipeline.query::<(Option<String>,)>(connection));
        self.first_epoch(marker)
    }

    /// [`block`](Self::block) on the multiplexed connection.
    pub(crate) async fn block_async(&self, address: IpAddr, reason: &str, duration: Duration) -> bool {
        self.remember(address, true, self.backend.block_cache.min(duration));
        let pipeline = self.write_pipeline(&[(address, duration, reason.to_owned())]);
        let marker = self.backend.run_async(&pipeline, &[]).await;
        self.first_epoch(marker)
    }

    /// Writes `blocks` (address, time left, reason) to Redis and marks Redis as holding the fleet's blocks;
    /// false when Redis did not answer.
    pub(crate) fn write_back(&self, blocks: &[(IpAddr, Duration, String)]) -> bool {
        let pipeline = self.write_pipeline(blocks);
        let marker = self.backend.run(|connection| pipeline.query::<(Option<String>,)>(connection));
        self.adopt(marker)
    }

    /// [`write_back`](Self::write_back) on the multiplexed connection.
    pub(crate) async fn write_back_async(&self, blocks: &[(IpAddr, Duration, String)]) -> bool {
        let marker = self.backend.run_async(&self.write_pipeline(blocks), &[]).await;
        self.adopt(marker)
    }

    /// The marker's value after a write-back of every block this instance holds becomes its epoch.
    fn adopt(&self, marker: Option<(Option<String>,)>) -> bool {
        let Some((marker,)) = marker else { return false };
        *self.epoch.lock() = marker;
        true
    }

    /// After a single block: the marker's value becomes the epoch only when this instance has none yet (it
    /// has held nothing Redis could have lost: a lookup would have written its blocks back). An epoch it
    /// has is changed only by a write-back of everything, after a lookup found the marker changed.
    fn first_epoch(&self, marker: Option<(Option<String>,)>) -> bool {
        let Some((marker,)) = marker else { return false };
        let mut epoch = self.epoch.lock();
        if epoch.is_none() {
            *epoch = marker;
        }
        true
    }

    /// `blocks` written, the marker set to a new epoch unless Redis has one, and the marker's value read
    /// after them (whichever instance set it).
    fn write_pipeline(&self, blocks: &[(IpAddr, Duration, String)]) -> redis::Pipeline {
        let mut pipeline = redis::pipe();
        for (address, remaining, reason) in blocks {
            let millis = u64::try_from(remaining.as_millis()).unwrap_or(u64::MAX).max(1);
            pipeline.cmd("SET").arg(self.key(*address)).arg(reason).arg("PX").arg(millis).ignore();
        }
        let epoch = format!("{:016x}", rand::random::<u64>());
        pipeline.cmd("SET").arg(self.marker()).arg(epoch).arg("NX").ignore();
        pipeline.cmd("GET").arg(self.marker());
        pipeline
    }

    /// Lifts a block in Redis.
    pub(crate) fn unblock(&self, address: IpAddr) -> bool {
        let key = self.key(address);
        let removed = self.backend.run(|connection| redis::cmd("DEL").arg(&key).query::<u64>(connection));
        self.cache.lock().remove(&address);
        removed.is_some_and(|count| count > 0)
    }

    /// Whether any instance blocked `address`: the cached answer while it is fresh, else one round trip
    /// (its time left, its reason and the fleet's marker). `None` while Redis is away (the local table then
    /// decides). Redis is the truth when it answers, so a block lifted on any instance is lifted here once
    /// the cached answer (`block_cache_ms`) is stale.
    pub(crate) fn is_blocked(&self, address: IpAddr) -> Option<SharedAnswer> {
        if let Some(blocked) = self.cached_answer(address) {
            return Some(SharedAnswer::Cached(blocked));
        }
        let pipeline = self.lookup(address);
        let reply = self.backend.run(|connection| pipeline.query(connection));
        self.answer(address, reply)
    }

    /// [`is_blocked`](Self::is_blocked) on the multiplexed connection.
    pub(crate) async fn is_blocked_async(&self, address: IpAddr) -> Option<SharedAnswer> {
        if let Some(blocked) = self.cached_answer(address) {
            return Some(SharedAnswer::Cached(blocked));
        }
        let reply = self.backend.run_async(&self.lookup(address), &[]).await;
        self.answer(address, reply)
    }

    /// The cached answer about `address`, while it is fresh.
    fn cached_answer(&self, address: IpAddr) -> Option<bool> {
        let cache = self.cache.lock();
        let &(blocked, until) = cache.get(&address)?;
        (until > Instant::now()).then_some(blocked)
    }

    /// The round trip that asks about `address`: its block's time left, its reason, the fleet's marker.
    fn lookup(&self, address: IpAddr) -> redis::Pipeline {
        let key = self.key(address);
        let mut pipeline = redis::pipe();
        pipeline.cmd("PTTL").arg(&key).cmd("GET").arg(&key).cmd("GET").arg(self.marker());
        pipeline
    }

    /// What the lookup's `reply` says, remembered for `block_cache_ms`; `None` (counted) when Redis did not
    /// answer.
    fn answer(
        &self,
        address: IpAddr,
        reply: Option<(i64, Option<String>, Option<String>)>,
    ) -> Option<SharedAnswer> {
        let Some((ttl, reason, held)) = reply else {
            self.backend.count_fallback();
            return None;
        };
        let blocked = ttl > 0 || ttl == -1;
        let valid_for = if ttl > 0 {
            self.backend.block_cache.min(Duration::from_millis(ttl.unsigned_abs()))
        } else {
            self.backend.block_cache
        };
        self.remember(address, blocked, valid_for);
        let remaining = if ttl > 0 { Duration::from_millis(ttl.unsigned_abs()) } else { Duration::MAX };
        let block = blocked.then(|| (remaining, reason.unwrap_or_default()));
        let lost = held.is_none() || held != *self.epoch.lock();
        Some(SharedAnswer::Fresh { block, lost })
    }

    /// The blocks in Redis, at most `limit`: address, time left and reason. `None` while Redis is away.
    pub(crate) fn list(&self, limit: usize) -> Option<Vec<(IpAddr, Duration, String)>> {
        let prefix = self.key_prefix();
        let pattern = format!("{prefix}*");
        self.backend.run(|connection| {
            let mut found = Vec::new();
            let mut cursor = 0u64;
            loop {
                let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(500)
                    .query(connection)?;
                for key in keys {
                    if found.len() >= limit {
                        return Ok(found);
                    }
                    let Some(address) =
                        key.strip_prefix(&prefix).and_then(|text| text.parse::<IpAddr>().ok())
                    else {
                        continue;
                    };
                    let (reason, ttl): (Option<String>, i64) =
                        redis::pipe().cmd("GET").arg(&key).cmd("PTTL").arg(&key).query(connection)?;
                    let Some(reason) = reason else { continue };
                    let remaining =
                        if ttl > 0 { Duration::from_millis(ttl.unsigned_abs()) } else { Duration::MAX };
                    found.push((address, remaining, reason));
                }
                if next == 0 {
                    return Ok(found);
                }
                cursor = next;
            }
        })
    }

    /// The key of a block without its address.
    fn key_prefix(&self) -> String {
        self.backend.key(&["block", ""])
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
            matches!(blocks.is_blocked(IpAddr::from([198, 51, 100, 49])), Some(SharedAnswer::Cached(true))),
            "a cached block holds while Redis is away"
        );
        assert!(blocks.is_blocked(IpAddr::from([203, 0, 113, 1])).is_none(), "unknown and unreachable");
        assert_eq!(blocks.list(10), None);
        assert!(!backend.status().available);
    }
}
