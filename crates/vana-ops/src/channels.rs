//! The alert channels of `alerting.channels`, built from the configuration and, for secrets and servers,
//! the environment.

use std::sync::Arc;
#[cfg(any(feature = "email", feature = "webhook"))]
use std::time::Duration;
use std::time::Instant;

use vana_config::{AlertChannel, ChannelKind, Config};
#[cfg(any(feature = "email", feature = "webhook"))]
use vana_metrics::DeliveryError;
use vana_metrics::{AlertSink, DeliveryStats, PerformanceMonitor, TracingSink};

use crate::error::OpsError;

/// One built channel.
pub(crate) enum Channel {
    Log(String, Arc<TracingSink>),
    #[cfg_attr(not(any(feature = "email", feature = "webhook")), allow(dead_code))]
    Delivery(Arc<vana_metrics::DeliveryChannel>),
    #[cfg(feature = "webhook")]
    Alertmanager(String, Arc<vana_metrics::AlertmanagerChannel>),
}

impl Channel {
    pub(crate) fn sink(&self) -> Arc<dyn AlertSink> {
        match self {
            Channel::Log(_, sink) => Arc::clone(sink) as Arc<dyn AlertSink>,
            Channel::Delivery(channel) => Arc::clone(channel) as Arc<dyn AlertSink>,
            #[cfg(feature = "webhook")]
            Channel::Alertmanager(_, channel) => Arc::clone(channel) as Arc<dyn AlertSink>,
        }
    }

    pub(crate) fn name(&self) -> &str {
        match self {
            Channel::Log(name, _) => name,
            Channel::Delivery(channel) => channel.name(),
            #[cfg(feature = "webhook")]
            Channel::Alertmanager(name, _) => name,
        }
    }

    pub(crate) fn attach(&self, monitor: &PerformanceMonitor) {
        match self {
            Channel::Log(..) => {}
            Channel::Delivery(channel) => channel.attach(monitor),
            #[cfg(feature = "webhook")]
            Channel::Alertmanager(_, channel) => channel.attach(monitor),
        }
    }

    pub(crate) fn stats(&self) -> DeliveryStats {
        match self {
            Channel::Log(..) => DeliveryStats::default(),
            Channel::Delivery(channel) => channel.stats(),
            #[cfg(feature = "webhook")]
            Channel::Alertmanager(_, channel) => channel.stats(),
        }
    }

    pub(crate) fn shutdown(&self, deadline: Instant) {
        match self {
            Channel::Log(..) => {}
            Channel::Delivery(channel) => channel.shutdown(deadline),
            #[cfg(feature = "webhook")]
            Channel::Alertmanager(_, channel) => channel.shutdown(deadline),
        }
    }
}

/// Every channel of the configuration that can run here. An `email` channel without `VANA_SMTP_HOST`, or a
/// channel whose feature is not compiled in, is skipped with a warning (the shipped configuration has an
/// email channel, and a fresh machine has no SMTP server); a webhook whose `url_env` is unset is an error.
pub(crate) fn build(config: &Config, context: &vana_metrics::AlertContext) -> Result<Vec<Channel>, OpsError> {
    let alerting = &config.monitoring.alerting;
    if !alerting.enabled {
        return Ok(Vec::new());
    }
    let mut channels = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for channel in &alerting.channels {
        let base = kind_name(channel.kind);
        let count = names.iter().filter(|name| name.split('-').next() == Some(base)).count();
        let name = if count == 0 { base.to_owned() } else { format!("{base}-{}", count + 1) };
        names.push(name.clone());
        if let Some(built) = build_one(channel, &name, context)? {
            channels.push(built);
        }
    }
    Ok(channels)
}

fn kind_name(kind: ChannelKind) -> &'static str {
    match kind {
        ChannelKind::Log => "log",
        ChannelKind::Email => "email",
        ChannelKind::Webhook => "webhook",
        ChannelKind::Alertmanager => "alertmanager",
        _ => "channel",
    }
}

/// The environment variable naming a PEM file of CA certificates that replace the public roots for the
/// webhook and Alertmanager channels (endpoints behind a private CA).
pub const ALERT_CA_FILE_ENV: &str = "VANA_ALERT_CA_FILE";

#[cfg(feature = "webhook")]
fn http_client(name: &str, timeout: Duration) -> Result<vana_metrics::HttpClient, OpsError> {
    let pem =
        match std::env::var(ALERT_CA_FILE_ENV) {
            Ok(path) => Some(std::fs::read(&path).map_err(|source| {
                alerting(name, DeliveryError::File { variable: ALERT_CA_FILE_ENV, source })
            })?),
            Err(_) => None,
        };
    vana_metrics::HttpClient::new(timeout, pem.as_deref()).map_err(|source| alerting(name, source))
}

/// A delivery channel (queue, rate cap, retries) around `transport`.
#[cfg(any(feature = "email", feature = "webhook"))]
fn delivery(
    name: &str,
    channel: &AlertChannel,
    transport: impl vana_metrics::Transport,
) -> Result<Option<Channel>, OpsError> {
    let delivery =
        vana_metrics::DeliveryChannel::spawn(name, channel.level, channel.delivery.clone(), transport)
            .map_err(|error| spawn_error(name, error))?;
    Ok(Some(Channel::Delivery(Arc::new(delivery))))
}

#[cfg(any(feature = "email", feature = "webhook"))]
fn spawn_error(name: &str, error: std::io::Error) -> OpsError {
    alerting(name, DeliveryError::Spawn(error))
}

