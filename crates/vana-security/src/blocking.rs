//! Blocking addresses: blocks that expire, a whitelist that always wins, escalation for repeat offenders,
//! and a cap on the table.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ipnet::IpNet;
use parking_lot::Mutex;
use vana_config::IpBlocking;

use crate::block_table::{Block, BlockTable};
use crate::networks::ClientNetworks;
use crate::rate_limit::{Clock, MonotonicClock};

/// Longest block reason kept, in bytes.
const MAX_REASON_BYTES: usize = 256;

/// What [`IpBlocklist::block`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockOutcome {
    /// The address is blocked for this long (this is its `offences`-th block).
    Blocked {
        /// How long this block lasts.
        duration: Duration,
        /// How many times the address has been blocked, this time included.
        offences: u32,
    },
    /// The address is whitelisted and was not blocked.
    Whitelisted,
    /// The table of blocks is full of blocks still running (`ip_blocking.max_blocked`), none of an
    /// aggregate over its share: a flood spread over many networks is refused new blocks rather than push
    /// out earlier ones. With the Redis backend the block is still the fleet's when Redis took it.
    TableFull,
}

/// A network that is blocked now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedAddress {
    /// The blocked network: one IPv4 address, or an IPv6 /64 by default (`client_address.ipv*_prefix_length`).
    pub network: IpNet,
    /// Time left.
    pub remaining: Duration,
    /// Why it was blocked.
    pub reason: String,
    /// How many times it has been blocked.
    pub offences: u32,
}

/// Blocked addresses, in memory.
///
/// ```
/// use std::net::IpAddr;
/// use vana_security::{BlockOutcome, IpBlocklist};
///
/// let blocklist = IpBlocklist::from_config(&vana_config::IpBlocking::default());
/// let attacker: IpAddr = "198.51.100.7".parse().unwrap();
/// assert!(matches!(blocklist.block(attacker, "sql injection"), BlockOutcome::Blocked { .. }));
/// assert!(blocklist.is_blocked(attacker));
/// // The whitelist wins, also over auto-blocking.
/// assert_eq!(blocklist.block("127.0.0.1".parse().unwrap(), "x"), BlockOutcome::Whitelisted);
/// ```
pub struct IpBlocklist {
    table: Mutex<BlockTable>,
    /// The latest end of any block made here: past it nothing local is blocked, and a check reads this
    /// instead of taking the lock every request shares.
    latest_end: AtomicU64,
    whitelist: Vec<IpNet>,
    base: Duration,
    max: Duration,
    escalate: bool,
    cap: usize,
    clock: Arc<dyn Clock>,
    /// Blocks hold for a client's whole network.
    networks: ClientNetworks,
    /// Blocks shared with other instances through Redis (`backend.type: redis`).
    #[cfg(feature = "redis")]
    shared: Option<crate::shared::SharedBlocks>,
    /// A block was made here while Redis did not answer: it is written back at the next answer.
    #[cfg(feature = "redis")]
    unsynced: std::sync::atomic::AtomicBool,
}

/// IPv4-mapped IPv6 (`::ffff:10.0.0.1`) as the IPv4 address it is.
pub fn canonical(address: IpAddr) -> IpAddr {
    address.to_canonical()
}

impl IpBlocklist {
    /// The blocklist of the `ip_blocking` section.
    pub fn from_config(config: &IpBlocking) -> Self {
        Self::with_clock(config, Arc::new(MonotonicClock::default()))
    }

