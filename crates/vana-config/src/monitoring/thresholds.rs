//! `thresholds`: one alert threshold, the metrics it watches and its lines.

use serde::{Deserialize, Serialize};

use crate::checks::Checker;
use crate::key_path::KeyPath;
use crate::keywords::Comparison;
use crate::limits;
use crate::metric_names::default_metric_for_threshold;

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
    /// Seconds the condition must hold before the alert fires, in process and in the exported rules alike
    /// (0: at once). Left out: two minutes for response times and error rates, five for gauges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_seconds: Option<u64>,
}

fn default_comparison() -> Comparison {
    Comparison::Greater
}

impl Threshold {
    /// A threshold on `metric` alerting at `warning` and `critical`.
    pub fn new(metric: impl Into<String>, warning: f64, critical: f64, comparison: Comparison) -> Self {
        Self { metric: Some(metric.into()), warning, critical, comparison, for_seconds: None }
    }

    /// The glob this threshold watches, given its key in `thresholds`: its own `metric`, or the default
    /// for the specification's keys.
    pub fn metric_glob<'a>(&'a self, key: &str) -> Option<&'a str> {
        self.metric.as_deref().or_else(|| default_metric_for_threshold(key))
    }

    pub(super) fn check(&self, key: &str, at: &KeyPath, check: &mut Checker) {
        match self.metric_glob(key) {
            Some(glob) => check.name(at.key("metric"), glob, b"*", "a metric glob"),
            None => check.fail(
                at.clone(),
                format!("`{key}` is not one of the built-in thresholds, so it needs `metric`: the glob of the metric names it watches"),
            ),
        }
        if let Some(seconds) = self.for_seconds.filter(|&seconds| seconds > limits::MAX_SECONDS) {
            check.fail(
                at.key("for_seconds"),
                format!("must be at most {} seconds, not {seconds}", limits::MAX_SECONDS),
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
