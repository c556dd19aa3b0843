//! Typed, strictly validated configuration for vana-ops.
//!
//! vana-ops reads two YAML documents: `security/security_policies.yaml` (input validation, rate
//! limiting, IP blocking, CSRF, response headers) and `monitoring/monitoring.yaml` (sample retention,
//! alert thresholds, alerting channels, logging). This crate gives both a typed form, [`Config`], and
//! loads it with care for the person who wrote the file:
//!
//! - **Defaults built in.** The shipped files are embedded, so a binary runs with no config directory;
//!   `Config::default()` equals them. A key left out of a file takes its default; a missing file means
//!   its document's defaults, and [`LoadedConfig::sources`] says which files were used.
//! - **Environment overrides.** `VANA_<DOCUMENT>__<SECTION>__<KEY>=value`, e.g.
//!   `VANA_SECURITY__RATE_LIMITING__DEFAULT_LIMIT=200`, parsed with the key's type.
//! - **Every problem, located.** Unknown keys (with a "did you mean"), mistyped values and broken rules
//!   (thresholds in the wrong order, zero windows, regexes that do not compile, bad header names,
//!   whitelist entries that are not IPs or CIDRs, unknown levels, bad email addresses) are all reported
//!   in one run, each as `file:line:col: key.path: message`.
//! - **Hostile input.** Oversized files, alias bombs, deep nesting, non-UTF-8 bytes, empty files and
//!   documents that are not mappings get a clear error, never a panic or a stall (see [`limits`]).
//! - **Thresholds that fire.** Each threshold names the recorded metrics it watches with a glob;
//!   [`metric_names`] is the one table that ties the configuration's threshold keys to the names the
//!   monitor records.
//!
//! Only this crate reads YAML; the other vana-ops crates take its typed values.
//!
//! # Example
//!
//! ```
//! use vana_config::{Config, ConfigLoader, Document};
//!
//! // The embedded defaults, as shipped.
//! let config = Config::default();
//! assert_eq!(config.security.rate_limiting.default_limit, 100);
//! assert_eq!(config.security.headers.security_headers["X-XSS-Protection"], "0");
//!
//! // A file with mistakes: every one is reported, with its line.
//! let yaml = "\
//! thresholds:
//!   memory_usage:
//!     warning: 95
//!     critical: 90
//! logging:
//!   levle: DEBUG
//! ";
//! let error = ConfigLoader::new().document_str(Document::Monitoring, "monitoring.yaml", yaml).load().unwrap_err();
//! let lines: Vec<String> = error.problems().iter().map(|p| p.to_string()).collect();
//! assert_eq!(lines, [
//!     "monitoring.yaml:3:14: thresholds.memory_usage.warning: warning (95) must be below critical (90) \
//!      when comparison is `greater`",
//!     "monitoring.yaml:6:3: logging.levle: unknown key `levle`; did you mean `level`?",
//! ]);
//! ```
//!
//! # Feature flags
//!
//! None: the crate is small and always complete.

mod backend;
mod checks;
mod document;
mod env;
mod health;
mod http_layer;
mod input_policy;
mod key_path;
mod keywords;
pub mod limits;
mod loader;
pub mod metric_names;
mod monitoring;
mod parse;
mod problem;
mod recover;
mod route_settings;
mod scalar_string;
mod security;
mod span_index;
mod static_text;
mod suggest;

pub use backend::Backend;
pub use document::{Document, EMBEDDED_MONITORING_YAML, EMBEDDED_SECURITY_YAML};
pub use health::HealthConfig;
pub use http_layer::{HttpLayer, RateLimitHeaders};
pub use input_policy::{InputAction, InputPolicies, PointerToken, RoutePolicy, parse_pointer};
pub use key_path::{KeyPath, Segment};
pub use keywords::{
    AlertLevel, BackendKind, ChannelKind, Comparison, FailureMode, LogFormat, LogLevel, LogOutput,
    LogRotation, WebhookFormat,
};
pub use limits::MAX_DOCUMENT_BYTES;
pub use loader::{Config, ConfigLoader, ConfigSource, LoadedConfig};
pub use monitoring::{
    AlertChannel, Alerting, ComponentLevel, DEFAULT_REDACT_KEYS, DeliverySettings, LogFile, Logging,
    MonitoringConfig, PerformanceMonitoring, Threshold,
};
pub use problem::{ConfigError, Origin, Problem, ProblemKind, Problems};
pub use route_settings::RouteSettings;
pub use security::{
    ClientAddress, CsrfMode, CsrfProtection, Headers, InputValidation, IpBlocking, RateLimiting,
    SecurityEventsConfig, SecurityPolicies, compile_pattern,
};
pub use static_text::{MAX_STATIC_TEXT_BYTES, MAX_STATIC_TEXTS, static_text};

/// Parses an IP address or CIDR network as the whitelist does (`10.0.0.1`, `10.0.0.0/8`, `::1`).
pub fn parse_ip_or_cidr(text: &str) -> Result<ipnet::IpNet, String> {
    checks::parse_ip_or_cidr(text)
}
