//! `monitoring.yaml`: performance monitoring, alert thresholds, alerting channels and logging.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::checks::{Checker, is_email_address};
use crate::key_path::KeyPath;
use crate::keywords::{
    AlertLevel, ChannelKind, Comparison, LogFormat, LogLevel, LogOutput, LogRotation, WebhookFormat,
};
use crate::limits;
use crate::metric_names::{DEFAULT_THRESHOLD_METRICS, default_metric_for_threshold};

/// The whole monitoring document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct MonitoringConfig {
    /// Sample retention and the system collector's interval.
    pub performance_monitoring: PerformanceMonitoring,
    /// Alert thresholds by name. A document's `thresholds` add to the default ones and replace those of the
    /// same name; `name: null` removes a default.
    pub thresholds: BTreeMap<String, Threshold>,
    /// Where alerts go.
    pub alerting: Alerting,
    /// Log level, format and correlation ids.
    pub logging: Logging,
    /// Readiness checks and `/health`'s conditions.
    pub health: crate::health::HealthConfig,
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        let lines = [(2.0, 5.0), (80.0, 90.0), (70.0, 85.0), (5.0, 10.0)];
        let thresholds = DEFAULT_THRESHOLD_METRICS
            .iter()
            .zip(lines)
            .map(|(&(key, glob), (warning, critical))| {
                let threshold = Threshold::new(glob, warning, critical, Comparison::Greater);
                (key.to_owned(), threshold)
            })
            .collect();
        Self {
            performance_monitoring: PerformanceMonitoring::default(),
            thresholds,
            alerting: Alerting::default(),
            logging: Logging::default(),
            health: crate::health::HealthConfig::default(),
        }
    }
}

/// `thresholds` as a document writes it, put over the default thresholds: a key of its own adds a threshold
/// or replaces the default of that name, a key set to `null` removes that default, and defaults it does not
/// name stay. So a file that raises one line keeps every other alert.
pub(crate) fn thresholds_over_defaults(document: &mut serde_yaml::Value) {
    let serde_yaml::Value::Mapping(sections) = document else { return };
    let written = match sections.get("thresholds") {
        None => serde_yaml::Mapping::new(),
        Some(serde_yaml::Value::Mapping(written)) => written.clone(),
        // Not a mapping: typing says so, at its place.
        Some(_) => return,
    };
    let mut merged = serde_yaml::Mapping::new();
    for (key, threshold) in &MonitoringConfig::default().thresholds {
        if !written.contains_key(key.as_str())
            && let Ok(value) = serde_yaml::to_value(threshold)
        {
            merged.insert(key.as_str().into(), value);
        }
    }
    for (key, threshold) in written {
        if !threshold.is_null() {
            merged.insert(key, threshold);
        }
    }
    sections.insert("thresholds".into(), serde_yaml::Value::Mapping(merged));
}

/// `performance_monitoring`: how long samples live and how often the system is sampled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct PerformanceMonitoring {
    /// Samples older than this many minutes are dropped.
    pub retention_minutes: u64,
    /// Seconds between two samples of the system collector.
    pub collection_interval: u64,
    /// Most samples kept per series (the oldest go first), besides the age limit.
    pub max_samples_per_series: u64,
    /// Most distinct series (name and tags); samples of further series are dropped and counted.
    pub max_series: u64,
    /// The window over which error rates are computed, in seconds.
    pub error_rate_window_seconds: u64,
    /// Fewest calls in the window before an error rate is recorded (a single failure is not 100 %).
    pub error_rate_min_calls: u64,
    /// Upper bounds of the response-time histogram buckets for the Prometheus export, in seconds, ascending.
    /// The lines of response-time thresholds are added to them.
    pub histogram_buckets: Vec<f64>,
    /// Export the names of vana-ops 0.x before the Prometheus conventions (`vana_memory_system_rss` in MB,
    /// `vana_error_rate_percent`, no `process_*` or HTTP family), for dashboards not yet moved.
    pub legacy_metric_names: bool,
}

impl PerformanceMonitoring {
    /// The retention as a duration.
    pub fn retention(&self) -> Duration {
        Duration::from_secs(self.retention_minutes.saturating_mul(60))
    }

    /// The collection interval as a duration.
    pub fn collection_interval(&self) -> Duration {
        Duration::from_secs(self.collection_interval)
    }
}

impl Default for PerformanceMonitoring {
    fn default() -> Self {
        Self {
            retention_minutes: 60,
            collection_interval: 30,
            max_samples_per_series: 1000,
            max_series: 10_000,
            error_rate_window_seconds: 60,
            error_rate_min_calls: 10,
            histogram_buckets: vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
            legacy_metric_names: false,
        }
    }
}

/// One alert threshold: the metrics it watches and its warning and critical lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Threshold {
    /// Glob over recorded metric names (`*` matches any run of characters). Optional for the four keys
    /// of the specification, which default to what the monitor records (see
    /// [`metric_names`](crate::metric_names)); required for any other key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// The warning line.
    pub warning: f64,
    /// The critical line.
    pub critical: f64,
    /// Which side of the lines is bad.
    #[serde(default = "default_comparison")]
    pub comparison: Comparison,
    /// Seconds a value must stay past a line before the alert fires (0: at once).
    #[serde(default)]
    pub for_seconds: u64,
}

