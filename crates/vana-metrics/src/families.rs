//! Where a recorded series goes on export: its family, named by the Prometheus conventions (base units,
//! `_seconds`, `_bytes`, `_ratio`), the label that carries the rest of its name, and the factor from the
//! recorded unit to the base unit.
//!
//! The monitor records in the units of the specification (MB, percent) because its thresholds are written
//! in them; the export converts, so a dashboard or rule written for any Prometheus exporter reads vana-ops
//! the same way. [`exported_name`] is the one mapping, used by the exposition, the alerting rules and the
//! labels of in-process alerts, so an alert and its rule name the same series.

use crate::prometheus::sanitize_metric_name;
use vana_config::metric_names::{self, ERROR_RATE_PREFIX, RESPONSE_TIME_PREFIX};

/// The tag the HTTP layer puts on its response-time series: such a series is an HTTP server request and
/// exports as [`HTTP_DURATION_FAMILY`].
pub const HTTP_METHOD_TAG: &str = "http.request.method";
/// The tag with the response's status code on the HTTP layer's series.
pub const HTTP_STATUS_TAG: &str = "http.response.status_code";
/// The OpenTelemetry HTTP semantic conventions' `http.server.request.duration`, as Prometheus names it.
pub const HTTP_DURATION_FAMILY: &str = "http_server_request_duration_seconds";
/// The method labels of the HTTP family; extension methods share `other`, so cardinality stays bounded.
pub const HTTP_METHODS: [&str; 8] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "other"];

/// The label of `method` among [`HTTP_METHODS`] (`other` for any other).
pub fn http_method_label(method: &str) -> &'static str {
    HTTP_METHODS[..HTTP_METHODS.len() - 1].iter().copied().find(|known| *known == method).unwrap_or("other")
}

/// The label of [`HTTP_DURATION_FAMILY`] with the route template (`http.route`).
pub const HTTP_ROUTE_LABEL: &str = "http_route";

/// A histogram the OpenTelemetry semantic conventions define: recorded by its name, exported as the
/// conventions' Prometheus form (no prefix, the unit as a suffix), with the conventions' bucket bounds.
pub(crate) struct StandardHistogram {
    pub(crate) name: &'static str,
    pub(crate) family: &'static str,
    pub(crate) bounds: &'static [f64],
    help: &'static str,
}

/// The GenAI conventions' histograms (semantic conventions 1.37, `gen-ai-metrics.md`).
const STANDARD_HISTOGRAMS: [StandardHistogram; 3] = [
    StandardHistogram {
        name: metric_names::GEN_AI_TIME_TO_FIRST_TOKEN,
        family: "gen_ai_server_time_to_first_token_seconds",
        bounds: &[0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0],
        help: "Time to the first content of an AI operation's answer (OpenTelemetry gen_ai.server.time_to_first_token).",
    },
    StandardHistogram {
        name: metric_names::GEN_AI_TIME_PER_OUTPUT_TOKEN,
        family: "gen_ai_server_time_per_output_token_seconds",
        bounds: &[0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5],
        help: "Time per output token after the first (OpenTelemetry gen_ai.server.time_per_output_token).",
    },
    StandardHistogram {
        name: metric_names::GEN_AI_TOKEN_USAGE,
        family: "gen_ai_client_token_usage",
        bounds: &[
            1.0,
            4.0,
            16.0,
            64.0,
            256.0,
            1024.0,
            4096.0,
            16384.0,
            65536.0,
            262_144.0,
            1_048_576.0,
            4_194_304.0,
            16_777_216.0,
            67_108_864.0,
        ],
        help: "Tokens an AI operation used, by gen_ai_token_type (OpenTelemetry gen_ai.client.token.usage).",
    },
];

/// The conventions' histogram recorded as `name`, if it is one.
pub(crate) fn standard_histogram(name: &str) -> Option<&'static StandardHistogram> {
    STANDARD_HISTOGRAMS.iter().find(|standard| standard.name == name)
}

/// One family of recorded names: `<prefix><label value><suffix>`.
struct FamilyRule {
    prefix: &'static str,
    suffix: &'static str,
    family: &'static str,
    label: &'static str,
    scale: f64,
    help: &'static str,
}

const MIB: f64 = 1024.0 * 1024.0;

