#![doc = include_str!("../README.md")]

mod ai_operation;
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

pub use ai_operation::{AiOperation, BudgetIdentity, TokenBudget};
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
    MonitoringConfig, PerformanceMonitoring, ResolvedTraces, Threshold, Traces,
};
pub use problem::{ConfigError, Origin, Problem, ProblemKind, Problems};
pub use route_settings::RouteSettings;
pub use security::{
    ClientAddress, CsrfMode, CsrfProtection, Headers, InputValidation, IpBlocking, RateLimiting,
    SecurityEventsConfig, SecurityPolicies, WithoutPeer, compile_pattern,
};
pub use static_text::{MAX_STATIC_TEXT_BYTES, MAX_STATIC_TEXTS, static_text};

/// Parses an IP address or CIDR network as the whitelist does (`10.0.0.1`, `10.0.0.0/8`, `::1`).
pub fn parse_ip_or_cidr(text: &str) -> Result<ipnet::IpNet, String> {
    checks::parse_ip_or_cidr(text)
}