fn default_comparison() -> Comparison {
    Comparison::Greater
}

impl Threshold {
    /// A threshold on `metric` alerting at `warning` and `critical`.
    pub fn new(metric: impl Into<String>, warning: f64, critical: f64, comparison: Comparison) -> Self {
        Self { metric: Some(metric.into()), warning, critical, comparison, for_seconds: 0 }
    }

    /// The glob this threshold watches, given its key in `thresholds`: its own `metric`, or the default
    /// for the specification's keys.
    pub fn metric_glob<'a>(&'a self, key: &str) -> Option<&'a str> {
        self.metric.as_deref().or_else(|| default_metric_for_threshold(key))
    }

    fn check(&self, key: &str, at: &KeyPath, check: &mut Checker) {
        match self.metric_glob(key) {
            Some(glob) => check.name(at.key("metric"), glob, b"*", "a metric glob"),
            None => check.fail(
                at.clone(),
                format!("`{key}` is not one of the built-in thresholds, so it needs `metric`: the glob of the metric names it watches"),
            ),
        }
        if self.for_seconds > limits::MAX_SECONDS {
            check.fail(
                at.key("for_seconds"),
                format!("must be at most {} seconds, not {}", limits::MAX_SECONDS, self.for_seconds),
            );
        }
        for (name, value) in [("warning", self.warning), ("critical", self.critical)] {
            if !value.is_finite() {
                check.fail(at.key(name), format!("must be a finite number, not {value}"));
            }
        }
        let ordered = match self.comparison {
            Comparison::Greater => self.warning < self.critical,
            Comparison::Less => self.warning > self.critical,
        };
        if self.warning.is_finite() && self.critical.is_finite() && !ordered {
            let should = match self.comparison {
                Comparison::Greater => "below",
                Comparison::Less => "above",
            };
            check.fail(
                at.key("warning"),
                format!(
                    "warning ({}) must be {should} critical ({}) when comparison is `{}`",
                    self.warning, self.critical, self.comparison
                ),
            );
        }
    }
}

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

    fn check(&self, at: &KeyPath, check: &mut Checker) {
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

    fn check(&self, at: &KeyPath, check: &mut Checker) {
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

/// `logging`: levels, format and the correlation id header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Logging {
    /// The global level.
    pub level: LogLevel,
    /// JSON lines or readable text.
    pub format: LogFormat,
    /// The request header that carries the correlation id.
    pub correlation_id_header: String,
    /// Where lines go.
    pub output: LogOutput,
    /// The log file and its rotation, when `output` is `file`.
    pub file: LogFile,
    /// Lines the non-blocking writer buffers; when it is full, further lines are dropped and counted.
    pub buffer_lines: u64,
    /// Keys whose values are written as `"[REDACTED]"`: a key matches when these words appear in it, in
    /// order (`api_key` matches `x-api-key` and `apiKey`; `token` matches `access_token`, not `tokens`).
    pub redact_keys: Vec<String>,
    /// Longest message written, in bytes; longer ones are cut with a marker.
    pub max_message_bytes: u64,
    /// Longest field value written, in bytes; longer ones are cut with a marker.
    pub max_field_bytes: u64,
    /// Levels of single components, overriding the global one.
    pub components: Vec<ComponentLevel>,
}

/// `logging.file`: a log file rotated by time, with a cap on the files kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct LogFile {
    /// The directory of the log files.
    pub directory: String,
    /// The file name; rotated files get a date suffix.
    pub prefix: String,
    /// When a new file starts.
    pub rotation: LogRotation,
    /// Most files kept; the oldest are deleted.
    pub max_files: u64,
}

impl Default for LogFile {
    fn default() -> Self {
        Self {
            directory: "logs".into(),
            prefix: "vana.log".into(),
            rotation: LogRotation::Daily,
            max_files: 7,
        }
    }
}

/// The words of the default `logging.redact_keys`.
pub const DEFAULT_REDACT_KEYS: [&str; 16] = [
    "password",
    "passwords",
    "passwd",
    "secret",
    "secrets",
    "token",
    "authorization",
    "cookie",
    "cookies",
    "api_key",
    "apikey",
    "csrf",
    "session",
    "private_key",
    "credential",
    "credentials",
];

impl Default for Logging {
    fn default() -> Self {
        let components = [
            ("agent_execution", LogLevel::Debug),
            ("security", LogLevel::Warning),
            ("performance", LogLevel::Info),
        ];
        Self {
            level: LogLevel::Info,
            format: LogFormat::Json,
            correlation_id_header: "X-Correlation-ID".into(),
            output: LogOutput::Stdout,
            file: LogFile::default(),
            buffer_lines: 10_000,
            redact_keys: DEFAULT_REDACT_KEYS.iter().map(|key| (*key).to_owned()).collect(),
            max_message_bytes: 8192,
            max_field_bytes: 2048,
            components: components
                .into_iter()
                .map(|(name, level)| ComponentLevel { name: name.into(), level })
                .collect(),
        }
    }
}

