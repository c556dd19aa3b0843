//! The `email` channel: a plain-text message per alert transition, through SMTP (lettre).

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport as _};

use crate::alert::AlertEvent;
use crate::delivery::channel::Transport;
use crate::delivery::labels::{AlertContext, rfc3339};
use crate::error::DeliveryError;

/// The SMTP server and sender, from the environment (never from the YAML):
///
/// | variable | default |
/// |---|---|
/// | `VANA_SMTP_HOST` | required |
/// | `VANA_SMTP_TLS` | `none`; `starttls` (upgrade, required) or `tls` (implicit TLS), with rustls |
/// | `VANA_SMTP_PORT` | 25, 587 with `starttls`, 465 with `tls` |
/// | `VANA_SMTP_CA_FILE` | a PEM file of CA certificates trusted besides the public roots |
/// | `VANA_SMTP_FROM` | `vana-ops@<host>` |
/// | `VANA_SMTP_USERNAME`, and `VANA_SMTP_PASSWORD` or `VANA_SMTP_PASSWORD_FILE` | no authentication |
#[derive(Clone)]
pub struct SmtpSettings {
    host: String,
    port: u16,
    tls: SmtpTls,
    ca_pem: Option<Vec<u8>>,
    from: Mailbox,
    credentials: Option<Credentials>,
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SmtpTls {
    None,
    StartTls,
    Implicit,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("from", &self.from.to_string())
            .field("credentials", &self.credentials.as_ref().map(|_| "[REDACTED]"))
            .finish()
    }
}

impl SmtpSettings {
    /// From the process environment. `Ok(None)` when `VANA_SMTP_HOST` is not set; errors name the variable,
    /// never a value.
    pub fn from_env(context: &AlertContext) -> Result<Option<Self>, DeliveryError> {
        Self::from_vars(|name| std::env::var(name).ok(), context)
    }

    /// From any variable lookup.
    pub fn from_vars(
        lookup: impl Fn(&str) -> Option<String>,
        context: &AlertContext,
    ) -> Result<Option<Self>, DeliveryError> {
        let Some(host) = lookup("VANA_SMTP_HOST").filter(|host| !host.is_empty()) else {
            return Ok(None);
        };
        let (tls, port) = tls_and_port(&lookup)?;
        let ca_pem = match lookup("VANA_SMTP_CA_FILE") {
            Some(path) => Some(
                std::fs::read(&path)
                    .map_err(|source| DeliveryError::File { variable: "VANA_SMTP_CA_FILE", source })?,
            ),
            None => None,
        };
        let from = lookup("VANA_SMTP_FROM").unwrap_or_else(|| format!("vana-ops@{}", context.instance));
        let from: Mailbox = from.parse().map_err(|_| DeliveryError::Setting {
            variable: "VANA_SMTP_FROM",
            expected: "must be an email address",
        })?;
        let credentials = credentials(&lookup)?;
        Ok(Some(Self { host, port, tls, ca_pem, from, credentials }))
    }
}

/// `VANA_SMTP_TLS` and `VANA_SMTP_PORT`, whose default follows the TLS mode.
fn tls_and_port(lookup: impl Fn(&str) -> Option<String>) -> Result<(SmtpTls, u16), DeliveryError> {
    let tls = match lookup("VANA_SMTP_TLS").as_deref() {
        None | Some("none") => SmtpTls::None,
        Some("starttls") => SmtpTls::StartTls,
        Some("tls") => SmtpTls::Implicit,
        Some(_) => {
            return Err(DeliveryError::Setting {
                variable: "VANA_SMTP_TLS",
                expected: "must be none, starttls or tls",
            });
        }
    };
    let port = match lookup("VANA_SMTP_PORT") {
        Some(port) => port.parse().map_err(|_| DeliveryError::Setting {
            variable: "VANA_SMTP_PORT",
            expected: "must be a port number",
        })?,
        None => match tls {
            SmtpTls::None => 25,
            SmtpTls::StartTls => 587,
            SmtpTls::Implicit => 465,
        },
    };
    Ok((tls, port))
}