/// The error of channel `name`.
#[cfg(any(feature = "email", feature = "webhook"))]
fn alerting(name: &str, source: DeliveryError) -> OpsError {
    OpsError::Alerting { channel: name.to_owned(), source }
}

fn skipped(name: &str, why: &str) -> Result<Option<Channel>, OpsError> {
    tracing::warn!(target: "vana_ops", channel = name, "alert channel skipped: {why}");
    Ok(None)
}

/// What building one network channel needs.
#[cfg(any(feature = "email", feature = "webhook"))]
#[derive(Clone, Copy)]
struct Spec<'a> {
    channel: &'a AlertChannel,
    name: &'a str,
    context: &'a vana_metrics::AlertContext,
    timeout: Duration,
}

fn build_one(
    channel: &AlertChannel,
    name: &str,
    context: &vana_metrics::AlertContext,
) -> Result<Option<Channel>, OpsError> {
    #[cfg(any(feature = "email", feature = "webhook"))]
    let spec = Spec {
        channel,
        name,
        context,
        timeout: Duration::from_secs(channel.delivery.timeout_seconds.max(1)),
    };
    // Only the network channels use the context: a build without them must not warn.
    #[cfg(not(any(feature = "email", feature = "webhook")))]
    let _ = context;
    match channel.kind {
        ChannelKind::Log => {
            Ok(Some(Channel::Log(name.to_owned(), Arc::new(TracingSink::new(channel.level)))))
        }
        #[cfg(feature = "email")]
        ChannelKind::Email => email(&spec),
        #[cfg(not(feature = "email"))]
        ChannelKind::Email => email_not_built(name),
        #[cfg(feature = "webhook")]
        ChannelKind::Webhook => webhook(&spec),
        #[cfg(feature = "webhook")]
        ChannelKind::Alertmanager => alertmanager(&spec),
        #[cfg(not(feature = "webhook"))]
        ChannelKind::Webhook | ChannelKind::Alertmanager => {
            Err(OpsError::MissingFeature { what: format!("alert channel `{name}`"), feature: "webhook" })
        }
        // A channel type the configuration learnt before this crate.
        _ => Err(OpsError::MissingFeature {
            what: format!("alert channel `{name}`"),
            feature: "email or webhook",
        }),
    }
}

#[cfg(feature = "email")]
fn email(spec: &Spec<'_>) -> Result<Option<Channel>, OpsError> {
    let Spec { channel, name, context, timeout } = *spec;
    let settings = vana_metrics::SmtpSettings::from_env(context).map_err(|source| alerting(name, source))?;
    let Some(settings) = settings else {
        return skipped(name, "VANA_SMTP_HOST is not set");
    };
    let transport =
        vana_metrics::EmailTransport::new(&settings, &channel.recipients, context.clone(), timeout)
            .map_err(|source| alerting(name, source))?;
    delivery(name, channel, transport)
}

/// Without the feature: skipped as with it while no server is set up, an error once one is.
#[cfg(not(feature = "email"))]
fn email_not_built(name: &str) -> Result<Option<Channel>, OpsError> {
    match std::env::var("VANA_SMTP_HOST") {
        Ok(host) if !host.is_empty() => Err(OpsError::MissingFeature {
            what: format!("alert channel `{name}` (email)"),
            feature: "email",
        }),
        _ => skipped(name, "VANA_SMTP_HOST is not set"),
    }
}

#[cfg(feature = "webhook")]
fn webhook(spec: &Spec<'_>) -> Result<Option<Channel>, OpsError> {
    let Spec { channel, name, context, timeout } = *spec;
    let url = match (&channel.url, &channel.url_env) {
        (Some(url), _) => url.clone(),
        (None, Some(variable)) => std::env::var(variable)
            .map_err(|_| alerting(name, DeliveryError::Unset { variable: variable.clone() }))?,
        (None, None) => return Err(alerting(name, DeliveryError::NoUrl)),
    };
    let transport = vana_metrics::WebhookTransport::new(
        url,
        channel.webhook_format(),
        context.clone(),
        http_client(name, timeout)?,
    );
    delivery(name, channel, transport)
}

#[cfg(feature = "webhook")]
fn alertmanager(spec: &Spec<'_>) -> Result<Option<Channel>, OpsError> {
    let Spec { channel, name, context, timeout } = *spec;
    let alertmanager = vana_metrics::AlertmanagerChannel::spawn(
        name,
        channel.level,
        channel.delivery.clone(),
        &channel.urls,
        context.clone(),
        http_client(name, timeout)?,
    )
    .map_err(|error| spawn_error(name, error))?;
    Ok(Some(Channel::Alertmanager(name.to_owned(), Arc::new(alertmanager))))
}

/// A build without a channel's feature: the configuration that asks for it is an error naming the feature.
#[cfg(all(test, not(feature = "webhook")))]
mod without_the_webhook_feature {
    #[test]
    fn a_webhook_channel_is_an_error_that_names_the_feature() {
        let yaml = "alerting:\n  channels:\n    - type: webhook\n      level: warning\n      url: \"http://127.0.0.1:9/hook\"\n";
        let loaded = vana_config::ConfigLoader::new()
            .document_str(vana_config::Document::Monitoring, "test", yaml)
            .load()
            .unwrap();
        let context = vana_metrics::AlertContext::from_environment();
        let Err(error) = super::build(&loaded.config, &context) else {
            panic!("a webhook channel was built")
        };
        assert!(error.to_string().contains("`webhook` feature"), "{error}");
    }
}
