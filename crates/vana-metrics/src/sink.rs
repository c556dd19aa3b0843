//! Where alert transitions go: the `AlertSink` trait and a sink that logs through `tracing`.

use vana_config::AlertLevel;

use crate::alert::{AlertEvent, AlertTransition};

/// Receives alert transitions, on the monitor's dispatcher thread (never on the recording thread).
pub trait AlertSink: Send + Sync {
    /// Delivers one transition. A slow sink delays the others, not recording: the queue in front of the
    /// dispatcher is bounded and drops (and counts) what does not fit.
    fn deliver(&self, event: &AlertEvent);
}

/// Writes each transition as a `tracing` event under target `vana_metrics::alerts`: WARN for warnings,
/// ERROR (marked `critical = true`) for critical alerts, INFO for resolutions.
#[derive(Debug, Clone, Copy)]
pub struct TracingSink {
    min_level: AlertLevel,
}

impl TracingSink {
    /// A sink for alerts from `min_level` up.
    pub fn new(min_level: AlertLevel) -> Self {
        Self { min_level }
    }
}

impl AlertSink for TracingSink {
    fn deliver(&self, event: &AlertEvent) {
        if event.level < self.min_level {
            return;
        }
        let message = event.message();
        let tags: Vec<String> = event.tags.iter().map(|(key, value)| format!("{key}={value}")).collect();
        let tags = tags.join(",");
        match (event.transition, event.level) {
            (AlertTransition::Resolved, _) => {
                tracing::info!(target: "vana_metrics::alerts", metric = %event.metric, tags = %tags, threshold = %event.threshold, value = event.value, "{message}")
            }
            (_, AlertLevel::Critical) => {
                tracing::error!(target: "vana_metrics::alerts", critical = true, metric = %event.metric, tags = %tags, threshold = %event.threshold, value = event.value, "{message}")
            }
            (_, AlertLevel::Warning) => {
                tracing::warn!(target: "vana_metrics::alerts", metric = %event.metric, tags = %tags, threshold = %event.threshold, value = event.value, "{message}")
            }
        }
    }
}
