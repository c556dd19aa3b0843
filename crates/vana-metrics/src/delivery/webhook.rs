//! The `webhook` channel: JSON over HTTP, in Alertmanager's webhook format (version 4) or Slack's.

use std::time::{Duration, SystemTime};

use vana_config::WebhookFormat;

use crate::alert::{AlertEvent, AlertTransition};
use crate::delivery::channel::Transport;
use crate::delivery::labels::{AlertContext, alert_annotations, alert_labels, fingerprint, rfc3339};

/// Posts each alert to one URL.
pub struct WebhookTransport {
    agent: ureq::Agent,
    url: String,
    format: WebhookFormat,
    context: AlertContext,
}

impl std::fmt::Debug for WebhookTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a secret (Slack's do): never printed.
        f.debug_struct("WebhookTransport").field("format", &self.format).finish_non_exhaustive()
    }
}

/// An HTTP agent that treats 4xx and 5xx as errors, with a timeout per request.
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::new_with_config(ureq::Agent::config_builder().timeout_global(Some(timeout)).build())
}

/// A short description of a failed request that never contains the URL.
pub(crate) fn describe(error: &ureq::Error) -> String {
    match error {
        ureq::Error::StatusCode(code) => format!("HTTP {code}"),
        ureq::Error::Timeout(_) => "timed out".into(),
        ureq::Error::Io(error) => format!("I/O error: {}", error.kind()),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        _ => "request failed".into(),
    }
}

pub(crate) fn post_json(agent: &ureq::Agent, url: &str, body: &str) -> Result<(), String> {
    agent
        .post(url)
        .header("Content-Type", "application/json")
        .send(body)
        .map(|_| ())
        .map_err(|error| describe(&error))
}

impl WebhookTransport {
    /// A transport posting to `url` in `format`.
    pub fn new(url: String, format: WebhookFormat, context: AlertContext, timeout: Duration) -> Self {
        Self { agent: agent(timeout), url, format, context }
    }
}

/// Alertmanager's webhook payload (version 4) for one alert.
pub(crate) fn alertmanager_webhook_body(alert: &AlertEvent, context: &AlertContext) -> serde_json::Value {
    let labels = alert_labels(alert, context);
    let annotations = alert_annotations(alert);
    let resolved = alert.transition == AlertTransition::Resolved;
    let status = if resolved { "resolved" } else { "firing" };
    let ends_at = if resolved { rfc3339(alert.at) } else { "0001-01-01T00:00:00Z".to_owned() };
    let group_labels = serde_json::json!({ "alertname": labels["alertname"] });
    serde_json::json!({
        "version": "4",
        "groupKey": format!("{{}}:{{alertname=\"{}\"}}", labels["alertname"]),
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "vana-ops",
        "groupLabels": group_labels,
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": "",
        "alerts": [{
            "status": status,
            "labels": labels,
            "annotations": annotations,
            "startsAt": rfc3339(alert.since),
            "endsAt": ends_at,
            "generatorURL": "",
            "fingerprint": fingerprint(&labels),
        }],
    })
}

/// Slack's `{"text": ...}`.
pub(crate) fn slack_body(alert: &AlertEvent, context: &AlertContext) -> serde_json::Value {
    let icon = match (alert.transition, alert.level) {
        (AlertTransition::Resolved, _) => ":white_check_mark:",
        (_, vana_config::AlertLevel::Critical) => ":rotating_light:",
        _ => ":warning:",
    };
    let since = humantime::format_duration(
        SystemTime::now().duration_since(alert.since).unwrap_or_default().saturating_sub(Duration::ZERO),
    );
    let text = format!(
        "{icon} *{}* on `{}` ({}, {}): {} — since {} ago",
        alert.threshold,
        alert.metric,
        context.instance,
        context.service,
        alert.message(),
        humantime::format_duration(Duration::from_secs(since.get_ref().as_secs()))
    );
    serde_json::json!({ "text": text })
}

impl Transport for WebhookTransport {
    fn send(&mut self, alert: &AlertEvent) -> Result<(), String> {
        let body = match self.format {
            WebhookFormat::Alertmanager => alertmanager_webhook_body(alert, &self.context),
            WebhookFormat::Slack => slack_body(alert, &self.context),
        };
        post_json(&self.agent, &self.url, &body.to_string())
    }
}
