//! Rendering the monitor in the Prometheus text exposition format 0.0.4.
//!
//! Response times of every operation are one histogram family, `vana_response_time_seconds{operation=...}`
//! (cumulative buckets, `_sum` and `_count` over every sample ever recorded), error rates one gauge family,
//! `vana_error_rate_percent{operation=...}`. Every other series is a family named after it: dots and other
//! characters Prometheus does not allow become `_`, with an optional prefix (`vana_`); `errors.*` and
//! series in the unit `count` are counters (`_total`, the sum of what was recorded), the rest gauges of their
//! latest value. One `# HELP` and one `# TYPE` per family.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::monitor::{PerformanceMonitor, RESPONSE_TIME_PREFIX, SeriesSnapshot};

/// The content type of the format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How metrics are named on export.
#[derive(Debug, Clone)]
pub struct PrometheusOptions {
    /// Put before every family name (`vana_`); empty for none.
    pub prefix: String,
}

impl Default for PrometheusOptions {
    fn default() -> Self {
        Self { prefix: "vana_".into() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn of(series: &SeriesSnapshot) -> Kind {
        if series.buckets.is_some() {
            Kind::Histogram
        } else if series.name.starts_with("errors.") || &*series.unit == "count" {
            Kind::Counter
        } else {
            Kind::Gauge
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A metric name Prometheus accepts: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn sanitize_metric_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == ':' { c } else { '_' })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// A label name Prometheus accepts: `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved), not `le`
/// (the histogram bucket label).
pub fn sanitize_label_name(name: &str) -> String {
    let mut out: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) || out.starts_with("__") || out == "le"
    {
        out.insert_str(0, "tag_");
    }
    out
}

/// A label value with `\`, `"` and newlines escaped.
fn push_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn push_value(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value == f64::INFINITY {
        out.push_str("+Inf");
    } else if value == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        let _ = write!(out, "{value}");
    }
}

/// The family of a series and the label that carries the rest of its name: response times and error rates
/// of every operation share one family each (`vana_response_time_seconds{operation="checkout"}`), so fleet
/// rules and dashboards select operations by label; other metrics are a family of their own.
pub fn family_of(name: &str) -> (String, Option<(&'static str, &str)>) {
    if let Some(operation) = name.strip_prefix(RESPONSE_TIME_PREFIX) {
        (RESPONSE_TIME_FAMILY.to_owned(), Some(("operation", operation)))
    } else if let Some(operation) = name.strip_prefix(ERROR_RATE_PREFIX) {
        (ERROR_RATE_FAMILY.to_owned(), Some(("operation", operation)))
    } else {
        (sanitize_metric_name(name), None)
    }
}

/// The family of every `response_time.<operation>` (before the prefix), a histogram in seconds.
pub const RESPONSE_TIME_FAMILY: &str = "response_time_seconds";
/// The family of every `error_rate.<operation>` (before the prefix), a gauge in percent.
pub const ERROR_RATE_FAMILY: &str = "error_rate_percent";
const ERROR_RATE_PREFIX: &str = "error_rate.";

fn push_labels(
    out: &mut String,
    first_labels: Option<(&str, &str)>,
    tags: &[(std::sync::Arc<str>, std::sync::Arc<str>)],
    last_label: Option<(&str, &str)>,
) {
    if tags.is_empty() && first_labels.is_none() && last_label.is_none() {
        return;
    }
    out.push('{');
    let mut first = true;
    let mut seen = std::collections::BTreeSet::new();
    for (key, value) in first_labels
        .map(|(k, v)| (k.to_owned(), v))
        .into_iter()
        .chain(tags.iter().map(|(key, value)| (sanitize_label_name(key), &**value)))
        .chain(last_label.map(|(k, v)| (k.to_owned(), v)))
    {
        if !seen.insert(key.clone()) {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&key);
        out.push_str("=\"");
        push_label_value(out, value);
        out.push('"');
    }
    out.push('}');
}

/// Renders every series of `monitor`.
///
/// ```
/// use std::time::Duration;
/// let monitor = vana_metrics::PerformanceMonitor::new(&vana_config::MonitoringConfig::default());
/// monitor.record_response_time("checkout", Duration::from_millis(30), true, &[]);
/// let text = vana_metrics::render_prometheus(&monitor, &vana_metrics::PrometheusOptions::default());
/// assert!(text.contains("# TYPE vana_response_time_seconds histogram"));
/// assert!(text.contains(r#"vana_response_time_seconds_bucket{operation="checkout",success="true",le="0.05"} 1"#));
/// ```
pub fn render_prometheus(monitor: &PerformanceMonitor, options: &PrometheusOptions) -> String {
    let mut families: BTreeMap<(String, Kind), Vec<SeriesSnapshot>> = BTreeMap::new();
    for series in monitor.snapshot() {
        let kind = Kind::of(&series);
        // A gauge with no kept sample (an error rate below its minimum of calls, or every sample past the
        // retention) has no value: absent, as Prometheus expects, rather than `NaN`.
        if kind == Kind::Gauge && series.latest.is_none() {
            continue;
        }
        let mut family = format!("{}{}", options.prefix, family_of(&series.name).0);
        if kind == Kind::Counter && !family.ends_with("_total") {
            family.push_str("_total");
        }
        families.entry((family, kind)).or_default().push(series);
    }
    let mut out = String::with_capacity(families.len() * 256);
    let mut written = std::collections::BTreeSet::new();
    for ((family, kind), mut members) in families {
        // Two kinds under one sanitized name would be two families of one name: keep the first.
        if !written.insert(family.clone()) {
            continue;
        }
        members.sort_by(|a, b| (&a.name, &a.tags).cmp(&(&b.name, &b.tags)));
        let unit = &members[0].unit;
        let described = match family_of(&members[0].name).1 {
            Some(_) if members[0].name.starts_with(RESPONSE_TIME_PREFIX) => {
                "response_time.<operation>".to_owned()
            }
            Some(_) => "error_rate.<operation>".to_owned(),
            None => members[0].name.to_string(),
        };
        let _ = writeln!(
            out,
            "# HELP {family} vana metric {described}{}",
            if unit.is_empty() { String::new() } else { format!(" ({unit})") }
        );
        let _ = writeln!(out, "# TYPE {family} {}", kind.as_str());
        for series in &members {
            let name_label = family_of(&series.name).1;
            match kind {
                Kind::Histogram => push_histogram(&mut out, &family, name_label, series),
                Kind::Counter => {
                    out.push_str(&family);
                    push_labels(&mut out, name_label, &series.tags, None);
                    out.push(' ');
                    push_value(&mut out, series.sum);
                    out.push('\n');
                }
                Kind::Gauge => {
                    out.push_str(&family);
                    push_labels(&mut out, name_label, &series.tags, None);
                    out.push(' ');
                    push_value(&mut out, series.latest.unwrap_or(f64::NAN));
                    out.push('\n');
                }
            }
        }
    }
    out
}

fn push_histogram(out: &mut String, family: &str, name_label: Option<(&str, &str)>, series: &SeriesSnapshot) {
    let mut cumulative = 0u64;
    for (bound, count) in series.buckets.iter().flatten() {
        cumulative += count;
        let _ = write!(out, "{family}_bucket");
        push_labels(out, name_label, &series.tags, Some(("le", &bound.to_string())));
        let _ = writeln!(out, " {cumulative}");
    }
    let _ = write!(out, "{family}_bucket");
    push_labels(out, name_label, &series.tags, Some(("le", "+Inf")));
    let _ = writeln!(out, " {}", series.count);
    let _ = write!(out, "{family}_sum");
    push_labels(out, name_label, &series.tags, None);
    out.push(' ');
    push_value(out, series.sum);
    out.push('\n');
    let _ = write!(out, "{family}_count");
    push_labels(out, name_label, &series.tags, None);
    let _ = writeln!(out, " {}", series.count);
}

/// Whether a series name is a response time (exported as a histogram).
pub fn is_response_time(name: &str) -> bool {
    name.starts_with(RESPONSE_TIME_PREFIX)
}
