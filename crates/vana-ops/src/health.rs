//! The service's health, for `/health` and readiness probes.

use std::time::Duration;

/// Overall state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HealthStatus {
    /// Nothing firing.
    Ok,
    /// Warnings firing, the system collector is not running, or the shared backend is away.
    Degraded,
    /// A critical alert is firing.
    Critical,
}

impl HealthStatus {
    /// `ok`, `degraded` or `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Ok => "ok",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Critical => "critical",
        }
    }
}

/// What [`Ops::health`](crate::Ops::health) reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// The overall state.
    pub status: HealthStatus,
    /// Time since start (monotonic; the specification reported about 0 seconds).
    pub uptime: Duration,
    /// Warning alerts firing.
    pub firing_warning: usize,
    /// Critical alerts firing.
    pub firing_critical: usize,
    /// Addresses blocked now.
    pub blocked_addresses: usize,
    /// Whether the system collector runs.
    pub collector_running: bool,
    /// Log lines dropped by the non-blocking writer so far.
    pub dropped_log_lines: usize,
    /// The shared backend, when `backend.type` is `redis`: whether Redis answers, and its failure and
    /// fallback counts. Redis away makes the service degraded.
    pub backend: Option<BackendHealth>,
}

/// The shared backend's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendHealth {
    /// Whether Redis answers (false during the failure window).
    pub available: bool,
    /// Commands that failed or timed out so far.
    pub failures: u64,
    /// Decisions taken without Redis so far.
    pub fallbacks: u64,
}
