//! Counting refused attacks per address, so an address is blocked on repeated evidence, not on one
//! request: `auto_block_after` refusals within `auto_block_window_seconds`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::blocking::canonical;
use crate::rate_limit::Clock;

/// Entries looked at when a full table must make room.
const EVICTION_SAMPLE: usize = 16;

/// One address's refusals in its current window.
#[derive(Debug, Clone, Copy)]
struct Count {
    refusals: u32,
    window_start: u64,
}

/// Refused attacks by address within a window, for a bounded number of addresses.
#[derive(Debug)]
pub(crate) struct Strikes {
    counts: Mutex<HashMap<IpAddr, Count>>,
    limit: NonZeroU32,
    window: u64,
    cap: usize,
    clock: Arc<dyn Clock>,
    /// The fleet's count in Redis (`backend.type: redis`); this instance's own while Redis does not answer.
    #[cfg(feature = "redis")]
    shared: Option<crate::shared::SharedStrikes>,
}

impl Strikes {
    /// `limit` refusals within `window` call for a block; at most `cap` addresses are counted at once.
    pub(crate) fn new(limit: NonZeroU32, window: Duration, cap: usize, clock: Arc<dyn Clock>) -> Self {
        Self {
            counts: Mutex::new(HashMap::new()),
            limit,
            window: u64::try_from(window.as_nanos()).unwrap_or(u64::MAX).max(1),
            cap: cap.max(1),
            clock,
            #[cfg(feature = "redis")]
            shared: None,
        }
    }

    /// Counts in Redis through `backend`, across the fleet.
    #[cfg(feature = "redis")]
    pub(crate) fn shared_through(mut self, backend: Arc<crate::shared::RedisBackend>) -> Self {
        self.shared = Some(crate::shared::SharedStrikes::new(backend));
        self
    }

    /// Counts one refusal of `address`; true when it reaches the limit within the window (the count then
    /// starts again, so the next block needs as much evidence).
    pub(crate) fn strike(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        #[cfg(feature = "redis")]
        if let Some(reached) =
            self.shared.as_ref().and_then(|shared| shared.strike(address, self.window(), self.limit.get()))
        {
            return reached;
        }
        self.strike_here(address)
    }

    /// [`strike`](Self::strike), counting in Redis on the multiplexed connection (on a Tokio runtime).
    pub(crate) async fn strike_async(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared
            && let Some(reached) = shared.strike_async(address, self.window(), self.limit.get()).await
        {
            return reached;
        }
        self.strike_here(address)
    }

    /// One refusal counted in this instance's table.
    fn strike_here(&self, address: IpAddr) -> bool {
        let now = self.clock.now_nanos();
        let mut counts = self.counts.lock();
        if !counts.contains_key(&address) && counts.len() >= self.cap && !self.make_room(&mut counts, now) {
            // Every counted address is within its window: a flood of new ones is not counted rather than
            // reset the counts already running.
            return false;
        }
        let count = counts.entry(address).or_insert(Count { refusals: 0, window_start: now });
        if now.saturating_sub(count.window_start) >= self.window {
            *count = Count { refusals: 0, window_start: now };
        }
        count.refusals = count.refusals.saturating_add(1);
        if count.refusals >= self.limit.get() {
            counts.remove(&address);
            return true;
        }
        false
    }

    /// Frees the place of an address whose window is over (a sample first, then every entry); false when
    /// every counted address is still counting.
    fn make_room(&self, counts: &mut HashMap<IpAddr, Count>, now: u64) -> bool {
        let over = |count: &Count| now.saturating_sub(count.window_start) >= self.window;
        let sampled = counts.iter().take(EVICTION_SAMPLE).find(|(_, count)| over(count));
        let victim =
            sampled.or_else(|| counts.iter().find(|(_, count)| over(count))).map(|(address, _)| *address);
        match victim {
            Some(victim) => {
                counts.remove(&victim);
                true
            }
            None => false,
        }
    }

