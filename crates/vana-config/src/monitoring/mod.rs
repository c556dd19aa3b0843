//! `monitoring.yaml`: performance monitoring, alert thresholds, alerting channels and logging, a module a
//! section, each struct beside its checks.

mod alerting;
mod logging;
mod performance;
mod thresholds;
mod traces;

pub use alerting::*;
pub use logging::*;
pub use performance::*;
pub use thresholds::*;
pub use traces::*;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checks::Checker;
use crate::key_path::KeyPath;
use crate::keywords::Comparison;
use crate::limits;
use crate::metric_names::default_metric_for_threshold;

/// The default thresholds' lines (warning, critical), by key; each watches the glob
/// `metric_names::DEFAULT_THRESHOLD_METRICS` gives its key.
const DEFAULT_THRESHOLD_LINES: [(&str, f64, f64); 4] = [
    ("response_time", 2.0, 5.0),
    ("memory_usage", 80.0, 90.0),
    ("cpu_usage", 70.0, 85.0),
    ("error_rate", 5.0, 10.0),
];

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
    /// OpenTelemetry traces.
    pub traces: Traces,
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        let thresholds = DEFAULT_THRESHOLD_LINES
            .iter()
            .filter_map(|&(key, warning, critical)| {
                let glob = default_metric_for_threshold(key)?;
                Some((key.to_owned(), Threshold::new(glob, warning, critical, Comparison::Greater)))
            })
            .collect();
        Self {
            performance_monitoring: PerformanceMonitoring::default(),
            thresholds,
            alerting: Alerting::default(),
            logging: Logging::default(),
            health: crate::health::HealthConfig::default(),
            traces: Traces::default(),
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
        self.traces.check(&root.key("traces"), check);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_threshold_has_lines_and_a_glob() {
        let keys: Vec<&str> = DEFAULT_THRESHOLD_LINES.iter().map(|(key, _, _)| *key).collect();
        let named: Vec<&str> =
            crate::metric_names::DEFAULT_THRESHOLD_METRICS.iter().map(|(key, _)| *key).collect();
        assert_eq!(keys, named);
        assert_eq!(MonitoringConfig::default().thresholds.len(), DEFAULT_THRESHOLD_LINES.len());
    }
}
