//! Typed views of what the endpoints and the dashboard answer in JSON: one shape per thing, whichever route
//! shows it.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use vana_metrics::AlertEvent;
use vana_security::BlockedAddress;

/// Seconds since the Unix epoch.
pub(crate) fn epoch_seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH).map_or(0.0, |since| since.as_secs_f64())
}

/// One alert transition.
#[derive(Serialize)]
pub(crate) struct AlertView {
    threshold: String,
    metric: String,
    tags: serde_json::Map<String, serde_json::Value>,
    level: String,
    transition: &'static str,
    value: f64,
    threshold_value: f64,
    comparison: String,
    since: f64,
    at: f64,
    message: String,
}

impl From<&AlertEvent> for AlertView {
    fn from(alert: &AlertEvent) -> Self {
        Self {
            threshold: alert.threshold.to_string(),
            metric: alert.metric.to_string(),
            tags: alert.tags.iter().map(|(key, value)| (key.to_string(), value.to_string().into())).collect(),
            level: alert.level.to_string(),
            transition: alert.transition.as_str(),
            value: alert.value,
            threshold_value: alert.threshold_value,
            comparison: alert.comparison.to_string(),
            since: epoch_seconds(alert.since),
            at: epoch_seconds(alert.at),
            message: alert.message(),
        }
    }
}

/// One blocked address or network.
#[derive(Serialize)]
pub(crate) struct BlockView {
    /// A single address as itself, a wider network in CIDR notation.
    address: String,
    remaining_seconds: u64,
    reason: String,
    offences: u32,
}

impl From<BlockedAddress> for BlockView {
    fn from(block: BlockedAddress) -> Self {
        let network = block.network;
        let address = if network.prefix_len() == network.max_prefix_len() {
            network.addr().to_string()
        } else {
            network.to_string()
        };
        Self {
            address,
            remaining_seconds: block.remaining.as_secs(),
            reason: block.reason,
            offences: block.offences,
        }
    }
}