    /// Refusals that call for a block.
    pub(crate) fn limit(&self) -> u32 {
        self.limit.get()
    }

    /// The window they are counted in.
    pub(crate) fn window(&self) -> Duration {
        Duration::from_nanos(self.window)
    }

    /// Addresses counted now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.counts.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate_limit::ManualClock;

    fn strikes(limit: u32, cap: usize) -> (Strikes, ManualClock) {
        let clock = ManualClock::new();
        let limit = NonZeroU32::new(limit).unwrap();
        (Strikes::new(limit, Duration::from_secs(600), cap, Arc::new(clock.clone())), clock)
    }

    #[test]
    fn the_limit_within_the_window_strikes_out_and_starts_again() {
        let (strikes, _) = strikes(3, 100);
        let address: IpAddr = "198.51.100.7".parse().unwrap();
        assert!(!strikes.strike(address));
        assert!(!strikes.strike(address));
        assert!(strikes.strike(address), "the third refusal reaches the limit");
        assert!(!strikes.strike(address), "counting starts again");
    }

    #[test]
    fn refusals_spread_wider_than_the_window_never_add_up() {
        let (strikes, clock) = strikes(3, 100);
        let address: IpAddr = "198.51.100.7".parse().unwrap();
        for _ in 0..10 {
            assert!(!strikes.strike(address));
            assert!(!strikes.strike(address));
            clock.advance(Duration::from_secs(601));
        }
    }

    #[test]
    fn mapped_addresses_count_as_the_address_they_are() {
        let (strikes, _) = strikes(2, 100);
        assert!(!strikes.strike("::ffff:198.51.100.7".parse().unwrap()));
        assert!(strikes.strike("198.51.100.7".parse().unwrap()));
    }

    #[test]
    fn a_full_table_forgets_a_finished_window_first_and_never_a_counting_address() {
        let (strikes, clock) = strikes(3, 4);
        let address = |n: u8| IpAddr::from([198, 51, 100, n]);
        assert!(!strikes.strike(address(1)));
        clock.advance(Duration::from_secs(601)); // address 1's window is over
        for n in 2..=4 {
            assert!(!strikes.strike(address(n)));
            clock.advance(Duration::from_secs(1)); // windows open one after another
        }
        assert_eq!(strikes.len(), 4, "nothing is forgotten below the cap");
        // A new address at the cap takes the place of the finished window.
        assert!(!strikes.strike(address(5)));
        assert_eq!(strikes.len(), 4);
        // A known address striking again at the cap pushes nobody out ...
        assert!(!strikes.strike(address(3)));
        // ... so address 2 (the oldest window still counting) keeps its count: its third refusal blocks.
        assert!(!strikes.strike(address(2)));
        assert!(strikes.strike(address(2)));
    }

    #[test]
    fn the_table_is_capped() {
        let (strikes, clock) = strikes(5, 64);
        for index in 0..10_000u32 {
            strikes.strike(IpAddr::from(index.to_be_bytes()));
            if index % 1000 == 0 {
                clock.advance(Duration::from_secs(1));
            }
            assert!(strikes.len() <= 64);
        }
    }

    #[test]
    fn a_flood_of_new_addresses_never_resets_a_count_that_is_running() {
        let (strikes, clock) = strikes(3, 16);
        let watched = IpAddr::from([192, 0, 2, 1]);
        assert!(!strikes.strike(watched) && !strikes.strike(watched));
        for index in 0..3_000u32 {
            strikes.strike(IpAddr::from((0x6400_0000 + index).to_be_bytes()));
        }
        assert_eq!(strikes.len(), 16);
        assert!(strikes.strike(watched), "the watched address's third refusal still blocks");
        // Once windows are over, new addresses are counted again.
        clock.advance(Duration::from_secs(601));
        let newcomer = IpAddr::from([203, 0, 113, 1]);
        assert!(!strikes.strike(newcomer) && !strikes.strike(newcomer));
        assert!(strikes.strike(newcomer));
    }
}