    /// The same on `clock`.
    pub fn with_clock(config: &IpBlocking, clock: Arc<dyn Clock>) -> Self {
        Self {
            table: Mutex::new(BlockTable::default()),
            latest_end: AtomicU64::new(0),
            whitelist: config.whitelist_networks(),
            base: config.block_duration(),
            max: Duration::from_secs(config.max_block_hours.saturating_mul(3600))
                .max(config.block_duration()),
            escalate: config.escalate_repeat_offenders,
            cap: usize::try_from(config.max_blocked).unwrap_or(usize::MAX).max(1),
            clock,
            networks: ClientNetworks::default(),
            #[cfg(feature = "redis")]
            shared: None,
            #[cfg(feature = "redis")]
            unsynced: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Blocks hold for the networks of `networks` (by default an IPv4 address or an IPv6 /64).
    pub fn with_networks(mut self, networks: ClientNetworks) -> Self {
        self.networks = networks;
        self
    }

    /// Shares blocks through `backend`: a block made here holds on every instance, and blocks made elsewhere
    /// hold here (seen within `backend.block_cache_ms`).
    #[cfg(feature = "redis")]
    pub fn shared_through(mut self, backend: Arc<crate::shared::RedisBackend>) -> Self {
        self.shared = Some(crate::shared::SharedBlocks::new(backend));
        self
    }

    /// Whether `address` is whitelisted (never blocked; still rate-limited and validated).
    pub fn is_whitelisted(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.whitelist.iter().any(|network| network.contains(&address))
    }

    /// Blocks the network of `address` for the configured time, doubled for each earlier block while
    /// escalation is on (capped at `max_block_hours`). A whitelisted address is never blocked (nor, inside a
    /// blocked network, refused).
    pub fn block(&self, address: IpAddr, reason: &str) -> BlockOutcome {
        let made = match self.block_here(address, reason) {
            Ok(made) => made,
            Err(outcome) => return outcome,
        };
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            let written = shared.block(made.key, &made.reason, made.duration);
            return self.shared_outcome(&made, written);
        }
        made.outcome()
    }

    /// [`block`](Self::block), writing to Redis on the multiplexed connection (on a Tokio runtime).
    pub async fn block_async(&self, address: IpAddr, reason: &str) -> BlockOutcome {
        let made = match self.block_here(address, reason) {
            Ok(made) => made,
            Err(outcome) => return outcome,
        };
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            let written = shared.block_async(made.key, &made.reason, made.duration).await;
            return self.shared_outcome(&made, written);
        }
        made.outcome()
    }

    /// The block in this instance's table: what was made, or the outcome when nothing was (whitelisted).
    fn block_here(&self, address: IpAddr, reason: &str) -> Result<Made, BlockOutcome> {
        if self.is_whitelisted(address) {
            return Err(BlockOutcome::Whitelisted);
        }
        let address = self.networks.key(address);
        let now = self.clock.now_nanos();
        let mut table = self.table.lock();
        let forget_after = duration_nanos(self.max);
        // An earlier offence counts while it is recent: within the longest block after its end.
        let earlier = table
            .get(&address)
            .filter(|block| block.until.saturating_add(forget_after) > now)
            .map_or(0, |b| b.offences);
        let offences = earlier.saturating_add(1);
        let duration = if self.escalate {
            let factor = 1u32.checked_shl(offences - 1).unwrap_or(u32::MAX);
            self.base.saturating_mul(factor).min(self.max)
        } else {
            self.base
        };
        let reason = crate::truncate_to(reason, MAX_REASON_BYTES).to_owned();
        let until = now.saturating_add(duration_nanos(duration));
        let block = Block {
            until,
            reason: reason.clone(),
            offences,
            #[cfg(feature = "redis")]
            shared: false,
        };
        let held = table.insert(address, block, self.cap, now);
        // Under the lock, so a check that finds no block here also finds `latest_end` up to date.
        if held {
            self.latest_end.fetch_max(until, Ordering::Release);
        }
        Ok(Made {
            #[cfg(feature = "redis")]
            key: address,
            #[cfg(feature = "redis")]
            reason,
            duration,
            offences,
            held,
        })
    }

    /// The outcome of a block Redis took (`written`) or did not: a block Redis holds counts even when this
    /// instance's table was full; one it did not take is written back later.
    #[cfg(feature = "redis")]
    fn shared_outcome(&self, made: &Made, written: bool) -> BlockOutcome {
        if written {
            self.mark_shared(made.key);
            return BlockOutcome::Blocked { duration: made.duration, offences: made.offences };
        }
        self.unsynced.store(made.held, Ordering::Release);
        made.outcome()
    }

