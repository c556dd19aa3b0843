//! Floods of identical refusals in the request log: the first refusal of a client network with a status in
//! each `http.refusal_log_window_ms` is logged as usual, the rest are counted, and the count is written as
//! one summary line once the window is over. Under an attack flood the log grows by a line per attacker and
//! window, not per request; the security events and their counters still see every refusal.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Most (network, status) pairs followed at once; past it, refusals of new pairs are logged as usual.
const MAX_FOLLOWED: usize = 10_000;

/// What one (network, status) pair has done in its window.
struct Window {
    opened: Instant,
    suppressed: u64,
}

/// A summary to write: `suppressed` refusals with `status` from `network` within `window`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) network: IpAddr,
    pub(crate) status: u16,
    pub(crate) suppressed: u64,
}

/// What [`RefusalFloods::admit`] says of a refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Log,
    Suppress,
    /// Write this summary of the window that just ended, then the refusal's line.
    LogAfter(Summary),
}

/// The refusals followed.
pub(crate) struct RefusalFloods {
    window: Duration,
    start: Instant,
    /// When the table was last swept, in milliseconds since `start`.
    last_sweep: AtomicU64,
    followed: Mutex<HashMap<(IpAddr, u16), Window>>,
}

impl RefusalFloods {
    pub(crate) fn new(window: Duration) -> Self {
        Self {
            window,
            start: Instant::now(),
            last_sweep: AtomicU64::new(0),
            followed: Mutex::new(HashMap::new()),
        }
    }

    /// What to do with a refusal with `status` of a client of `network` at `now`: log it (the first of its
    /// window, or one the table has no room to follow), suppress it, or log it after the summary of the
    /// window it ends.
    pub(crate) fn admit(&self, network: IpAddr, status: u16, now: Instant) -> Verdict {
        let mut followed = self.followed.lock();
        let full = followed.len() >= MAX_FOLLOWED;
        match followed.get_mut(&(network, status)) {
            Some(window) if now.saturating_duration_since(window.opened) < self.window => {
                window.suppressed += 1;
                Verdict::Suppress
            }
            Some(window) => {
                let suppressed = std::mem::take(&mut window.suppressed);
                window.opened = now;
                match suppressed {
                    0 => Verdict::Log,
                    _ => Verdict::LogAfter(Summary { network, status, suppressed }),
                }
            }
            None if full => Verdict::Log,
            None => {
                followed.insert((network, status), Window { opened: now, suppressed: 0 });
                Verdict::Log
            }
        }
    }

    /// The windows over at `now` (floods that stopped), taken out of the table, with the summaries of those
    /// that suppressed something. At most one sweep a window: a request costs one clock comparison otherwise.
    pub(crate) fn sweep(&self, now: Instant) -> Vec<Summary> {
        let since_start =
            u64::try_from(now.saturating_duration_since(self.start).as_millis()).unwrap_or(u64::MAX);
        let last = self.last_sweep.load(Ordering::Relaxed);
        let window_ms = u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX);
        if since_start.saturating_sub(last) < window_ms
            || self
                .last_sweep
                .compare_exchange(last, since_start, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return Vec::new();
        }
        let mut summaries = Vec::new();
        self.followed.lock().retain(|&(network, status), window| {
            let open = now.saturating_duration_since(window.opened) < self.window;
            if !open && window.suppressed > 0 {
                summaries.push(Summary { network, status, suppressed: window.suppressed });
            }
            open
        });
        summaries
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.followed.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_first_of_a_window_is_logged_the_rest_summarized_once_it_is_over() {
        let floods = RefusalFloods::new(Duration::from_secs(10));
        let t0 = floods.start;
        let attacker = ip("203.0.113.9");
        assert_eq!(floods.admit(attacker, 400, t0), Verdict::Log);
        for n in 1..=999 {
            assert_eq!(floods.admit(attacker, 400, t0 + Duration::from_millis(n)), Verdict::Suppress);
        }
        assert_eq!(floods.admit(attacker, 429, t0), Verdict::Log, "another status is another flood");
        assert_eq!(floods.admit(ip("203.0.113.10"), 400, t0), Verdict::Log, "another network too");
        // The flood goes on into the next window: its first refusal comes after the summary of the last.
        let summary = Summary { network: attacker, status: 400, suppressed: 999 };
        assert_eq!(floods.admit(attacker, 400, t0 + Duration::from_secs(10)), Verdict::LogAfter(summary));
        assert_eq!(floods.admit(attacker, 400, t0 + Duration::from_secs(11)), Verdict::Suppress);
        // A flood that stops is summarized by the sweep once its window is over.
        assert_eq!(floods.sweep(t0 + Duration::from_secs(15)), [], "not over yet");
        // (At most one sweep a window: the next one is due 10 s after the last.)
        assert_eq!(floods.sweep(t0 + Duration::from_secs(21)), []);
        let summaries = floods.sweep(t0 + Duration::from_secs(26));
        assert_eq!(summaries, [Summary { network: attacker, status: 400, suppressed: 1 }]);
        assert_eq!(floods.len(), 0, "windows that are over leave the table");
        assert_eq!(floods.admit(attacker, 400, t0 + Duration::from_secs(27)), Verdict::Log);
    }

    #[test]
    fn windows_end_exactly_on_time_and_a_quiet_one_has_no_summary() {
        let floods = RefusalFloods::new(Duration::from_secs(10));
        let t0 = floods.start;
        let (quiet, loud) = (ip("203.0.113.1"), ip("203.0.113.2"));
        assert_eq!(floods.admit(quiet, 400, t0), Verdict::Log);
        assert_eq!(floods.admit(loud, 400, t0), Verdict::Log);
        assert_eq!(floods.admit(loud, 400, t0), Verdict::Suppress);
        // Exactly one window later both are over: the sweep runs and summarizes only what it suppressed.
        let at_the_end = t0 + Duration::from_secs(10);
        assert_eq!(floods.sweep(at_the_end), [Summary { network: loud, status: 400, suppressed: 1 }]);
        assert_eq!(floods.len(), 0);
        // A window that suppressed nothing ends without a summary.
        assert_eq!(floods.admit(quiet, 400, at_the_end), Verdict::Log);
        assert_eq!(floods.admit(quiet, 400, at_the_end + Duration::from_secs(10)), Verdict::Log);
    }

    #[test]
    fn the_table_is_capped_and_past_it_everything_is_logged() {
        let floods = RefusalFloods::new(Duration::from_secs(10));
        let t0 = floods.start;
        for n in 0..(MAX_FOLLOWED as u32 + 500) {
            assert_eq!(floods.admit(IpAddr::from(n.to_be_bytes()), 400, t0), Verdict::Log);
        }
        assert_eq!(floods.len(), MAX_FOLLOWED);
        let unfollowed = IpAddr::from((MAX_FOLLOWED as u32 + 1).to_be_bytes());
        assert_eq!(floods.admit(unfollowed, 400, t0), Verdict::Log, "not followed: logged every time");
        assert_eq!(floods.admit(unfollowed, 400, t0), Verdict::Log);
    }
}
