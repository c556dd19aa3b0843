//! `Throttle`: a log line that repeats under load (refused connections, a server that gives no peer
//! address) is written at most once every ten seconds, the first time at once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The shortest time between two lines of one throttle.
const EVERY: Duration = Duration::from_secs(10);

/// At most one call of [`warn`](Self::warn)'s closure every ten seconds.
pub(crate) struct Throttle {
    start: Instant,
    /// Milliseconds since `start` of the last line, plus one (0: none yet).
    last: AtomicU64,
}

impl Default for Throttle {
    fn default() -> Self {
        Self { start: Instant::now(), last: AtomicU64::new(0) }
    }
}

impl Throttle {
    /// Calls `emit` if no line was written in the last ten seconds.
    pub(crate) fn warn(&self, emit: impl FnOnce()) {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX).saturating_add(1);
        let last = self.last.load(Ordering::Relaxed);
        let due = last == 0 || now.saturating_sub(last) >= EVERY.as_millis() as u64;
        if due && self.last.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            emit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_is_written_and_the_next_within_ten_seconds_is_not() {
        let throttle = Throttle::default();
        let mut written = 0;
        for _ in 0..5 {
            throttle.warn(|| written += 1);
        }
        assert_eq!(written, 1);
    }
}