/// The families of the names the monitor records itself (see `vana_config::metric_names`).
const FAMILIES: [FamilyRule; 6] = [
    FamilyRule {
        prefix: RESPONSE_TIME_PREFIX,
        suffix: "",
        family: "response_time_seconds",
        label: "operation",
        scale: 1.0,
        help: "Duration of an operation's calls.",
    },
    FamilyRule {
        prefix: ERROR_RATE_PREFIX,
        suffix: "",
        family: "error_ratio",
        label: "operation",
        scale: 0.01,
        help: "Failed calls of an operation over its error-rate window (0-1).",
    },
    FamilyRule {
        prefix: "memory.",
        suffix: ".rss",
        family: "memory_resident_bytes",
        label: "component",
        scale: MIB,
        help: "Resident memory of a component.",
    },
    FamilyRule {
        prefix: "memory.",
        suffix: ".vms",
        family: "memory_virtual_bytes",
        label: "component",
        scale: MIB,
        help: "Virtual memory of a component.",
    },
    FamilyRule {
        prefix: "memory.",
        suffix: ".percent",
        family: "memory_usage_ratio",
        label: "component",
        scale: 0.01,
        help: "Resident memory of a component over the system's total (0-1).",
    },
    FamilyRule {
        prefix: "cpu.",
        suffix: ".usage",
        family: "cpu_usage_ratio",
        label: "component",
        scale: 0.01,
        help: "CPU time of a component over wall time between samples, in cores (1 = one core busy).",
    },
];

/// How a recorded series is exported.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedName {
    /// The family's name, prefix included.
    pub family: String,
    /// The label carrying the rest of the recorded name (`operation`, `component`, `http_route`).
    pub label: Option<(&'static str, String)>,
    /// Recorded value × scale = exported value.
    pub scale: f64,
    /// The family's `# HELP` text.
    pub help: String,
}

/// The family, label and scale of the series `name` with `tags`, under `prefix` (`vana_`).
///
/// ```
/// use vana_metrics::exported_name;
/// let no_tags: &[(&str, &str)] = &[];
/// let memory = exported_name("memory.system.percent", no_tags, "vana_");
/// assert_eq!(memory.family, "vana_memory_usage_ratio");
/// assert_eq!(memory.label, Some(("component", "system".to_owned())));
/// assert_eq!(memory.scale, 0.01);
/// let http = exported_name("response_time./chat", &[("http.request.method", "GET")], "vana_");
/// assert_eq!(http.family, "http_server_request_duration_seconds");
/// assert_eq!(http.label, Some(("http_route", "/chat".to_owned())));
/// ```
pub fn exported_name<K: AsRef<str>, V>(name: &str, tags: &[(K, V)], prefix: &str) -> ExportedName {
    if let Some(route) = name.strip_prefix(FAMILIES[0].prefix)
        && tags.iter().any(|(key, _)| key.as_ref() == HTTP_METHOD_TAG)
    {
        return ExportedName {
            family: HTTP_DURATION_FAMILY.to_owned(),
            label: Some((HTTP_ROUTE_LABEL, route.to_owned())),
            scale: 1.0,
            help: "Duration of HTTP server requests (OpenTelemetry http.server.request.duration).".to_owned(),
        };
    }
    if let Some(standard) = standard_histogram(name) {
        return ExportedName {
            family: standard.family.to_owned(),
            label: None,
            scale: 1.0,
            help: standard.help.to_owned(),
        };
    }
    if let Some((rule, value)) = family_rule(name) {
        return ExportedName {
            family: format!("{prefix}{}", rule.family),
            label: Some((rule.label, value.to_owned())),
            scale: rule.scale,
            help: rule.help.to_owned(),
        };
    }
    ExportedName {
        family: format!("{prefix}{}", sanitize_metric_name(name)),
        label: None,
        scale: 1.0,
        help: String::new(),
    }
}

/// The names before this version (`vana_response_time_seconds{operation}`, `vana_error_rate_percent`, the
/// rest by their sanitized name in the recorded unit), for `performance_monitoring.legacy_metric_names`.
pub(crate) fn legacy_name(name: &str, prefix: &str) -> ExportedName {
    let (family, label) = if let Some(operation) = name.strip_prefix(RESPONSE_TIME_PREFIX) {
        ("response_time_seconds".to_owned(), Some(("operation", operation.to_owned())))
    } else if let Some(operation) = name.strip_prefix(ERROR_RATE_PREFIX) {
        ("error_rate_percent".to_owned(), Some(("operation", operation.to_owned())))
    } else {
        (sanitize_metric_name(name), None)
    };
    ExportedName { family: format!("{prefix}{family}"), label, scale: 1.0, help: String::new() }
}

