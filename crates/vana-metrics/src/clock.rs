//! Time for the monitor: a monotonic clock for durations and ages, and wall-clock timestamps derived from
//! it (the wall time at start plus the monotonic time since), so timestamps never jump when the system
//! clock is stepped. Injectable for tests.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The monitor's clock.
pub trait MetricsClock: Send + Sync + std::fmt::Debug {
    /// Monotonic nanoseconds since the clock started.
    fn now_nanos(&self) -> u64;
    /// The wall-clock time at the clock's start.
    fn start_wall(&self) -> SystemTime;

    /// The wall-clock time of monotonic instant `nanos`.
    fn wall_at(&self, nanos: u64) -> SystemTime {
        self.start_wall() + Duration::from_nanos(nanos)
    }
}

/// The system clocks: a monotonic clock read from the CPU's invariant time-stamp counter where there is
/// one (the `quanta` crate, calibrated against the OS clock; a few nanoseconds a read instead of a system
/// call's tens), the OS monotonic clock otherwise.
#[derive(Debug, Clone)]
pub struct SystemClock {
    clock: quanta::Clock,
    /// The raw counter at start: deltas from it scale to nanoseconds with one multiply and shift.
    start_raw: u64,
    start_wall: SystemTime,
}

impl Default for SystemClock {
    fn default() -> Self {
        let clock = quanta::Clock::new();
        let start_raw = clock.raw();
        Self { clock, start_raw, start_wall: SystemTime::now() }
    }
}

impl MetricsClock for SystemClock {
    fn now_nanos(&self) -> u64 {
        self.clock.delta_as_nanos(self.start_raw, self.clock.raw())
    }

    fn start_wall(&self) -> SystemTime {
        self.start_wall
    }
}

/// A clock that moves only when told to, starting at the Unix epoch plus one billion seconds: `quanta`'s
/// mock time source.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<quanta::Mock>);

impl ManualClock {
    /// A clock at its start.
    pub fn new() -> Self {
        let (_clock, mock) = quanta::Clock::mock();
        Self(mock)
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.0.increment(by);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl MetricsClock for ManualClock {
    fn now_nanos(&self) -> u64 {
        self.0.value()
    }

    fn start_wall(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000)
    }
}
