//! Prometheus alerting rules from the thresholds of `monitoring.yaml`: one configuration drives both an
//! instance's own alerts and the fleet's.

use std::fmt::Write as _;

use vana_config::{AlertLevel, Comparison, MonitoringConfig, Threshold};

use crate::prometheus::PrometheusOptions;

use crate::families::{GlobTarget, glob_target};

/// The window of the response-time quantile in the fleet rules.
const RATE_WINDOW: &str = "5m";
/// How long a latency or error-rate condition must hold before its rule fires, when the threshold sets no
/// `for_seconds`: the quantile is already over five minutes, so two more minutes rule out a single burst.
const DEFAULT_FOR_RATES: u64 = 120;
/// The same for gauges (memory, CPU, your own metrics): a gauge is one scrape's reading.
const DEFAULT_FOR_GAUGES: u64 = 300;
/// How long a target must be down before `InstanceDown` fires (a restart takes seconds).
const INSTANCE_DOWN_FOR: &str = "1m";

/// A glob's `*` as `.*`, every other character kept if Prometheus allows it in a name, else `_` (the way
/// names are sanitized on export), so the pattern matches the exported names.
fn name_pattern(glob: &str) -> String {
    glob.chars()
        .map(|c| match c {
            '*' => ".*".to_owned(),
            c if c.is_ascii_alphanumeric() || c == '_' || c == ':' => c.to_string(),
            _ => "_".to_owned(),
        })
        .collect()
}

/// A glob as a regular expression over label values (`.` and the like escaped).
fn value_pattern(glob: &str) -> String {
    glob.split('*').map(regex_escape).collect::<Vec<_>>().join(".*")
}

fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+?()[]{}|^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One rule's query: the PromQL (before the comparison), what its value means, the factor from the
/// threshold's unit to the exported one, and whether it is a rate (for the default `for`).
struct Query {
    promql: String,
    what: &'static str,
    scale: f64,
    over_rates: bool,
}

/// The query selecting what a threshold watches: over several families (response times: the operations'
/// and the HTTP layer's) their union with `or`, so one rule per level covers them. It keeps the labels of
/// the exported series (plus `instance` and `job` from the scrape), which are the labels of the in-process
/// alert too, so Alertmanager takes both for one alert.
fn query(glob: &str, prefix: &str) -> Query {
    let mut queries = family_queries(glob, prefix);
    if queries.len() == 1 {
        return queries.remove(0);
    }
    let union = queries.iter().map(|query| format!("({})", query.promql)).collect::<Vec<_>>().join(" or ");
    Query { promql: format!("({union})"), ..queries.remove(0) }
}

fn family_queries(glob: &str, prefix: &str) -> Vec<Query> {
    match glob_target(glob, prefix) {
        GlobTarget::Families(families) => families
            .into_iter()
            .map(|family| {
                let selector =
                    format!("{{{}=~{}}}", family.label, quoted_promql(&value_pattern(&family.value_glob)));
                if family.family.ends_with("_seconds") {
                    Query {
                        promql: format!(
                            "histogram_quantile(0.99, rate({}_bucket{selector}[{RATE_WINDOW}]))",
                            family.family
                        ),
                        what: "p99 over 5m (s)",
                        scale: family.scale,
                        over_rates: true,
                    }
                } else {
                    Query {
                        promql: format!("{}{selector}", family.family),
                        what: "value",
                        scale: family.scale,
                        over_rates: family.family.ends_with("error_ratio"),
                    }
                }
            })
            .collect(),
        GlobTarget::Names(glob) => vec![Query {
            // The name itself as the `metric` label, as the in-process alert names it.
            promql: format!(
                "label_replace({{__name__=~{}}}, \"metric\", \"$1\", \"__name__\", \"(.+)\")",
                quoted_promql(&format!("{prefix}{}", name_pattern(&glob)))
            ),
            what: "value",
            scale: 1.0,
            over_rates: false,
        }],
    }
}

