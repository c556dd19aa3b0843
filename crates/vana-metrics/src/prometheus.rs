//! Rendering the monitor in the Prometheus text exposition format 0.0.4.
//!
//! Series are grouped into families by [`exported_name`](crate::exported_name): base units, one family per
//! kind of series with a label for the rest of the name (`vana_response_time_seconds{operation}`, the HTTP
//! layer's `http_server_request_duration_seconds{http_route,...}`, `vana_memory_usage_ratio{component}`),
//! other series by their sanitized name. Response times are histograms (cumulative buckets, `_sum` and
//! `_count` over every sample ever recorded); `errors.*` and series in the unit `count` are counters
//! (`_total`, the sum of what was recorded), the rest gauges of their latest value. The standard process
//! collector's `process_*` series come last. One `# HELP` and one `# TYPE` per family.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::collector::ProcessStats;
use crate::families::{ExportedName, exported_name, legacy_name};
use crate::monitor::{PerformanceMonitor, RESPONSE_TIME_PREFIX, SeriesSnapshot};

/// The content type of the format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How metrics are named on export.
#[derive(Debug, Clone)]
pub struct PrometheusOptions {
    /// Put before every family name of vana-ops's own (`vana_`); empty for none. Standard names
    /// (`process_*`, `http_server_*`) take none.
    pub prefix: String,
    /// The names before the conventions (`vana_error_rate_percent`, `vana_memory_system_rss` in MB...), no
    /// HTTP family and no `process_*` series: `performance_monitoring.legacy_metric_names`.
    pub legacy_names: bool,
}

impl Default for PrometheusOptions {
    fn default() -> Self {
        Self { prefix: "vana_".into(), legacy_names: false }
    }
}

impl PrometheusOptions {
    /// The family, label and scale of a series under these options.
    pub fn exported_name<K: AsRef<str>, V>(&self, name: &str, tags: &[(K, V)]) -> ExportedName {
        if self.legacy_names {
            legacy_name(name, &self.prefix)
        } else {
            exported_name(name, tags, &self.prefix)
        }
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
        } else if series.name.starts_with(vana_config::metric_names::ERRORS_PREFIX)
            || &*series.unit == "count"
        {
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

/// Renders every series of `monitor`, then the process collector's series.
///
/// ```
/// use std::time::Duration;
/// let monitor = vana_metrics::PerformanceMonitor::new(&vana_config::MonitoringConfig::default());
/// monitor.record_response_time("checkout", Duration::from_millis(30), true, &[]);
/// let text = vana_metrics::render_prometheus(&monitor, &vana_metrics::PrometheusOptions::default());
/// assert!(text.contains("# TYPE vana_response_time_seconds histogram"));
/// assert!(text.contains(r#"vana_response_time_seconds_bucket{operation="checkout",success="true",le="0.05"} 1"#));
/// assert!(text.contains("# TYPE process_resident_memory_bytes gauge"));
/// ```
pub fn render_prometheus(monitor: &PerformanceMonitor, options: &PrometheusOptions) -> String {
    let mut families: BTreeMap<(String, Kind), Vec<(SeriesSnapshot, ExportedName)>> = BTreeMap::new();
    for series in monitor.snapshot() {
        let kind = Kind::of(&series);
        // A gauge with no kept sample (an error rate below its minimum of calls, or every sample past the
        // retention) has no value: absent, as Prometheus expects, rather than `NaN`.
        if kind == Kind::Gauge && series.latest.is_none() {
            continue;
        }
        let exported = options.exported_name(&series.name, &series.tags);
        let mut family = exported.family.clone();
        if kind == Kind::Counter && !family.ends_with("_total") {
            family.push_str("_total");
        }
        families.entry((family, kind)).or_default().push((series, exported));
    }
    let mut out = String::with_capacity(families.len() * 256 + 1024);
    let mut written = std::collections::BTreeSet::new();
    for ((family, kind), mut members) in families {
        // Two kinds under one sanitized name would be two families of one name: keep the first.
        if !written.insert(family.clone()) {
            continue;
        }
        members.sort_by(|(a, _), (b, _)| (&a.name, &a.tags).cmp(&(&b.name, &b.tags)));
        let (first, exported) = &members[0];
        let help = if exported.help.is_empty() {
            let unit = if first.unit.is_empty() { String::new() } else { format!(" ({})", first.unit) };
            format!("vana metric {}{unit}", first.name)
        } else {
            exported.help.clone()
        };
        let _ = writeln!(out, "# HELP {family} {help}");
        let _ = writeln!(out, "# TYPE {family} {}", kind.as_str());
        for (series, exported) in &members {
            let label = exported.label.as_ref().map(|(key, value)| (*key, value.as_str()));
            match kind {
                Kind::Histogram => push_histogram(&mut out, &family, label, series, exported.scale),
                Kind::Counter | Kind::Gauge => {
                    let value =
                        if kind == Kind::Counter { series.sum } else { series.latest.unwrap_or(f64::NAN) };
                    out.push_str(&family);
                    push_labels(&mut out, label, &series.tags, None);
                    out.push(' ');
                    push_value(&mut out, value * exported.scale);
                    out.push('\n');
                }
            }
        }
    }
    if !options.legacy_names
        && let Some(stats) = monitor.process_stats()
    {
        push_process_stats(&mut out, &stats);
    }
    out
}

/// The process collector's series, as every Prometheus client library names them.
fn push_process_stats(out: &mut String, stats: &ProcessStats) {
    let mut family = |name: &str, kind: &str, help: &str, value: Option<f64>| {
        if let Some(value) = value {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            out.push_str(name);
            out.push(' ');
            push_value(out, value);
            out.push('\n');
        }
    };
    family(
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds.",
        Some(stats.cpu_seconds),
    );
    family(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        Some(stats.resident_bytes),
    );
    family(
        "process_virtual_memory_bytes",
        "gauge",
        "Virtual memory size in bytes.",
        Some(stats.virtual_bytes),
    );
    family(
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
        Some(stats.start_time_seconds),
    );
    family("process_open_fds", "gauge", "Number of open file descriptors.", stats.open_fds);
    family("process_max_fds", "gauge", "Maximum number of open file descriptors.", stats.max_fds);
}

fn push_histogram(
    out: &mut String,
    family: &str,
    name_label: Option<(&str, &str)>,
    series: &SeriesSnapshot,
    scale: f64,
) {
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
    push_value(out, series.sum * scale);
    out.push('\n');
    let _ = write!(out, "{family}_count");
    push_labels(out, name_label, &series.tags, None);
    let _ = writeln!(out, " {}", series.count);
}

/// Whether a series name is a response time (exported as a histogram).
pub fn is_response_time(name: &str) -> bool {
    name.starts_with(RESPONSE_TIME_PREFIX)
}
