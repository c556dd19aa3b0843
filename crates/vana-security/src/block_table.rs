//! The table of blocked networks, capped, with a share per aggregate network (an IPv6 /48, an IPv4 /24):
//! once the table is full, a new block of an aggregate that holds its share or more takes the place of
//! another of the same aggregate. An attacker who holds many client networks of one aggregate (the 65,536
//! /64s of a /48) can fill the free room, but never push out somebody else's block.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Deref;

/// One blocked network.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    pub(crate) until: u64,
    pub(crate) reason: String,
    pub(crate) offences: u32,
    /// Redis holds it too (written there, or learnt from there); false for a block made while Redis was
    /// away, which is written back when it answers again.
    #[cfg(feature = "redis")]
    pub(crate) shared: bool,
}

/// Entries looked at when a full table or share must drop a block.
const EVICTION_SAMPLE: usize = 16;
/// An aggregate may hold at most this fraction of the table.
const AGGREGATE_SHARE_DIVISOR: usize = 16;

/// Blocks by network key, and how many each aggregate holds.
#[derive(Debug, Default)]
pub(crate) struct BlockTable {
    blocks: HashMap<IpAddr, Block>,
    per_aggregate: HashMap<IpAddr, usize>,
}

impl Deref for BlockTable {
    type Target = HashMap<IpAddr, Block>;

    fn deref(&self) -> &Self::Target {
        &self.blocks
    }
}

/// The aggregate of a network key: its /48 (IPv6) or /24 (IPv4).
fn aggregate(key: IpAddr) -> IpAddr {
    match key {
        IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from_bits(v4.to_bits() & 0xFFFF_FF00)),
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & (u128::MAX << 80))),
    }
}

impl BlockTable {
    pub(crate) fn get_mut(&mut self, key: &IpAddr) -> Option<&mut Block> {
        self.blocks.get_mut(key)
    }

    /// Puts `block` in for `key`, first making room when the table holds `cap`; false when there is none.
    /// The place comes from the key's own aggregate when that holds its share or more, else from the
    /// aggregate over its share that holds the most (an expired entry of it if sampled, else the one closest
    /// to its end); when no aggregate is over its share, only an expired block gives its place: a flood of
    /// blocks spread over many networks never pushes out a block still running.
    pub(crate) fn insert(&mut self, key: IpAddr, block: Block, cap: usize, now: u64) -> bool {
        if !self.blocks.contains_key(&key) {
            let group = aggregate(key);
            if self.blocks.len() >= cap {
                let made_room = match self.over_share(group, (cap / AGGREGATE_SHARE_DIVISOR).max(1)) {
                    Some(crowded) => self.evict(now, |candidate| aggregate(candidate) == crowded),
                    None => self.evict_expired(now),
                };
                if !made_room {
                    return false;
                }
            }
            *self.per_aggregate.entry(group).or_default() += 1;
        }
        self.blocks.insert(key, block);
        true
    }

    /// Drops an expired block, if there is one (a sample first, then every entry).
    fn evict_expired(&mut self, now: u64) -> bool {
        let expired = |block: &Block| block.until <= now;
        let sampled = self.blocks.iter().take(EVICTION_SAMPLE).find(|(_, block)| expired(block));
        let victim =
            sampled.or_else(|| self.blocks.iter().find(|(_, block)| expired(block))).map(|(key, _)| *key);
        match victim {
            Some(victim) => {
                self.remove(&victim);
                true
            }
            None => false,
        }
    }

    /// The aggregate to take a place from: `group` when it holds `share` or more, else the one that holds
    /// the most if that is over `share`.
    fn over_share(&self, group: IpAddr, share: usize) -> Option<IpAddr> {
        if self.per_aggregate.get(&group).is_some_and(|&held| held >= share) {
            return Some(group);
        }
        let (crowded, &held) = self.per_aggregate.iter().max_by_key(|(_, held)| **held)?;
        (held > share).then_some(*crowded)
    }

    /// Drops the entry of `key`.
    fn remove(&mut self, key: &IpAddr) {
        if self.blocks.remove(key).is_some() {
            let group = aggregate(*key);
            if let Some(held) = self.per_aggregate.get_mut(&group) {
                *held -= 1;
                if *held == 0 {
                    self.per_aggregate.remove(&group);
                }
            }
        }
    }

    /// Drops one entry among the first [`EVICTION_SAMPLE`] that `eligible` accepts: an expired one, else
    /// the one closest to its end. Sampling keeps a flood of new blocks from costing a scan each.
    fn evict(&mut self, now: u64, eligible: impl Fn(IpAddr) -> bool) -> bool {
        let victim = self
            .blocks
            .iter()
            .filter(|(key, _)| eligible(**key))
            .take(EVICTION_SAMPLE)
            .min_by_key(|(_, block)| if block.until <= now { 0 } else { block.until })
            .map(|(key, _)| *key);
        match victim {
            Some(victim) => {
                self.remove(&victim);
                true
            }
            None => false,
        }
    }

