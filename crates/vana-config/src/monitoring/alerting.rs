//! `alerting`: where alerts go, and how each channel delivers.

use serde::{Deserialize, Serialize};

use crate::checks::{Checker, is_email_address};
use crate::key_path::KeyPath;
use crate::keywords::{AlertLevel, ChannelKind, WebhookFormat};
use crate::limits;

/// `alerting`: whether alerts are delivered, and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Alerting {
    /// Deliver alerts at all.
    pub enabled: bool,
    /// The delivery channels.
    pub channels: Vec<AlertChannel>,
    /// Seconds a firing alert waits before it is notified again.
    pub repeat_interval_seconds: u64,
    /// How far past the line, as a fraction of it, a value must come back before an alert resolves, so a
    /// value hovering at the line does not flap.
    pub recovery_margin: f64,
    /// Seconds an alert's condition must have been clear before it resolves (and a critical one before it
    /// de-escalates, a pending one before it is forgiven): one problem is one firing and one resolution,
    /// however its values swing around the line. The exported rules carry it as `keep_firing_for`.
    pub keep_firing_seconds: u64,
    /// Most alert transitions kept in the history.
    pub max_history: u64,
    /// Most transitions waiting for delivery; when the sinks fall behind, further ones are dropped and
    /// counted.
    pub queue_capacity: u64,
}

impl Default for Alerting {
    fn default() -> Self {
        Self {
            enabled: true,
            repeat_interval_seconds: 3600,
            recovery_margin: 0.05,
            keep_firing_seconds: 60,
            max_history: 1000,
            queue_capacity: 1024,
            channels: vec![
                AlertChannel::new(ChannelKind::Log, AlertLevel::Warning),
                AlertChannel {
                    recipients: vec!["admin@example.com".into()],
                    ..AlertChannel::new(ChannelKind::Email, AlertLevel::Critical)
                },
            ],
        }
    }
}

/// One alerting channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AlertChannel {
    /// Where the channel delivers.
    #[serde(rename = "type")]
    pub kind: ChannelKind,
    /// The lowest alert level the channel receives.
    #[serde(default = "default_alert_level")]
    pub level: AlertLevel,
    /// Email addresses (email channels only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
    /// The webhook's URL (webhook channels; or `url_env`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The environment variable that holds the webhook's URL, for URLs that are secrets (Slack's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
    /// The webhook's body (webhook channels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<WebhookFormat>,
    /// Alertmanager base URLs (alertmanager channels), e.g. `http://127.0.0.1:9093`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// How delivery behaves: queue, rate cap, retries.
    #[serde(default, skip_serializing_if = "DeliverySettings::is_default")]
    pub delivery: DeliverySettings,
}

/// `alerting.channels[].delivery`: the bounded queue, rate cap and retries of one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct DeliverySettings {
    /// Alerts waiting for delivery; past it, new ones are dropped and counted.
    pub queue_capacity: u64,
    /// Most deliveries a minute (a storm is held in the queue, not sent at once).
    pub max_per_minute: u64,
    /// Attempts per delivery before it is counted as failed.
    pub max_attempts: u64,
    /// The first retry's delay, in milliseconds; doubled each attempt, with jitter.
    pub initial_backoff_ms: u64,
    /// The longest delay between attempts, in milliseconds.
    pub max_backoff_ms: u64,
    /// Longest wait for the server to answer one attempt, in seconds.
    pub timeout_seconds: u64,
    /// Alertmanager channels: firing alerts are sent again this often, in seconds (their `endsAt` is four
    /// intervals ahead, as Prometheus does); resolved ones are sent again for 15 minutes.
    pub resend_interval_seconds: u64,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            queue_capacity: 256,
            max_per_minute: 60,
            max_attempts: 8,
            initial_backoff_ms: 500,
            max_backoff_ms: 60_000,
            timeout_seconds: 10,
            resend_interval_seconds: 60,
        }
    }
}

impl DeliverySettings {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }

    pub(super) fn check(&self, at: &KeyPath, check: &mut Checker) {
        let minute_ms = 60_000;
        check.positive_at_most(at.key("queue_capacity"), self.queue_capacity, 100_000, "alerts");
        check.positive_at_most(at.key("max_per_minute"), self.max_per_minute, 100_000, "deliveries");
        check.positive_at_most(at.key("max_attempts"), self.max_attempts, 1000, "attempts");
        check.positive_at_most(at.key("initial_backoff_ms"), self.initial_backoff_ms, 60 * minute_ms, "ms");
        check.positive_at_most(at.key("max_backoff_ms"), self.max_backoff_ms, 60 * minute_ms, "ms");
        if self.max_backoff_ms < self.initial_backoff_ms {
            check.fail(at.key("max_backoff_ms"), "must not be below initial_backoff_ms");
        }
        check.positive_at_most(at.key("timeout_seconds"), self.timeout_seconds, 600, "seconds");
        check.positive_at_most(
            at.key("resend_interval_seconds"),
            self.resend_interval_seconds,
            3600,
            "seconds",
        );
    }
}