fn quoted_promql(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A YAML double-quoted scalar (JSON's escaping is valid YAML).
fn yaml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A line in the exported unit, without the binary noise of the conversion (`70 %` is `0.7`, not
/// `0.7000000000000001`).
fn scaled(line: f64, scale: f64) -> f64 {
    let value = line * scale;
    if !value.is_finite() || value == 0.0 {
        return value;
    }
    // Twelve significant digits: far finer than any threshold, far coarser than the rounding error.
    let magnitude = 10f64.powi(11 - value.abs().log10().floor() as i32);
    (value * magnitude).round() / magnitude
}

fn band(level: AlertLevel, threshold: &Threshold, scale: f64) -> String {
    let (at, beyond) = match threshold.comparison {
        Comparison::Greater => (">=", "<"),
        Comparison::Less => ("<=", ">"),
    };
    let (warning, critical) = (scaled(threshold.warning, scale), scaled(threshold.critical, scale));
    match level {
        // A warning only while the value has not reached critical: one alert at a time, as in process.
        AlertLevel::Warning => format!("{at} {warning} {beyond} {critical}"),
        AlertLevel::Critical => format!("{at} {critical}"),
    }
}

/// How long a threshold's condition holds before it fires when it sets no `for_seconds`: in process and in
/// the exported rules alike.
pub(crate) fn default_for_seconds(glob: &str) -> u64 {
    default_for(&query(glob, ""))
}

fn default_for(query: &Query) -> u64 {
    if query.over_rates { DEFAULT_FOR_RATES } else { DEFAULT_FOR_GAUGES }
}

/// A Prometheus rules file (YAML): a warning and a critical rule per threshold of `config` and family it
/// watches, and `InstanceDown` (`up == 0` for a minute). `alert` is the threshold's name and the labels are
/// those of the in-process alert (`severity`, `service`, the series' own labels; `instance` and `job` from
/// the scrape), so Alertmanager groups an instance's own alert and the rule's as one. Response-time
/// thresholds compare the p99 over five minutes per series (a fleet sees rates, not single requests);
/// the rest compare the exported value, in its base unit (a memory threshold of 80 percent is `0.8`).
/// `for` is the threshold's `for_seconds`, or two minutes for rates and five for gauges when it has none;
/// `keep_firing_for` is `alerting.keep_firing_seconds` (Prometheus 2.42 and later).
///
/// ```
/// let rules = vana_metrics::prometheus_rules(&vana_config::MonitoringConfig::default(), &Default::default(), "vana-ops");
/// assert!(rules.contains("alert: \"response_time\""));
/// assert!(rules.contains("expr: \"up == 0\""));
/// ```
pub fn prometheus_rules(config: &MonitoringConfig, options: &PrometheusOptions, service: &str) -> String {
    let mut out = String::from(
        "# Generated by vana-ops from monitoring.yaml's thresholds (cargo xtask prometheus-rules, or\n\
         # vana-ops export-rules). Regenerate rather than edit.\ngroups:\n  - name: \"vana-ops\"\n    rules:\n",
    );
    let _ = writeln!(out, "      - alert: \"InstanceDown\"");
    let _ = writeln!(out, "        expr: \"up == 0\"");
    let _ = writeln!(out, "        for: \"{INSTANCE_DOWN_FOR}\"");
    let _ = writeln!(
        out,
        "        labels:\n          severity: \"critical\"\n          service: {}",
        yaml_string(service)
    );
    let _ = writeln!(out, "        annotations:");
    let _ = writeln!(
        out,
        "          summary: \"{{{{ $labels.instance }}}} of job {{{{ $labels.job }}}} has not answered scrapes for a minute\""
    );
    for (name, threshold) in &config.thresholds {
        let Some(glob) = threshold.metric_glob(name) else { continue };
        let query = query(glob, &options.prefix);
        for level in [AlertLevel::Warning, AlertLevel::Critical] {
            let rule = ThresholdRuleText { name, glob, threshold, query: &query, level };
            rule.write(&mut out, config.alerting.keep_firing_seconds, service);
        }
    }
    out
}

/// One level of one threshold, as a rule.
struct ThresholdRuleText<'a> {
    name: &'a str,
    glob: &'a str,
    threshold: &'a Threshold,
    query: &'a Query,
    level: AlertLevel,
}

impl ThresholdRuleText<'_> {
    fn write(&self, out: &mut String, keep_firing_seconds: u64, service: &str) {
        let Self { name, glob, threshold, query, level } = *self;
        let for_seconds = threshold.for_seconds.unwrap_or_else(|| default_for(query));
        let line = match level {
            AlertLevel::Warning => threshold.warning,
            AlertLevel::Critical => threshold.critical,
        };
        let line = scaled(line, query.scale);
        let summary = format!(
            "{name}: {} of {glob} is {{{{ $value }}}} ({} {line}, {level})",
            query.what, threshold.comparison
        );
        let _ = writeln!(out, "      - alert: {}", yaml_string(name));
        let expr = format!("{} {}", query.promql, band(level, threshold, query.scale));
        let _ = writeln!(out, "        expr: {}", yaml_string(&expr));
        let _ = writeln!(out, "        for: \"{for_seconds}s\"");
        if keep_firing_seconds > 0 {
            let _ = writeln!(out, "        keep_firing_for: \"{keep_firing_seconds}s\"");
        }
        let _ = writeln!(out, "        labels:");
        let _ = writeln!(out, "          severity: {}", yaml_string(&level.to_string()));
        let _ = writeln!(out, "          service: {}", yaml_string(service));
        let _ = writeln!(out, "        annotations:");
        let _ = writeln!(out, "          summary: {}", yaml_string(&summary));
        let _ = writeln!(out, "          value: \"{{{{ $value }}}}\"");
        let _ = writeln!(
            out,
            "          threshold: {}",
            yaml_string(&format!("{} {line}", threshold.comparison))
        );
        let _ = writeln!(out, "          metric_glob: {}", yaml_string(glob));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_become_selectors_on_the_exported_names() {
        let memory = query("memory.*.percent", "vana_");
        assert_eq!(memory.promql, "vana_memory_usage_ratio{component=~\".*\"}");
        assert_eq!(memory.scale, 0.01);
        assert_eq!(query("error_rate.*", "vana_").promql, "vana_error_ratio{operation=~\".*\"}");
        let latency = query("response_time./api/*", "vana_").promql;
        assert!(latency.starts_with(
            "((histogram_quantile(0.99, rate(vana_response_time_seconds_bucket{operation=~\"/api/.*\"}"
        ));
        assert!(latency.contains(") or (histogram_quantile(0.99, rate(http_server_request_duration_seconds_bucket{http_route=~\"/api/.*\"}[5m]))))"));
        assert!(query("queue.*", "vana_").promql.starts_with("label_replace({__name__=~\"vana_queue_.*\"}"));
        assert_eq!(value_pattern("a.b*"), "a\\\\.b.*".replace("\\\\", "\\"));
        assert_eq!(yaml_string("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
    }
}
