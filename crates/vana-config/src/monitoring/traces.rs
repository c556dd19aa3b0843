//! `traces`: OpenTelemetry traces exported with OTLP over HTTP. The standard variables
//! (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_SERVICE_NAME`,
//! `OTEL_TRACES_SAMPLER_ARG`, `OTEL_SDK_DISABLED`) win over these keys; [`Traces::resolve`] applies them.

use serde::{Deserialize, Serialize};

use crate::checks::Checker;
use crate::key_path::KeyPath;
use crate::limits;

/// Most spans waiting for export.
const MAX_QUEUE: u64 = 1_000_000;

/// `traces`: whether spans are exported, where, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Traces {
    /// Export traces (also on when `OTEL_EXPORTER_OTLP_ENDPOINT` or `..._TRACES_ENDPOINT` is set).
    pub enabled: bool,
    /// The OTLP/HTTP base URL (`http://127.0.0.1:4318`); spans go to `<endpoint>/v1/traces`.
    pub endpoint: String,
    /// The resource's `service.name`.
    pub service_name: String,
    /// The share of new traces sampled, 0 to 1; a request carrying a `traceparent` follows its sampled flag.
    pub sample_ratio: f64,
    /// Most spans waiting for export; past it, spans are dropped and counted, never waited for.
    pub max_queue_size: u64,
    /// Most spans in one export.
    pub max_export_batch_size: u64,
    /// Milliseconds between two exports.
    pub export_interval_ms: u64,
    /// Milliseconds one export may take.
    pub export_timeout_ms: u64,
}

impl Default for Traces {
    fn default() -> Self {
        Self {
            enabled: false,
            endpoint: "http://127.0.0.1:4318".into(),
            service_name: "vana-ops".into(),
            sample_ratio: 1.0,
            max_queue_size: 2048,
            max_export_batch_size: 512,
            export_interval_ms: 1000,
            export_timeout_ms: 10_000,
        }
    }
}

/// The trace settings in force once the environment has been read.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ResolvedTraces {
    /// Where spans go: the full URL (`.../v1/traces`).
    pub traces_url: String,
    /// The resource's `service.name`.
    pub service_name: String,
    /// The share of new traces sampled.
    pub sample_ratio: f64,
    /// As in [`Traces`].
    pub max_queue_size: usize,
    /// As in [`Traces`].
    pub max_export_batch_size: usize,
    /// As in [`Traces`].
    pub export_interval: std::time::Duration,
    /// As in [`Traces`].
    pub export_timeout: std::time::Duration,
}

impl Traces {
    /// The settings in force given the environment `var` (usually `std::env::var`): `None` when traces are
    /// off (not enabled and no OTLP endpoint in the environment, or `OTEL_SDK_DISABLED=true`).
    pub fn resolve(&self, var: impl Fn(&str) -> Option<String>) -> Option<ResolvedTraces> {
        let set = |name: &str| var(name).filter(|value| !value.trim().is_empty());
        if set("OTEL_SDK_DISABLED").is_some_and(|value| value.trim().eq_ignore_ascii_case("true")) {
            return None;
        }
        let traces_endpoint = set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        let endpoint = set("OTEL_EXPORTER_OTLP_ENDPOINT");
        if !self.enabled && traces_endpoint.is_none() && endpoint.is_none() {
            return None;
        }
        // The signal's own variable is the whole URL; the general one and the key are a base.
        let traces_url = traces_endpoint.unwrap_or_else(|| {
            let base = endpoint.unwrap_or_else(|| self.endpoint.clone());
            format!("{}/v1/traces", base.trim_end_matches('/'))
        });
        let ratio = set("OTEL_TRACES_SAMPLER_ARG").and_then(|ratio| ratio.trim().parse::<f64>().ok());
        let size = |value: u64| usize::try_from(value).unwrap_or(usize::MAX);
        Some(ResolvedTraces {
            traces_url,
            service_name: set("OTEL_SERVICE_NAME").unwrap_or_else(|| self.service_name.clone()),
            sample_ratio: ratio.filter(|ratio| (0.0..=1.0).contains(ratio)).unwrap_or(self.sample_ratio),
            max_queue_size: size(self.max_queue_size),
            max_export_batch_size: size(self.max_export_batch_size.min(self.max_queue_size)),
            export_interval: std::time::Duration::from_millis(self.export_interval_ms),
            export_timeout: std::time::Duration::from_millis(self.export_timeout_ms),
        })
    }

    pub(super) fn check(&self, at: &KeyPath, check: &mut Checker) {
        if !self.endpoint.starts_with("http://") && !self.endpoint.starts_with("https://") {
            check.fail(
                at.key("endpoint"),
                format!("`{}` is no http:// or https:// URL", self.endpoint.escape_debug()),
            );
        }
        check.name(at.key("service_name"), &self.service_name, b"/", "a service name");
        if !(0.0..=1.0).contains(&self.sample_ratio) {
            check.fail(at.key("sample_ratio"), format!("must be from 0 to 1, not {}", self.sample_ratio));
        }
        check.positive_at_most(at.key("max_queue_size"), self.max_queue_size, MAX_QUEUE, "spans");
        check.positive_at_most(
            at.key("max_export_batch_size"),
            self.max_export_batch_size,
            MAX_QUEUE,
            "spans",
        );
        for (key, value) in
            [("export_interval_ms", self.export_interval_ms), ("export_timeout_ms", self.export_timeout_ms)]
        {
            check.positive_at_most(at.key(key), value, limits::MAX_SECONDS * 1000, "milliseconds");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned())
    }

    #[test]
    fn the_standard_variables_turn_traces_on_and_win_over_the_keys() {
        let traces = Traces::default();
        assert_eq!(traces.resolve(env(&[])), None, "off unless enabled or an endpoint is set");
        let on = traces.resolve(env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://phoenix:6006/")])).unwrap();
        assert_eq!(on.traces_url, "http://phoenix:6006/v1/traces");
        let own = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b:4318/custom"),
            ("OTEL_SERVICE_NAME", "gateway"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ]);
        let resolved = traces.resolve(own).unwrap();
        assert_eq!(
            (resolved.traces_url.as_str(), resolved.service_name.as_str()),
            ("http://b:4318/custom", "gateway")
        );
        assert_eq!(resolved.sample_ratio, 0.25);
        let enabled = Traces { enabled: true, ..Traces::default() };
        assert_eq!(enabled.resolve(env(&[])).unwrap().traces_url, "http://127.0.0.1:4318/v1/traces");
        assert_eq!(enabled.resolve(env(&[("OTEL_SDK_DISABLED", "TRUE")])), None);
        assert_eq!(
            enabled.resolve(env(&[("OTEL_TRACES_SAMPLER_ARG", "7")])).unwrap().sample_ratio,
            1.0,
            "out of range: the key's"
        );
    }
}