/// `VANA_SMTP_USERNAME` with `VANA_SMTP_PASSWORD`, or the first line of `VANA_SMTP_PASSWORD_FILE`.
fn credentials(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Credentials>, DeliveryError> {
    let password = match (lookup("VANA_SMTP_PASSWORD"), lookup("VANA_SMTP_PASSWORD_FILE")) {
        (Some(password), _) => Some(password),
        (None, Some(path)) => Some(
            std::fs::read_to_string(&path)
                .map_err(|source| DeliveryError::File { variable: "VANA_SMTP_PASSWORD_FILE", source })?
                .lines()
                .next()
                .unwrap_or("")
                .to_owned(),
        ),
        (None, None) => None,
    };
    match (lookup("VANA_SMTP_USERNAME"), password) {
        (Some(user), Some(password)) => Ok(Some(Credentials::new(user, password))),
        (Some(_), None) => Err(DeliveryError::Setting {
            variable: "VANA_SMTP_USERNAME",
            expected: "needs VANA_SMTP_PASSWORD or VANA_SMTP_PASSWORD_FILE",
        }),
        _ => Ok(None),
    }
}

/// Sends each alert as a plain-text email to the channel's recipients.
pub struct EmailTransport {
    transport: SmtpTransport,
    from: Mailbox,
    to: Vec<Mailbox>,
    context: AlertContext,
}

impl EmailTransport {
    /// A transport to `recipients` through `settings`' server, waiting at most `timeout` per step.
    pub fn new(
        settings: &SmtpSettings,
        recipients: &[String],
        context: AlertContext,
        timeout: Duration,
    ) -> Result<Self, DeliveryError> {
        let to = recipients
            .iter()
            .map(|address| {
                address.parse::<Mailbox>().map_err(|source| DeliveryError::Address {
                    address: address.clone(),
                    source: source.into(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut builder = SmtpTransport::builder_dangerous(settings.host.as_str())
            .port(settings.port)
            .timeout(Some(timeout));
        if let Some(credentials) = &settings.credentials {
            builder = builder.credentials(credentials.clone());
        }
        if settings.tls != SmtpTls::None {
            let mut parameters = TlsParameters::builder(settings.host.clone());
            if let Some(pem) = &settings.ca_pem {
                let certificate = Certificate::from_pem(pem).map_err(|source| DeliveryError::Tls {
                    reason: "VANA_SMTP_CA_FILE does not hold a PEM certificate",
                    source: Some(source.into()),
                })?;
                parameters = parameters.add_root_certificate(certificate);
            }
            let parameters = parameters.build_rustls().map_err(|source| DeliveryError::Tls {
                reason: "the SMTP client's TLS settings were refused",
                source: Some(source.into()),
            })?;
            builder = builder.tls(match settings.tls {
                SmtpTls::Implicit => Tls::Wrapper(parameters),
                _ => Tls::Required(parameters),
            });
        }
        Ok(Self { transport: builder.build(), from: settings.from.clone(), to, context })
    }
}

/// The subject and body of an alert's email.
pub(crate) fn email_text(alert: &AlertEvent, context: &AlertContext) -> (String, String) {
    let what = alert.transition.in_words().to_uppercase();
    let level = alert.level.to_string().to_uppercase();
    let subject = format!("[vana-ops] {level} {what}: {} on {}", alert.metric, context.instance);
    let tags: Vec<String> = alert.tags.iter().map(|(key, value)| format!("{key}={value}")).collect();
    let body = format!(
        "{what}: {level} alert `{threshold}` on {metric}\n\n\
         value:      {value}\n\
         threshold:  {comparison} {line} ({level_lower})\n\
         since:      {since}\n\
         at:         {at}\n\
         host:       {instance}\n\
         service:    {service}\n\
         tags:       {tags}\n\n\
         {message}\n",
        threshold = alert.threshold,
        metric = alert.metric,
        value = alert.value,
        comparison = alert.comparison,
        line = alert.threshold_value,
        level_lower = alert.level,
        since = rfc3339(alert.since),
        at = rfc3339(alert.at),
        instance = context.instance,
        service = context.service,
        tags = if tags.is_empty() { "-".to_owned() } else { tags.join(", ") },
        message = alert.message(),
    );
    (subject, body)
}

impl Transport for EmailTransport {
    fn send(&mut self, alert: &AlertEvent) -> Result<(), DeliveryError> {
        let (subject, body) = email_text(alert, &self.context);
        let mut message = Message::builder().from(self.from.clone()).subject(subject);
        for to in &self.to {
            message = message.to(to.clone());
        }
        let message = message.body(body).map_err(|source| DeliveryError::Attempt {
            reason: "cannot build the message".into(),
            source: Some(source.into()),
        })?;
        // lettre's errors name the server's reply or the I/O failure, never the credentials.
        self.transport.send(&message).map(|_| ()).map_err(|source| DeliveryError::Attempt {
            reason: source.to_string(),
            source: Some(source.into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_come_from_the_environment_and_errors_never_show_secrets() {
        let context =
            AlertContext { instance: "host-1".into(), job: "vana-ops".into(), service: "vana".into() };
        let none = SmtpSettings::from_vars(|_| None, &context).unwrap();
        assert!(none.is_none());
        let vars = |name: &str| match name {
            "VANA_SMTP_HOST" => Some("127.0.0.1".into()),
            "VANA_SMTP_PORT" => Some("2525".into()),
            "VANA_SMTP_USERNAME" => Some("alerts".into()),
            "VANA_SMTP_PASSWORD" => Some("hunter2-secret".into()),
            _ => None,
        };
        let settings = SmtpSettings::from_vars(vars, &context).unwrap().unwrap();
        assert_eq!(settings.port, 2525);
        assert_eq!(settings.from.to_string(), "vana-ops@host-1");
        assert!(!format!("{settings:?}").contains("hunter2"));
        let bad_port = |name: &str| match name {
            "VANA_SMTP_HOST" => Some("h".into()),
            "VANA_SMTP_PORT" => Some("hunter2-secret".into()),
            _ => None,
        };
        let error = SmtpSettings::from_vars(bad_port, &context).unwrap_err().to_string();
        assert!(!error.contains("hunter2") && error.contains("VANA_SMTP_PORT"), "{error}");
        let tls = |mode: &'static str| {
            move |name: &str| match name {
                "VANA_SMTP_HOST" => Some("h".into()),
                "VANA_SMTP_TLS" => Some(mode.into()),
                _ => None,
            }
        };
        assert_eq!(SmtpSettings::from_vars(tls("starttls"), &context).unwrap().unwrap().port, 587);
        assert_eq!(SmtpSettings::from_vars(tls("tls"), &context).unwrap().unwrap().port, 465);
        assert!(SmtpSettings::from_vars(tls("ssl3"), &context).is_err());
    }
}
