//! The `webhook` channel: JSON over HTTP, in Alertmanager's webhook format (version 4) or Slack's.

use std::time::{Duration, SystemTime};

use vana_config::WebhookFormat;

use crate::alert::{AlertEvent, AlertTransition};
use crate::delivery::channel::Transport;
use crate::delivery::labels::{AlertContext, alert_annotations, alert_labels, fingerprint, rfc3339};
use crate::error::DeliveryError;

/// The HTTP client of the webhook and Alertmanager channels: `http://` and `https://` (rustls, Mozilla's
/// roots, or the CA certificates given instead, for an endpoint behind a private CA), a timeout per request,
/// 4xx and 5xx as errors.
#[derive(Clone)]
pub struct HttpClient {
    agent: ureq::Agent,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpClient")
    }
}

impl HttpClient {
    /// A client waiting at most `timeout` per request; `ca_pem`, when given, holds the CA certificates
    /// (PEM) that replace the public roots.
    pub fn new(timeout: Duration, ca_pem: Option<&[u8]>) -> Result<Self, DeliveryError> {
        let mut config = ureq::Agent::config_builder().timeout_global(Some(timeout));
        if let Some(pem) = ca_pem {
            let certificates = ureq::tls::parse_pem(pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(certificate)) => Some(Ok(certificate)),
                    Ok(_) => None,
                    Err(source) => Some(Err(DeliveryError::Tls {
                        reason: "the CA file is not valid PEM",
                        source: Some(source.into()),
                    })),
                })
                .collect::<Result<Vec<_>, _>>()?;
            if certificates.is_empty() {
                return Err(DeliveryError::Tls { reason: "the CA file holds no certificate", source: None });
            }
            let roots = ureq::tls::RootCerts::Specific(std::sync::Arc::new(certificates));
            config = config.tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build());
        }
        Ok(Self { agent: ureq::Agent::new_with_config(config.build()) })
    }

    /// `POST` of a JSON body; the error names the kind of failure, never the URL.
    pub(crate) fn post_json(&self, url: &str, body: &str) -> Result<(), DeliveryError> {
        self.agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(body)
            .map(|_| ())
            // ureq's own text may carry the URL: the attempt keeps a short description instead.
            .map_err(|error| DeliveryError::attempt(describe(&error)))
    }
}

/// Posts each alert to one URL.
pub struct WebhookTransport {
    client: HttpClient,
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

/// A short description of a failed request that never contains the URL.
pub(crate) fn describe(error: &ureq::Error) -> String {
    match error {
        ureq::Error::StatusCode(code) => format!("HTTP {code}"),
        ureq::Error::Timeout(_) => "timed out".into(),
        // rustls reports a refused certificate as invalid data on the stream.
        ureq::Error::Io(error) if error.kind() == std::io::ErrorKind::InvalidData => {
            "TLS handshake failed or the response was not HTTP (is the server's CA trusted?)".into()
        }
        ureq::Error::Io(error) => format!("I/O error: {}", error.kind()),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => {
            "TLS handshake failed (is the server's CA trusted?)".into()
        }
        _ => "request failed".into(),
    }
}

impl WebhookTransport {
    /// A transport posting to `url` in `format` through `client`.
    pub fn new(url: String, format: WebhookFormat, context: AlertContext, client: HttpClient) -> Self {
        Self { client, url, format, context }
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
    fn send(&mut self, alert: &AlertEvent) -> Result<(), DeliveryError> {
        let body = match self.format {
            WebhookFormat::Alertmanager => alertmanager_webhook_body(alert, &self.context),
            WebhookFormat::Slack => slack_body(alert, &self.context),
        };
        self.client.post_json(&self.url, &body.to_string())
    }
}