    /// Lifts the block of `address`'s network; true when it was blocked.
    pub fn unblock(&self, address: IpAddr) -> bool {
        let address = self.networks.key(address);
        let now = self.clock.now_nanos();
        let mut table = self.table.lock();
        let local = match table.get_mut(&address) {
            // Keep the offence count for escalation; end the block now.
            Some(block) if block.until > now => {
                block.until = now;
                true
            }
            _ => false,
        };
        drop(table);
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            return shared.unblock(address) || local;
        }
        local
    }

    /// Whether `address` is blocked now. With shared blocks Redis decides while it answers (a block made or
    /// lifted by any instance holds here within `backend.block_cache_ms`), and this instance's own table
    /// while it does not. A whitelisted address never is.
    pub fn is_blocked(&self, address: IpAddr) -> bool {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            if self.is_whitelisted(address) {
                return false;
            }
            let key = self.networks.key(address);
            if let Some(answer) = shared.is_blocked(key) {
                let (block, lost) = match answer {
                    crate::shared::SharedAnswer::Cached(blocked) => return blocked,
                    crate::shared::SharedAnswer::Fresh { block, lost } => (block, lost),
                };
                let written_back = self.must_write_back(lost) && self.write_back(shared, lost);
                return self.follow(key, block, written_back);
            }
        }
        self.is_blocked_here(address)
    }

    /// [`is_blocked`](Self::is_blocked), asking Redis on the multiplexed connection (on a Tokio runtime).
    pub async fn is_blocked_async(&self, address: IpAddr) -> bool {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            if self.is_whitelisted(address) {
                return false;
            }
            let key = self.networks.key(address);
            if let Some(answer) = shared.is_blocked_async(key).await {
                let (block, lost) = match answer {
                    crate::shared::SharedAnswer::Cached(blocked) => return blocked,
                    crate::shared::SharedAnswer::Fresh { block, lost } => (block, lost),
                };
                let mut written_back = false;
                if self.must_write_back(lost) {
                    let pending = self.pending_write_back(lost);
                    written_back = shared.write_back_async(&pending).await && self.written_back(&pending);
                }
                return self.follow(key, block, written_back);
            }
        }
        self.is_blocked_here(address)
    }

    /// Whether this instance's blocks go back to Redis first: all of them when Redis lost them (`lost`),
    /// else those made while it was away.
    #[cfg(feature = "redis")]
    fn must_write_back(&self, lost: bool) -> bool {
        lost || self.unsynced.load(Ordering::Acquire)
    }

    /// What Redis answered, and what this instance keeps from it: a block Redis holds is learnt here (so
    /// it can be written back); a block held here that Redis no longer holds was lifted (or ran out)
    /// elsewhere, and ends here; blocks made while Redis was away, or all of them when Redis restarted
    /// empty, are written back first.
    #[cfg(feature = "redis")]
    fn follow(&self, key: IpAddr, block: Option<(Duration, String)>, written_back: bool) -> bool {
        let now = self.clock.now_nanos();
        let mut table = self.table.lock();
        match block {
            Some((remaining, reason)) => {
                let until = now.saturating_add(duration_nanos(remaining));
                match table.get_mut(&key) {
                    Some(held) => {
                        held.until = held.until.max(until);
                        held.shared = true;
                    }
                    None => {
                        // A full table keeps what it holds: Redis still answers for this block.
                        let learnt = Block { until, reason, offences: 1, shared: true };
                        let _ = table.insert(key, learnt, self.cap, now);
                    }
                }
                self.latest_end.fetch_max(until, Ordering::Release);
                true
            }
            None => match table.get_mut(&key) {
                Some(held) if held.until > now && (written_back || !held.shared) => true,
                Some(held) => {
                    held.until = held.until.min(now);
                    false
                }
                None => false,
            },
        }
    }

    /// Writes this instance's blocks back to Redis: those it made while Redis was away, or every block it
    /// holds when Redis lost them all (`everything`). True when Redis took them.
    #[cfg(feature = "redis")]
    fn write_back(&self, shared: &crate::shared::SharedBlocks, everything: bool) -> bool {
        let pending = self.pending_write_back(everything);
        shared.write_back(&pending) && self.written_back(&pending)
    }

    /// The blocks to write back: running ones made while Redis was away, or all when `everything`.
    #[cfg(feature = "redis")]
    fn pending_write_back(&self, everything: bool) -> Vec<(IpAddr, Duration, String)> {
        let now = self.clock.now_nanos();
        self.table
            .lock()
            .iter()
            .filter(|(_, block)| block.until > now && (everything || !block.shared))
            .map(|(address, block)| (*address, Duration::from_nanos(block.until - now), block.reason.clone()))
            .collect()
    }

    /// Redis took `pending`: they are shared now. Always true.
    #[cfg(feature = "redis")]
    fn written_back(&self, pending: &[(IpAddr, Duration, String)]) -> bool {
        self.unsynced.store(false, Ordering::Release);
        let mut table = self.table.lock();
        for (address, _, _) in pending {
            if let Some(block) = table.get_mut(address) {
                block.shared = true;
            }
        }
        true
    }

    #[cfg(feature = "redis")]
    fn mark_shared(&self, key: IpAddr) {
        if let Some(block) = self.table.lock().get_mut(&key) {
            block.shared = true;
        }
    }

    fn is_blocked_here(&self, address: IpAddr) -> bool {
        // Nothing ever blocked here (the common case) needs no clock, key or whitelist either.
        let latest_end = self.latest_end.load(Ordering::Acquire);
        if latest_end == 0 {
            return false;
        }
        let now = self.clock.now_nanos();
        latest_end > now
            && self.table.lock().get(&self.networks.key(address)).is_some_and(|block| block.until > now)
            && !self.is_whitelisted(address)
    }

    /// The addresses blocked now, longest remaining first, at most `limit`: from Redis with shared blocks
    /// (every instance's), else this instance's.
    pub fn blocked(&self, limit: usize) -> Vec<BlockedAddress> {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            if let Some(found) = shared.list(limit) {
                let table = self.table.lock();
                let mut blocked: Vec<BlockedAddress> = found
                    .into_iter()
                    .map(|(address, remaining, reason)| BlockedAddress {
                        offences: table.get(&address).map_or(1, |block| block.offences),
                        network: self.networks.network(address),
                        remaining,
                        reason,
                    })
                    .collect();
                blocked.sort_by_key(|entry| std::cmp::Reverse(entry.remaining));
                return blocked;
            }
        }
        self.blocked_here(limit)
    }

    fn blocked_here(&self, limit: usize) -> Vec<BlockedAddress> {
        let now = self.clock.now_nanos();
        let mut blocked: Vec<BlockedAddress> = self
            .table
            .lock()
            .iter()
            .filter(|(_, block)| block.until > now)
            .map(|(address, block)| BlockedAddress {
                network: self.networks.network(*address),
                remaining: Duration::from_nanos(block.until - now),
                reason: block.reason.clone(),
                offences: block.offences,
            })
            .collect();
        blocked.sort_by_key(|entry| std::cmp::Reverse(entry.remaining));
        blocked.truncate(limit);
        blocked
    }

    /// How many addresses are blocked now (here; blocks held only in a shared backend are not counted).
    pub fn blocked_count(&self) -> usize {
        let now = self.clock.now_nanos();
        self.table.lock().values().filter(|block| block.until > now).count()
    }

    /// Entries held, blocked or remembered for escalation (at most `max_blocked`).
    pub fn len(&self) -> usize {
        self.table.lock().len()
    }

    /// Whether no address is blocked or remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for IpBlocklist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpBlocklist")
            .field("entries", &self.len())
            .field("whitelist", &self.whitelist)
            .finish()
    }
}

fn duration_nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// A block made in this instance's table.
struct Made {
    /// The blocked network's key.
    #[cfg(feature = "redis")]
    key: IpAddr,
    #[cfg(feature = "redis")]
    reason: String,
    duration: Duration,
    offences: u32,
    /// Whether the table took it (a full table keeps what it holds).
    held: bool,
}

impl Made {
    fn outcome(&self) -> BlockOutcome {
        if self.held {
            BlockOutcome::Blocked { duration: self.duration, offences: self.offences }
        } else {
            BlockOutcome::TableFull
        }
    }
}
