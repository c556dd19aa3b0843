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
pub use labels::{AlertContext, alert_annotations, alert_labels, fingerprint, rfc3339};
#[cfg(feature = "webhook")]
pub use webhook::{HttpClient, WebhookTransport};