    #[cfg(test)]
    fn held_by(&self, group: IpAddr) -> usize {
        self.per_aggregate.get(&group).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(until: u64) -> Block {
        Block {
            until,
            reason: String::new(),
            offences: 1,
            #[cfg(feature = "redis")]
            shared: false,
        }
    }

    #[test]
    fn a_flooding_aggregate_fills_the_free_room_and_then_only_replaces_its_own() {
        let mut table = BlockTable::default();
        let cap = 64; // a share of 4
        let bystander: IpAddr = "2001:db8:ffff::".parse().unwrap();
        table.insert(bystander, block(1_000), cap, 0);
        // Thousands of /64s of one /48, each blocked later than the last.
        for n in 0..5_000u128 {
            let key = IpAddr::V6(Ipv6Addr::from_bits((0x2001_0db8_0001u128 << 80) | (n << 64)));
            table.insert(key, block(2_000 + n as u64), cap, 0);
        }
        let flooding = aggregate("2001:db8:1::".parse().unwrap());
        assert_eq!(table.held_by(flooding), 63, "the free room");
        assert!(table.contains_key(&bystander), "the bystander's block, closest to its end, stays");
        assert_eq!(table.len(), cap);
        // Another network is blocked into the full table: the flood, over its share, gives up a place.
        let other: IpAddr = "198.51.100.0".parse().unwrap();
        table.insert(other, block(9_000), cap, 0);
        assert!(table.contains_key(&other) && table.contains_key(&bystander));
        assert_eq!(table.held_by(flooding), 62);
    }

    #[test]
    fn a_full_table_drops_an_expired_entry_first_and_counts_follow() {
        let mut table = BlockTable::default();
        let cap = EVICTION_SAMPLE; // the sample sees every entry; a share of 1, one IPv4 /24 each here
        for n in 0..cap as u32 {
            let key = IpAddr::V4(Ipv4Addr::from_bits(0x0a00_0000 | (n << 8)));
            table.insert(key, block(if n == 7 { 5 } else { 1_000 }), cap, 0);
        }
        assert_eq!(table.len(), cap);
        let newcomer = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        table.insert(newcomer, block(1_000), cap, 10);
        assert_eq!(table.len(), cap);
        assert!(table.contains_key(&newcomer));
        assert!(!table.contains_key(&IpAddr::V4(Ipv4Addr::from_bits(0x0a00_0700))), "the expired one went");
        assert_eq!(table.held_by(aggregate(IpAddr::V4(Ipv4Addr::from_bits(0x0a00_0700)))), 0);
        // Re-blocking a key already held changes nothing in the counts.
        table.insert(newcomer, block(2_000), cap, 10);
        assert_eq!(table.held_by(aggregate(newcomer)), 1);
    }

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    #[test]
    fn an_aggregate_under_its_share_takes_its_place_from_the_most_crowded_one() {
        let mut table = BlockTable::default();
        let cap = 64; // a share of 4
        // Two addresses of one /24 are one aggregate.
        table.insert(v4(192, 0, 2, 1), block(1_000), cap, 0);
        table.insert(v4(192, 0, 2, 2), block(1_000), cap, 0);
        assert_eq!(table.held_by(aggregate(v4(192, 0, 2, 0))), 2);
        for n in 0..62u8 {
            table.insert(v4(198, 51, 100, n), block(1_000), cap, 0);
        }
        // Full. A third block of the /24 under its share takes a place from the crowded /24, not its own.
        table.insert(v4(192, 0, 2, 3), block(1_000), cap, 0);
        assert_eq!(table.held_by(aggregate(v4(192, 0, 2, 0))), 3);
        assert_eq!(table.held_by(aggregate(v4(198, 51, 100, 0))), 61);
    }

    #[test]
    fn a_newcomer_never_takes_the_place_of_an_aggregate_within_its_share() {
        let mut table = BlockTable::default();
        let cap = EVICTION_SAMPLE; // a share of 1, and the sample sees every entry
        let quiet = v4(192, 0, 2, 1);
        table.insert(quiet, block(5), cap, 0); // the block closest to its end
        for n in 0..(cap - 1) as u8 {
            table.insert(v4(198, 51, 100, n), block(1_000), cap, 0);
        }
        table.insert(v4(203, 0, 113, 1), block(1_000), cap, 0);
        assert!(table.contains_key(&quiet), "the place came from the crowded aggregate");
        assert_eq!(table.held_by(aggregate(v4(198, 51, 100, 0))), cap - 2);
    }

    #[test]
    fn a_flood_spread_over_many_networks_never_pushes_out_a_running_block() {
        let mut table = BlockTable::default();
        let cap = 1000; // a share of 62
        let earlier: Vec<IpAddr> =
            (0..20u32).map(|n| IpAddr::V4(Ipv4Addr::from_bits(0x0a00_0000 | (n << 8)))).collect();
        for key in &earlier {
            assert!(table.insert(*key, block(1_000), cap, 0));
        }
        // 3,000 new blocks, each from a /24 of its own: the free room fills, then the rest are refused.
        let admitted = (0..3_000u32)
            .filter(|n| {
                table.insert(IpAddr::V4(Ipv4Addr::from_bits(0x6400_0000 | (n << 8))), block(2_000), cap, 0)
            })
            .count();
        assert_eq!(admitted, cap - earlier.len());
        assert!(earlier.iter().all(|key| table.contains_key(key)), "every earlier block stays");
        assert_eq!(table.len(), cap);
        // Once a block has run out, its place is free again.
        assert!(table.insert(v4(192, 0, 2, 1), block(3_000), cap, 1_500), "an expired block gives its place");
        assert_eq!(earlier.iter().filter(|key| table.contains_key(key)).count(), earlier.len() - 1);
    }
}
