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

/// What [`Ops::readiness`](crate::Ops::readiness) reports: whether the instance should get traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// Every check passes.
    pub ready: bool,
    /// Each check, by name: `log_writer`, `backend` (informational: a fallback is always active) and the
    /// reported ones such as `upstream`.
    pub checks: Vec<ReadinessCheck>,
}

/// One readiness check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadinessCheck {
    /// What is checked.
    pub name: &'static str,
    /// Whether it passes.
    pub ready: bool,
    /// Why, for people.
    pub detail: String,
}

/// The log writer counts as not keeping up for this long after it last dropped a line.
pub(crate) const LOG_DROP_GRACE: Duration = Duration::from_secs(10);

/// Checks reported from outside (the gateway's upstream probe) and the log writer's last drops.
#[derive(Debug, Default)]
pub(crate) struct ReadinessBoard {
    reported: parking_lot::Mutex<Vec<ReadinessCheck>>,
    /// The drop count last seen, and when it last grew.
    log_drops: parking_lot::Mutex<(usize, Option<std::time::Instant>)>,
}

impl ReadinessBoard {
    /// Records the outcome of check `name`, replacing its last one.
    pub(crate) fn report(&self, name: &'static str, ready: bool, detail: String) {
        let mut reported = self.reported.lock();
        let check = ReadinessCheck { name, ready, detail };
        match reported.iter_mut().find(|known| known.name == name) {
            Some(known) => *known = check,
            None => reported.push(check),
        }
    }

    /// The log writer keeps up unless it dropped lines within [`LOG_DROP_GRACE`].
    pub(crate) fn log_writer(&self, dropped: usize) -> ReadinessCheck {
        let mut seen = self.log_drops.lock();
        if dropped > seen.0 {
            *seen = (dropped, Some(std::time::Instant::now()));
        }
        let recent = seen.1.is_some_and(|at| at.elapsed() < LOG_DROP_GRACE);
        ReadinessCheck {
            name: "log_writer",
            ready: !recent,
            detail: if recent {
                format!("{dropped} lines dropped so far, the last within {} s", LOG_DROP_GRACE.as_secs())
            } else {
                format!("keeps up ({dropped} lines dropped so far)")
            },
        }
    }

    pub(crate) fn reported(&self) -> Vec<ReadinessCheck> {
        self.reported.lock().clone()
    }
}
