//! Queries: samples, summaries, names and a snapshot of every series.

use super::*;

/// One series as the exporter sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSnapshot {
    /// The metric's name.
    pub name: Arc<str>,
    /// The unit.
    pub unit: Arc<str>,
    /// The tags.
    pub tags: Tags,
    /// The newest kept value.
    pub latest: Option<f64>,
    /// Samples ever recorded.
    pub count: u64,
    /// Sum of every value ever recorded.
    pub sum: f64,
    /// For response times: (upper bound, count of samples in that bucket alone), ascending.
    pub buckets: Option<Vec<(f64, u64)>>,
}

/// One recorded sample, as the specification's `PerformanceMetric`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSample {
    /// When it was recorded (wall clock).
    pub timestamp: SystemTime,
    /// The metric's name.
    pub name: Arc<str>,
    /// The value.
    pub value: f64,
    /// The unit (`seconds`, `MB`, `percent`...).
    pub unit: Arc<str>,
    /// The series' tags.
    pub tags: Tags,
    /// The sample's metadata (empty when none).
    pub metadata: Tags,
}

impl PerformanceMonitor {
    /// The kept samples of every series named `name` (all tag sets), oldest first, optionally since a time.
    pub fn get_metrics(&self, name: &str, since: Option<SystemTime>) -> Vec<MetricSample> {
        let mut samples = Vec::new();
        let oldest = self.inner.oldest_kept(self.inner.now());
        let from = since.map_or(oldest, |since| self.inner.nanos_of(since).max(oldest));
        let none: Tags = Arc::from(Vec::new());
        for series in self.inner.series_named(name) {
            let state = series.state.lock();
            for (index, sample) in series.ring.samples_since(from) {
                let metadata = state.metadata_of(index).map_or_else(|| Arc::clone(&none), Arc::clone);
                samples.push(MetricSample {
                    timestamp: self.inner.clock.wall_at(sample.at),
                    name: Arc::clone(&series.name),
                    value: sample.value,
                    unit: Arc::clone(&series.unit),
                    tags: Arc::clone(&series.tags),
                    metadata,
                });
            }
        }
        samples.sort_by_key(|sample| sample.timestamp);
        samples
    }

    /// Count, min, max, avg, latest and percentiles of `name`'s kept samples (all tag sets).
    pub fn get_summary(&self, name: &str, since: Option<SystemTime>) -> Summary {
        let oldest = self.inner.oldest_kept(self.inner.now());
        let from = since.map_or(oldest, |since| self.inner.nanos_of(since).max(oldest));
        let series = self.inner.series_named(name);
        if let [single] = series.as_slice() {
            // One series: its samples come in index order already.
            let mut values: Vec<f64> =
                single.ring.samples_since(from).map(|(_, sample)| sample.value).collect();
            return Summary::of(&mut values);
        }
        let mut values: Vec<(u64, f64)> = Vec::new();
        for series in series {
            values.extend(series.ring.samples_since(from).map(|(_, sample)| (sample.at, sample.value)));
        }
        values.sort_by_key(|(at, _)| *at);
        let mut values: Vec<f64> = values.into_iter().map(|(_, value)| value).collect();
        Summary::of(&mut values)
    }

    /// Samples ever recorded for `name` (all tag sets), kept or not.
    pub fn total_recorded(&self, name: &str) -> u64 {
        self.inner.series_named(name).iter().map(|series| series.ring.total()).sum()
    }

    /// Every series name, sorted, once each.
    pub fn series_names(&self) -> Vec<String> {
        let registry = self.inner.series.table.read();
        let mut names: Vec<String> = registry
            .by_hash
            .values()
            .flatten()
            .map(|series| series.name.to_string())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        names.sort();
        names
    }

    /// Series held now (at most `max_series`).
    pub fn series_count(&self) -> usize {
        self.inner.series.count.load(Ordering::Relaxed)
    }

    /// Samples dropped because their series would have exceeded `max_series`.
    pub fn dropped_samples(&self) -> u64 {
        self.inner.series.dropped_samples.load(Ordering::Relaxed)
    }

    /// The monitor's clock.
    pub fn clock(&self) -> &Arc<dyn MetricsClock> {
        &self.inner.clock
    }

    /// A snapshot of every series for export: name, unit, tags, latest value, count, sum and histogram.
    pub fn snapshot(&self) -> Vec<SeriesSnapshot> {
        let series: Vec<Arc<Series>> =
            self.inner.series.table.read().by_hash.values().flatten().cloned().collect();
        series
            .into_iter()
            .map(|series| SeriesSnapshot {
                name: Arc::clone(&series.name),
                unit: Arc::clone(&series.unit),
                tags: Arc::clone(&series.tags),
                latest: series.latest().map(|sample| sample.value),
                count: series.ring.total(),
                sum: series.sum(),
                buckets: series.histogram.as_ref().map(crate::series::Histogram::read),
            })
            .collect()
    }
}
