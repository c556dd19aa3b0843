//! Alert delivery that reaches people: a bounded, retrying, rate-capped channel around a transport (email,
//! webhook), and the Alertmanager channel, which keeps its alerts fresh the way Prometheus does.

mod channel;
mod labels;

#[cfg(feature = "webhook")]
mod alertmanager;
#[cfg(feature = "email")]
mod email;
#[cfg(feature = "webhook")]
mod webhook;

#[cfg(feature = "webhook")]
pub use alertmanager::AlertmanagerChannel;
pub use channel::{DeliveryChannel, DeliveryStats, Transport};
#[cfg(feature = "email")]
pub use email::{EmailTransport, SmtpSettings};
pub use labels::{
    ALERT_INSTANCE_ENV, ALERT_JOB_ENV, AlertContext, alert_annotations, alert_labels, fingerprint, rfc3339,
};
#[cfg(feature = "webhook")]
pub use webhook::{HttpClient, WebhookTransport};

/// The counters of every channel, tagged `channel`.
pub(crate) const DELIVERY_COUNTERS: [&str; 4] =
    ["alerts.sent", "alerts.failed", "alerts.dropped", "alerts.retried"];

/// Makes a channel's counters in `monitor` now, so they are exported at 0 before the first alert.
pub(crate) fn register_counters(monitor: &crate::PerformanceMonitor, channel: &str) {
    for counter in DELIVERY_COUNTERS {
        let _ = monitor.series(counter, "count", &[("channel", channel)]);
    }
}