fn default_alert_level() -> AlertLevel {
    AlertLevel::Warning
}

fn check_http_url(check: &mut Checker, at: KeyPath, url: &str) {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
    if rest.is_none_or(|rest| rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace))
    {
        check.fail(at, format!("`{}` is not an http:// or https:// URL", url.escape_debug()));
    }
}

impl AlertChannel {
    /// A channel of `kind` receiving alerts from `level` up.
    pub fn new(kind: ChannelKind, level: AlertLevel) -> Self {
        Self {
            kind,
            level,
            recipients: Vec::new(),
            url: None,
            url_env: None,
            format: None,
            urls: Vec::new(),
            delivery: DeliverySettings::default(),
        }
    }

    /// The webhook's format (Alertmanager's when not set).
    pub fn webhook_format(&self) -> WebhookFormat {
        self.format.unwrap_or(WebhookFormat::Alertmanager)
    }

    pub(super) fn check(&self, at: &KeyPath, check: &mut Checker) {
        self.delivery.check(&at.key("delivery"), check);
        let only = |check: &mut Checker, present: bool, key: &str, kind: ChannelKind, what: &str| {
            if present && self.kind != kind {
                check.fail(at.key(key), format!("only {what} channels have `{key}`"));
            }
        };
        only(check, self.url.is_some(), "url", ChannelKind::Webhook, "webhook");
        only(check, self.url_env.is_some(), "url_env", ChannelKind::Webhook, "webhook");
        only(check, self.format.is_some(), "format", ChannelKind::Webhook, "webhook");
        only(check, !self.urls.is_empty(), "urls", ChannelKind::Alertmanager, "alertmanager");
        match self.kind {
            ChannelKind::Webhook => match (&self.url, &self.url_env) {
                (Some(url), None) => check_http_url(check, at.key("url"), url),
                (None, Some(name)) => {
                    let valid = !name.is_empty()
                        && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
                    if !valid {
                        check.fail(at.key("url_env"), "must be an environment variable name (A-Z, 0-9, _)");
                    }
                }
                (Some(_), Some(_)) => check.fail(at.key("url_env"), "give `url` or `url_env`, not both"),
                (None, None) => check.fail(at.clone(), "a webhook channel needs `url` (or `url_env`)"),
            },
            ChannelKind::Alertmanager => {
                if self.urls.is_empty() {
                    check.fail(at.clone(), "an alertmanager channel needs `urls`");
                }
                check.each(&at.key("urls"), &self.urls, limits::MAX_RECIPIENTS, |check, at, url| {
                    check_http_url(check, at, url)
                });
            }
            _ => {}
        }
        self.check_recipients(at, check);
    }

    fn check_recipients(&self, at: &KeyPath, check: &mut Checker) {
        let recipients = at.key("recipients");
        match self.kind {
            ChannelKind::Email => {
                if self.recipients.is_empty() {
                    check.fail(recipients.clone(), "an email channel needs at least one recipient");
                }
                check.at_most_entries(recipients.clone(), self.recipients.len(), limits::MAX_RECIPIENTS);
                for (index, address) in self.recipients.iter().enumerate().take(limits::MAX_RECIPIENTS) {
                    if !is_email_address(address) {
                        check.fail(
                            recipients.index(index),
                            format!("`{}` is not an email address", address.escape_debug()),
                        );
                    }
                }
            }
            _ => {
                if !self.recipients.is_empty() {
                    check.fail(recipients, "only email channels have recipients");
                }
            }
        }
    }
}

impl Alerting {
    pub(super) fn check(&self, at: &KeyPath, check: &mut Checker) {
        check.positive_at_most(
            at.key("repeat_interval_seconds"),
            self.repeat_interval_seconds,
            limits::MAX_SECONDS,
            "seconds",
        );
        if !(0.0..1.0).contains(&self.recovery_margin) {
            check.fail(
                at.key("recovery_margin"),
                format!("must be a fraction from 0 up to (not including) 1, not {}", self.recovery_margin),
            );
        }
        if self.keep_firing_seconds > limits::MAX_SECONDS {
            check.fail(
                at.key("keep_firing_seconds"),
                format!("must be at most {} seconds, not {}", limits::MAX_SECONDS, self.keep_firing_seconds),
            );
        }
        check.positive_at_most(at.key("max_history"), self.max_history, limits::MAX_TABLE_ENTRIES, "alerts");
        check.positive_at_most(
            at.key("queue_capacity"),
            self.queue_capacity,
            limits::MAX_TABLE_ENTRIES,
            "alerts",
        );
        let channels = at.key("channels");
        check.at_most_entries(channels.clone(), self.channels.len(), limits::MAX_CHANNELS);
        for (index, channel) in self.channels.iter().enumerate().take(limits::MAX_CHANNELS) {
            channel.check(&channels.index(index), check);
        }
    }
}