/// The level of one named component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ComponentLevel {
    /// The component (a log target such as `security` or `agent_execution`).
    pub name: String,
    /// Its level.
    pub level: LogLevel,
}

impl ComponentLevel {
    /// Component `name` at `level`.
    pub fn new(name: impl Into<String>, level: LogLevel) -> Self {
        Self { name: name.into(), level }
    }
}

impl MonitoringConfig {
    pub(crate) fn check(&self, check: &mut Checker) {
        let root = KeyPath::root();
        self.performance_monitoring.check(&root.key("performance_monitoring"), check);
        self.alerting.check(&root.key("alerting"), check);
        let thresholds = root.key("thresholds");
        check.at_most_entries(thresholds.clone(), self.thresholds.len(), limits::MAX_THRESHOLDS);
        for (key, threshold) in self.thresholds.iter().take(limits::MAX_THRESHOLDS) {
            threshold.check(key, &thresholds.key(key.as_str()), check);
        }
        self.logging.check(&root.key("logging"), check);
        self.health.check(&root.key("health"), self.thresholds.keys(), check);
    }
}

impl PerformanceMonitoring {
    fn check(&self, at: &KeyPath, check: &mut Checker) {
        check.positive_at_most(
            at.key("retention_minutes"),
            self.retention_minutes,
            limits::MAX_RETENTION_MINUTES,
            "minutes",
        );
        check.positive_at_most(
            at.key("collection_interval"),
            self.collection_interval,
            limits::MAX_SECONDS,
            "seconds",
        );
        check.positive_at_most(
            at.key("max_samples_per_series"),
            self.max_samples_per_series,
            limits::MAX_TABLE_ENTRIES,
            "samples",
        );
        check.positive_at_most(at.key("max_series"), self.max_series, limits::MAX_TABLE_ENTRIES, "series");
        check.positive_at_most(
            at.key("error_rate_window_seconds"),
            self.error_rate_window_seconds,
            limits::MAX_SECONDS,
            "seconds",
        );
        check.positive_at_most(
            at.key("error_rate_min_calls"),
            self.error_rate_min_calls,
            limits::MAX_TABLE_ENTRIES,
            "calls",
        );
        let buckets = at.key("histogram_buckets");
        check.each(&buckets, &self.histogram_buckets, limits::MAX_HISTOGRAM_BUCKETS, |check, at, bound| {
            if !(bound.is_finite() && *bound > 0.0) {
                check.fail(at, format!("must be a positive number of seconds, not {bound}"));
            }
        });
        if self.histogram_buckets.is_empty() {
            check.fail(buckets.clone(), "needs at least one bucket");
        }
        if let Some(position) = self.histogram_buckets.windows(2).position(|pair| pair[0] >= pair[1]) {
            check.fail(buckets.index(position + 1), "bucket bounds must rise strictly");
        }
    }
}

impl Alerting {
    fn check(&self, at: &KeyPath, check: &mut Checker) {
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

impl Logging {
    fn check(&self, at: &KeyPath, check: &mut Checker) {
        let header = &self.correlation_id_header;
        if http::HeaderName::from_bytes(header.as_bytes()).is_err() {
            check.fail(
                at.key("correlation_id_header"),
                format!("`{}` is not a valid HTTP header name", header.escape_debug()),
            );
        }
        check.positive_at_most(
            at.key("buffer_lines"),
            self.buffer_lines,
            limits::MAX_LOG_BUFFER_LINES,
            "lines",
        );
        check.positive_at_most(
            at.key("max_message_bytes"),
            self.max_message_bytes,
            limits::MAX_LOG_VALUE_BYTES,
            "bytes",
        );
        check.positive_at_most(
            at.key("max_field_bytes"),
            self.max_field_bytes,
            limits::MAX_LOG_VALUE_BYTES,
            "bytes",
        );
        check.each(&at.key("redact_keys"), &self.redact_keys, limits::MAX_REDACT_KEYS, |check, at, key| {
            check.name(at, key, b"", "a redacted key");
        });
        let file = at.key("file");
        if self.file.directory.is_empty() {
            check.fail(file.key("directory"), "must not be empty");
        }
        check.name(file.key("prefix"), &self.file.prefix, b"", "a log file name");
        check.positive_at_most(file.key("max_files"), self.file.max_files, limits::MAX_LOG_FILES, "files");
        let components = at.key("components");
        check.at_most_entries(components.clone(), self.components.len(), limits::MAX_LOG_COMPONENTS);
        let mut seen = BTreeSet::new();
        for (index, component) in self.components.iter().enumerate().take(limits::MAX_LOG_COMPONENTS) {
            let path = components.index(index).key("name");
            check.name(path.clone(), &component.name, b"", "a component name");
            if !seen.insert(component.name.as_str()) {
                check.fail(path, format!("component `{}` is listed twice", component.name.escape_debug()));
            }
        }
    }
}
