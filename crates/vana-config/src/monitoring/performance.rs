//! `performance_monitoring`: sample retention, the collector, error rates, histogram buckets.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::checks::Checker;
use crate::key_path::KeyPath;
use crate::limits;

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

impl PerformanceMonitoring {
    pub(super) fn check(&self, at: &KeyPath, check: &mut Checker) {
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