fn family_rule(name: &str) -> Option<(&'static FamilyRule, &str)> {
    FAMILIES.iter().find_map(|rule| {
        let value = name.strip_prefix(rule.prefix)?.strip_suffix(rule.suffix)?;
        (!value.is_empty()).then_some((rule, value))
    })
}

/// What a threshold's glob watches once exported: the families (with the label glob) it selects, or the
/// generic metric names. Response-time globs select both the operations' and the HTTP layer's families.
pub(crate) enum GlobTarget {
    /// The families, each with the glob over its label's values.
    Families(Vec<FamilyGlob>),
    /// A glob over other recorded names (exported by their sanitized name, unscaled).
    Names(String),
}

/// One family a glob selects.
pub(crate) struct FamilyGlob {
    pub(crate) family: String,
    pub(crate) label: &'static str,
    pub(crate) value_glob: String,
    pub(crate) scale: f64,
}

/// The exported families a threshold's `glob` (over recorded names) watches.
pub(crate) fn glob_target(glob: &str, prefix: &str) -> GlobTarget {
    if let Some(standard) = standard_histogram(glob) {
        // A threshold on the conventions' histogram watches it on every route.
        return GlobTarget::Families(vec![FamilyGlob {
            family: standard.family.to_owned(),
            label: HTTP_ROUTE_LABEL,
            value_glob: "*".to_owned(),
            scale: 1.0,
        }]);
    }
    // A glob's parts are matched as a name's are: `memory.*.percent` is the family `memory_usage_ratio`.
    let Some((rule, value_glob)) = family_rule(glob) else {
        return GlobTarget::Names(glob.to_owned());
    };
    let mut families = vec![FamilyGlob {
        family: format!("{prefix}{}", rule.family),
        label: rule.label,
        value_glob: value_glob.to_owned(),
        scale: rule.scale,
    }];
    if rule.prefix == FAMILIES[0].prefix {
        families.push(FamilyGlob {
            family: HTTP_DURATION_FAMILY.to_owned(),
            label: HTTP_ROUTE_LABEL,
            value_glob: value_glob.to_owned(),
            scale: 1.0,
        });
    }
    GlobTarget::Families(families)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_units_become_base_units() {
        let rss = exported_name::<&str, &str>("memory.worker.rss", &[], "vana_");
        assert_eq!((rss.family.as_str(), rss.scale), ("vana_memory_resident_bytes", MIB));
        let cpu = exported_name::<&str, &str>("cpu.system.usage", &[], "");
        assert_eq!((cpu.family.as_str(), cpu.scale), ("cpu_usage_ratio", 0.01));
        let errors = exported_name::<&str, &str>("error_rate.checkout", &[], "vana_");
        assert_eq!(errors.family, "vana_error_ratio");
        let own = exported_name::<&str, &str>("queue.depth", &[], "vana_");
        assert_eq!((own.family.as_str(), own.label, own.scale), ("vana_queue_depth", None, 1.0));
        let ttft = exported_name("gen_ai.server.time_to_first_token", &[("http_route", "/run_sse")], "vana_");
        assert_eq!((ttft.family.as_str(), ttft.label), ("gen_ai_server_time_to_first_token_seconds", None));
        let no_component = exported_name::<&str, &str>("memory..rss", &[], "vana_");
        assert_eq!(no_component.family, "vana_memory__rss", "an empty label value is no family member");
    }

    #[test]
    fn extension_methods_share_one_label() {
        assert_eq!(http_method_label("PATCH"), "PATCH");
        assert_eq!(http_method_label("PROPFIND"), "other");
        assert_eq!(http_method_label("get"), "other", "methods are case-sensitive");
        assert_eq!(http_method_label("other"), "other");
    }

    #[test]
    fn globs_select_families_with_a_label_glob() {
        let GlobTarget::Families(families) = glob_target("response_time./api/*", "vana_") else { panic!() };
        let names: Vec<_> = families.iter().map(|family| family.family.as_str()).collect();
        assert_eq!(names, ["vana_response_time_seconds", HTTP_DURATION_FAMILY]);
        assert!(families.iter().all(|family| family.value_glob == "/api/*"));
        let GlobTarget::Families(memory) = glob_target("memory.*.percent", "vana_") else { panic!() };
        assert_eq!((memory[0].label, memory[0].scale), ("component", 0.01));
        assert!(matches!(glob_target("queue.*", "vana_"), GlobTarget::Names(glob) if glob == "queue.*"));
    }
}
