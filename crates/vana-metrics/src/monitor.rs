//! `PerformanceMonitor`: recording, series handles, queries, thresholds and alert delivery.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use parking_lot::{Mutex, RwLock};
use vana_config::{Comparison, MonitoringConfig, metric_names};

use crate::alert::{AlertEvent, AlertPolicy, AlertState, ThresholdRule};
use crate::clock::{MetricsClock, SystemClock};
use crate::error_rate::ErrorRates;
use crate::series::{Series, Tags};
use crate::sink::AlertSink;
use crate::summary::Summary;

/// Names of response-time series start with this; they also keep a histogram.
pub(crate) use vana_config::metric_names::RESPONSE_TIME_PREFIX;

/// Most tags on one series; further tags are ignored.
pub const MAX_TAGS: usize = 16;
/// Most distinct strings interned for tag keys and values; past this, strings are stored per series.
const MAX_INTERNED: usize = 100_000;

/// How the monitor stores and alerts, from `monitoring.yaml` (validated there).
#[derive(Debug, Clone)]
pub(crate) struct MonitorOptions {
    /// Most samples per series.
    pub(crate) max_samples_per_series: usize,
    /// Samples older than this are dropped.
    pub(crate) retention: Duration,
    /// Most series.
    pub(crate) max_series: usize,
    /// The error-rate window.
    pub(crate) error_rate_window: Duration,
    /// Fewest calls before an error rate is recorded.
    pub(crate) error_rate_min_calls: u64,
    /// Fraction of a line a value must come back past before its alert resolves.
    pub(crate) recovery_margin: f64,
    /// Time between notifications of a firing alert.
    pub(crate) repeat_interval: Duration,
    /// Most alert transitions in the history.
    pub(crate) max_history: usize,
    /// Most transitions waiting for the sinks.
    pub(crate) queue_capacity: usize,
    /// Upper bounds of the response-time histogram buckets, in seconds, ascending.
    pub(crate) histogram_buckets: Vec<f64>,
}

impl From<&MonitoringConfig> for MonitorOptions {
    fn from(config: &MonitoringConfig) -> Self {
        let size = |value: u64| usize::try_from(value).unwrap_or(usize::MAX);
        let performance = &config.performance_monitoring;
        Self {
            max_samples_per_series: size(performance.max_samples_per_series),
            retention: performance.retention(),
            max_series: size(performance.max_series),
            error_rate_window: Duration::from_secs(performance.error_rate_window_seconds),
            error_rate_min_calls: performance.error_rate_min_calls,
            recovery_margin: config.alerting.recovery_margin,
            repeat_interval: Duration::from_secs(config.alerting.repeat_interval_seconds),
            max_history: size(config.alerting.max_history),
            queue_capacity: size(config.alerting.queue_capacity),
            histogram_buckets: buckets_with_thresholds(config),
        }
    }
}

/// The configured bucket bounds and every line of a response-time threshold, so a histogram quantile near a
/// line reads on the line rather than between two far bounds.
fn buckets_with_thresholds(config: &MonitoringConfig) -> Vec<f64> {
    let mut bounds = config.performance_monitoring.histogram_buckets.clone();
    for (name, threshold) in &config.thresholds {
        if threshold.metric_glob(name).is_some_and(|glob| glob.starts_with(RESPONSE_TIME_PREFIX)) {
            bounds.extend(
                [threshold.warning, threshold.critical]
                    .into_iter()
                    .filter(|line| line.is_finite() && *line > 0.0),
            );
        }
    }
    bounds.sort_by(f64::total_cmp);
    bounds.dedup();
    bounds
}

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

struct Registry {
    /// Series by the hash of their name and tags; a chain covers collisions.
    // The keys are already SipHash values under a random key: hashing them again would be wasted work.
    by_hash: HashMap<u64, Vec<Arc<Series>>, nohash_hasher::BuildNoHashHasher<u64>>,
    /// Interned strings.
    strings: HashSet<Arc<str>>,
}

struct AlertBook {
    history: VecDeque<AlertEvent>,
    /// The latest event of every alert that is firing, by (threshold, metric, tags).
    active: HashMap<(Arc<str>, Arc<str>, Tags), AlertEvent>,
}

/// The metadata of one recorded sample, against the series' current metadata.
enum SampleMetadata {
    /// A plain sample: it carries none.
    None,
    /// The same as the series' current metadata.
    Unchanged,
    /// New metadata, from this sample on.
    Changed(Tags),
}

pub(crate) struct Inner {
    options: MonitorOptions,
    /// `options.retention` in nanoseconds, computed once: it is needed on every record.
    retention_nanos: u64,
    policy: AlertPolicy,
    pub(crate) clock: Arc<dyn MetricsClock>,
    /// The system clock again, called directly on the hot path (no dynamic dispatch) when it is the clock.
    system_clock: Option<SystemClock>,
    registry: RwLock<Registry>,
    series_count: AtomicUsize,
    dropped_samples: AtomicU64,
    hasher: RandomState,
    rules: RwLock<Arc<Vec<Arc<ThresholdRule>>>>,
    rules_version: AtomicU64,
    alerts: Mutex<AlertBook>,
    sender: Mutex<Option<SyncSender<AlertEvent>>>,
    dropped_alerts: AtomicU64,
    /// Alert transitions published so far (the history keeps the last `max_history`).
    transitions: AtomicU64,
    dispatcher: Mutex<Option<JoinHandle<()>>>,
    errors: ErrorRates,
    sampler: crate::collector::SharedSampler,
    /// The export's own reader, so scrapes never move the CPU delta of `record_cpu_usage`.
    stats_sampler: crate::collector::SharedSampler,
}

/// Real-time performance monitoring: the specification's `PerformanceMonitor`, cheap to clone.
///
/// ```
/// use std::time::Duration;
/// use vana_metrics::PerformanceMonitor;
///
/// let monitor = PerformanceMonitor::new(&vana_config::MonitoringConfig::default());
/// monitor.record_response_time("checkout", Duration::from_millis(120), true, &[("region", "eu")]);
/// monitor.record_metric("queue.depth", 7.0, "jobs", &[]);
/// let summary = monitor.get_summary("response_time.checkout", None);
/// assert_eq!(summary.count, 1);
/// assert!((summary.latest - 0.12).abs() < 1e-9);
///
/// // Hot paths: a handle records with no lookup and no allocation.
/// let depth = monitor.series("queue.depth", "jobs", &[]).expect("under the series cap");
/// depth.record(9.0);
/// assert_eq!(monitor.get_summary("queue.depth", None).max, 9.0);
/// ```
#[derive(Clone)]
pub struct PerformanceMonitor {
    inner: Arc<Inner>,
}

/// A series to record into with no name lookup and no allocation; cheap to clone.
#[derive(Clone)]
pub struct SeriesHandle {
    series: Arc<Series>,
    inner: Arc<Inner>,
}

impl SeriesHandle {
    /// Records `value` now.
    pub fn record(&self, value: f64) {
        self.inner.record_into(&self.series, value);
    }

    /// The series' name.
    pub fn name(&self) -> &str {
        &self.series.name
    }
}

/// One operation's response-time series and error rate: what [`PerformanceMonitor::record_response_time`]
/// records, without its lookups. Cheap to clone.
#[derive(Clone, Debug)]
pub struct OperationHandle {
    succeeded: SeriesHandle,
    failed: SeriesHandle,
    error_rate: SeriesHandle,
    window: Arc<crate::error_rate::ErrorWindow>,
    operation: Arc<str>,
}

impl OperationHandle {
    /// Records one call.
    pub fn record(&self, duration: Duration, success: bool) {
        let now = self.now();
        self.record_at(duration.as_secs_f64(), success, now);
    }

    /// The monitor's clock now, in monotonic nanoseconds: take it at the start of a call and hand it to
    /// [`record_since`](Self::record_since), so a call costs two clock reads in all.
    pub fn now(&self) -> u64 {
        self.succeeded.inner.now()
    }

    /// Records one call that started at `start` (from [`now`](Self::now)) and ends now.
    pub fn record_since(&self, start: u64, success: bool) {
        let now = self.now();
        self.record_at(now.saturating_sub(start) as f64 / 1e9, success, now);
    }

    fn record_at(&self, seconds: f64, success: bool, now: u64) {
        let handle = if success { &self.succeeded } else { &self.failed };
        handle.inner.record_at(&handle.series, seconds, now);
        if let Some(rate) = self.window.observe(success, now) {
            handle.inner.record_at(&self.error_rate.series, rate, now);
        }
    }

    /// The operation's name.
    pub fn operation(&self) -> &str {
        &self.operation
    }
}

impl std::fmt::Debug for SeriesHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesHandle")
            .field("name", &self.series.name)
            .field("tags", &self.series.tags)
            .finish()
    }
}

impl PerformanceMonitor {
    /// A monitor configured by `monitoring.yaml`, with its thresholds, on the system clock, and no sinks.
    pub fn new(config: &MonitoringConfig) -> Self {
        Self::with_sinks(config, Vec::new())
    }

    /// A monitor on the system clock delivering alert transitions to `sinks` from a background thread.
    pub fn with_sinks(config: &MonitoringConfig, sinks: Vec<Arc<dyn AlertSink>>) -> Self {
        let clock = SystemClock::default();
        // The same clock (same start) twice: behind the trait for everyone, directly for the hot path.
        Self::build(config, Arc::new(clock.clone()), Some(clock), sinks)
    }

    /// A monitor on `clock` delivering alert transitions to `sinks` from a background thread.
    pub fn with_clock(
        config: &MonitoringConfig,
        clock: Arc<dyn MetricsClock>,
        sinks: Vec<Arc<dyn AlertSink>>,
    ) -> Self {
        Self::build(config, clock, None, sinks)
    }

    fn build(
        config: &MonitoringConfig,
        clock: Arc<dyn MetricsClock>,
        system_clock: Option<SystemClock>,
        sinks: Vec<Arc<dyn AlertSink>>,
    ) -> Self {
        let options = MonitorOptions::from(config);
        let policy = AlertPolicy {
            recovery_margin: options.recovery_margin,
            repeat_interval: u64::try_from(options.repeat_interval.as_nanos()).unwrap_or(u64::MAX),
        };
        let rules: Vec<Arc<ThresholdRule>> = config
            .thresholds
            .iter()
            .filter_map(|(key, threshold)| {
                Some(Arc::new(ThresholdRule {
                    name: Arc::from(key.as_str()),
                    metric_glob: Arc::from(threshold.metric_glob(key)?),
                    warning: threshold.warning,
                    critical: threshold.critical,
                    comparison: threshold.comparison,
                    for_duration: Duration::from_secs(threshold.for_seconds),
                }))
            })
            .collect();
        let (sender, dispatcher) = if sinks.is_empty() {
            (None, None)
        } else {
            let (sender, receiver) = std::sync::mpsc::sync_channel(options.queue_capacity.max(1));
            match spawn_dispatcher(receiver, sinks) {
                Some(dispatcher) => (Some(sender), Some(dispatcher)),
                // Without the thread, transitions stay in the history and `active_alerts`; sinks get none.
                None => (None, None),
            }
        };
        let inner = Arc::new(Inner {
            policy,
            clock,
            registry: RwLock::new(Registry { by_hash: HashMap::default(), strings: HashSet::new() }),
            series_count: AtomicUsize::new(0),
            dropped_samples: AtomicU64::new(0),
            hasher: RandomState::new(),
            rules: RwLock::new(Arc::new(rules)),
            rules_version: AtomicU64::new(0),
            alerts: Mutex::new(AlertBook { history: VecDeque::new(), active: HashMap::new() }),
            sender: Mutex::new(sender),
            dropped_alerts: AtomicU64::new(0),
            transitions: AtomicU64::new(0),
            dispatcher: Mutex::new(dispatcher),
            errors: ErrorRates::new(&options),
            system_clock,
            retention_nanos: u64::try_from(options.retention.as_nanos()).unwrap_or(u64::MAX),
            sampler: Arc::new(Mutex::new(crate::collector::ProcessSampler::new())),
            stats_sampler: Arc::new(Mutex::new(crate::collector::ProcessSampler::new())),
            options,
        });
        Self { inner }
    }

    /// Records `value` of `name` with `tags`. Samples of a new series past `max_series` are dropped and
    /// counted ([`dropped_samples`](Self::dropped_samples)).
    pub fn record_metric(&self, name: &str, value: f64, unit: &str, tags: &[(&str, &str)]) {
        match self.inner.series(name, unit, tags) {
            Some(series) => self.inner.record_into(&series, value),
            None => {
                self.inner.dropped_samples.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Records `value` with `metadata` (key/value pairs of this sample, as the specification's
    /// `PerformanceMetric.metadata`): stored once per change, not per sample, and returned by
    /// [`get_metrics`](Self::get_metrics).
    pub fn record_metric_with_metadata(
        &self,
        name: &str,
        value: f64,
        unit: &str,
        tags: &[(&str, &str)],
        metadata: &[(&str, &str)],
    ) {
        match self.inner.series(name, unit, tags) {
            Some(series) => self.inner.record_with_metadata(&series, value, metadata),
            None => {
                self.inner.dropped_samples.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Records the duration of `operation` as `response_time.<operation>` in seconds, tagged with
    /// `success`, and feeds its error rate (`error_rate.<operation>`).
    pub fn record_response_time(
        &self,
        operation: &str,
        duration: Duration,
        success: bool,
        tags: &[(&str, &str)],
    ) {
        let mut all: Vec<(&str, &str)> = Vec::with_capacity(tags.len() + 1);
        all.push(("success", if success { "true" } else { "false" }));
        all.extend(tags.iter().filter(|(key, _)| *key != "success"));
        self.record_metric(&metric_names::response_time(operation), duration.as_secs_f64(), "seconds", &all);
        let window = self.inner.errors.window(operation);
        if let Some(rate) = window.and_then(|window| window.observe(success, self.inner.clock.now_nanos())) {
            self.record_metric(&metric_names::error_rate(operation), rate, "percent", &[]);
        }
    }

    /// Records this process's resident and virtual memory (MB) and its share of system memory (percent)
    /// as `memory.<component>.rss`, `.vms` and `.percent`. Returns false where the process cannot be read.
    pub fn record_memory_usage(&self, component: &str) -> bool {
        let sample = self.inner.sampler.lock().as_mut().and_then(crate::collector::ProcessSampler::sample);
        let Some(sample) = sample else { return false };
        let memory_only = crate::collector::ProcessSample { cpu_percent: None, ..sample };
        crate::collector::record_process_sample(self, component, &memory_only);
        true
    }

    /// Records this process's CPU use since the previous call (percent of one core) as
    /// `cpu.<component>.usage`. Never sleeps; the first call has no delta and records nothing (false).
    pub fn record_cpu_usage(&self, component: &str) -> bool {
        let sample = self.inner.sampler.lock().as_mut().and_then(crate::collector::ProcessSampler::sample);
        match sample.and_then(|sample| sample.cpu_percent) {
            Some(cpu) => {
                self.record_metric(&metric_names::cpu_usage(component), cpu, "percent", &[]);
                true
            }
            None => false,
        }
    }

    /// This process as the standard process collector reports it; `None` where it cannot be read.
    pub fn process_stats(&self) -> Option<crate::collector::ProcessStats> {
        self.inner.stats_sampler.lock().as_mut().and_then(crate::collector::ProcessSampler::stats)
    }

    /// A handle on one operation's response times and error rate, for recording calls without lookups or
    /// allocation; `None` past `max_series`.
    pub fn operation(&self, operation: &str) -> Option<OperationHandle> {
        self.operation_with_tags(operation, &[])
    }

    /// [`operation`](Self::operation) whose response-time series also carry `tags` (the same series that
    /// [`record_response_time`](Self::record_response_time) with these tags records into).
    pub fn operation_with_tags(&self, operation: &str, tags: &[(&str, &str)]) -> Option<OperationHandle> {
        let name = metric_names::response_time(operation);
        let with_success = |success| {
            let mut all: Vec<(&str, &str)> = Vec::with_capacity(tags.len() + 1);
            all.push(("success", success));
            all.extend(tags.iter().filter(|(key, _)| *key != "success"));
            all
        };
        Some(OperationHandle {
            succeeded: self.series(&name, "seconds", &with_success("true"))?,
            failed: self.series(&name, "seconds", &with_success("false"))?,
            error_rate: self.series(&metric_names::error_rate(operation), "percent", &[])?,
            window: self.inner.errors.window(operation)?,
            operation: Arc::from(operation),
        })
    }

    /// The HTTP layer's handle on one route, method and status code: the series `response_time.<route>`
    /// tagged `http.request.method` and `http.response.status_code` (exported as the OpenTelemetry
    /// `http_server_request_duration_seconds`), and the route's error rate, which counts a call failed when
    /// it is recorded so (a 5xx). `None` past `max_series`.
    pub fn http_request(&self, route: &str, method: &str, status_code: &str) -> Option<OperationHandle> {
        let name = metric_names::response_time(route);
        let series = self.series(
            &name,
            "seconds",
            &[(crate::families::HTTP_METHOD_TAG, method), (crate::families::HTTP_STATUS_TAG, status_code)],
        )?;
        Some(OperationHandle {
            succeeded: series.clone(),
            failed: series,
            error_rate: self.series(&metric_names::error_rate(route), "percent", &[])?,
            window: self.inner.errors.window(route)?,
            operation: Arc::from(route),
        })
    }

    /// A handle on the series `name` with `tags`, for recording without lookups; `None` past `max_series`.
    pub fn series(&self, name: &str, unit: &str, tags: &[(&str, &str)]) -> Option<SeriesHandle> {
        self.inner
            .series(name, unit, tags)
            .map(|series| SeriesHandle { series, inner: Arc::clone(&self.inner) })
    }

    /// Sets a threshold on the metrics matching `name_or_glob` (replacing one of the same name).
    pub fn set_threshold(&self, name_or_glob: &str, warning: f64, critical: f64, comparison: Comparison) {
        self.add_threshold(ThresholdRule {
            name: Arc::from(name_or_glob),
            metric_glob: Arc::from(name_or_glob),
            warning,
            critical,
            comparison,
            for_duration: Duration::ZERO,
        });
    }

    /// Adds or replaces (by name) a threshold.
    pub fn add_threshold(&self, rule: ThresholdRule) {
        let mut rules = self.inner.rules.write();
        let mut next: Vec<Arc<ThresholdRule>> =
            rules.iter().filter(|existing| existing.name != rule.name).cloned().collect();
        next.push(Arc::new(rule));
        *rules = Arc::new(next);
        self.inner.rules_version.fetch_add(1, Ordering::Release);
    }

    /// The thresholds in force.
    pub fn thresholds(&self) -> Vec<ThresholdRule> {
        self.inner.rules.read().iter().map(|rule| (**rule).clone()).collect()
    }

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
        let registry = self.inner.registry.read();
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
        self.inner.series_count.load(Ordering::Relaxed)
    }

    /// Samples dropped because their series would have exceeded `max_series`.
    pub fn dropped_samples(&self) -> u64 {
        self.inner.dropped_samples.load(Ordering::Relaxed)
    }

    /// Alert transitions dropped because the delivery queue was full.
    pub fn dropped_alerts(&self) -> u64 {
        self.inner.dropped_alerts.load(Ordering::Relaxed)
    }

    /// The alerts firing now (their latest transition).
    pub fn active_alerts(&self) -> Vec<AlertEvent> {
        let mut active: Vec<AlertEvent> = self.inner.alerts.lock().active.values().cloned().collect();
        active.sort_by_key(|event| event.since);
        active
    }

    /// The most recent alert transitions, oldest first (at most `max_history`).
    pub fn alert_history(&self) -> Vec<AlertEvent> {
        self.inner.alerts.lock().history.iter().cloned().collect()
    }

    /// Alert transitions so far: with [`alerts_after`](Self::alerts_after), a caller learns of new ones on
    /// its own thread, synchronously after the recording that made them (one atomic load when none).
    pub fn alert_transitions(&self) -> u64 {
        self.inner.transitions.load(Ordering::Acquire)
    }

    /// The transitions after the first `seen` (oldest first; those past the history's cap are gone), and the
    /// count to pass next time.
    pub fn alerts_after(&self, seen: u64) -> (Vec<AlertEvent>, u64) {
        let book = self.inner.alerts.lock();
        let total = self.inner.transitions.load(Ordering::Acquire);
        let new = usize::try_from(total.saturating_sub(seen)).unwrap_or(usize::MAX).min(book.history.len());
        (book.history.iter().skip(book.history.len() - new).cloned().collect(), total)
    }

    /// Stops the alert dispatcher after it has delivered what is queued.
    pub fn shutdown(&self) {
        drop(self.inner.sender.lock().take());
        if let Some(handle) = self.inner.dispatcher.lock().take() {
            let _ = handle.join();
        }
    }

    /// The monitor's clock.
    pub fn clock(&self) -> &Arc<dyn MetricsClock> {
        &self.inner.clock
    }

    /// A snapshot of every series for export: name, unit, tags, latest value, count, sum and histogram.
    pub fn snapshot(&self) -> Vec<SeriesSnapshot> {
        let series: Vec<Arc<Series>> =
            self.inner.registry.read().by_hash.values().flatten().cloned().collect();
        let bounds = &self.inner.options.histogram_buckets;
        series
            .into_iter()
            .map(|series| SeriesSnapshot {
                name: Arc::clone(&series.name),
                unit: Arc::clone(&series.unit),
                tags: Arc::clone(&series.tags),
                latest: series.latest().map(|sample| sample.value),
                count: series.ring.total(),
                sum: series.sum(),
                buckets: series.buckets.as_ref().map(|counts| {
                    bounds
                        .iter()
                        .copied()
                        .zip(counts.iter().map(|count| count.load(Ordering::Relaxed)))
                        .collect()
                }),
            })
            .collect()
    }
}

impl std::fmt::Debug for PerformanceMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerformanceMonitor").field("series", &self.series_count()).finish_non_exhaustive()
    }
}

fn spawn_dispatcher(
    receiver: Receiver<AlertEvent>,
    sinks: Vec<Arc<dyn AlertSink>>,
) -> Option<JoinHandle<()>> {
    let spawned = std::thread::Builder::new().name("vana-alerts".into()).spawn(move || {
        for event in receiver {
            for sink in &sinks {
                sink.deliver(&event);
            }
        }
    });
    match spawned {
        Ok(handle) => Some(handle),
        Err(error) => {
            tracing::error!(target: "vana_metrics::alerts", %error, "cannot start the alert dispatcher thread; alert sinks get nothing");
            None
        }
    }
}

impl Inner {
    fn intern(strings: &mut HashSet<Arc<str>>, text: &str) -> Arc<str> {
        if let Some(existing) = strings.get(text) {
            return Arc::clone(existing);
        }
        let interned: Arc<str> = Arc::from(text);
        if strings.len() < MAX_INTERNED {
            strings.insert(Arc::clone(&interned));
        }
        interned
    }

    fn series(&self, name: &str, unit: &str, tags: &[(&str, &str)]) -> Option<Arc<Series>> {
        // Sort the tags on the stack: no allocation on the lookup path.
        let mut sorted: [(&str, &str); MAX_TAGS] = [("", ""); MAX_TAGS];
        let count = tags.len().min(MAX_TAGS);
        sorted[..count].copy_from_slice(&tags[..count]);
        let sorted = &mut sorted[..count];
        sorted.sort_unstable();
        let mut hasher = self.hasher.build_hasher();
        name.hash(&mut hasher);
        sorted.hash(&mut hasher);
        let hash = hasher.finish();
        let matches = |series: &&Arc<Series>| {
            &*series.name == name
                && series.tags.len() == sorted.len()
                && series.tags.iter().zip(sorted.iter()).all(|((k, v), (sk, sv))| &**k == *sk && &**v == *sv)
        };
        if let Some(found) =
            self.registry.read().by_hash.get(&hash).and_then(|chain| chain.iter().find(matches))
        {
            return Some(Arc::clone(found));
        }
        let mut registry = self.registry.write();
        if let Some(found) = registry.by_hash.get(&hash).and_then(|chain| chain.iter().find(matches)) {
            return Some(Arc::clone(found));
        }
        if self.series_count.load(Ordering::Relaxed) >= self.options.max_series {
            return None;
        }
        let strings = &mut registry.strings;
        let name = Self::intern(strings, name);
        let unit = Self::intern(strings, unit);
        let tags: Tags = sorted
            .iter()
            .map(|(key, value)| (Self::intern(strings, key), Self::intern(strings, value)))
            .collect();
        let bounds = name.starts_with(RESPONSE_TIME_PREFIX).then_some(self.options.histogram_buckets.len());
        // Counters are exported as the sum of their values.
        let keeps_sum = name.starts_with(vana_config::metric_names::ERRORS_PREFIX) || &*unit == "count";
        let capacity = self.options.max_samples_per_series;
        let series = Arc::new(Series::new(name, tags, unit, capacity, bounds, keeps_sum));
        registry.by_hash.entry(hash).or_default().push(Arc::clone(&series));
        self.series_count.fetch_add(1, Ordering::Relaxed);
        Some(series)
    }

    fn series_named(&self, name: &str) -> Vec<Arc<Series>> {
        self.registry
            .read()
            .by_hash
            .values()
            .flatten()
            .filter(|series| &*series.name == name)
            .cloned()
            .collect()
    }

    /// Monotonic nanoseconds before which samples are past retention.
    fn oldest_kept(&self, now: u64) -> u64 {
        now.saturating_sub(self.retention_nanos)
    }

    fn nanos_of(&self, time: SystemTime) -> u64 {
        time.duration_since(self.clock.start_wall())
            .map_or(0, |since| u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
    }

    /// The clock now: directly for the system clock, through the trait otherwise.
    #[inline]
    pub(crate) fn now(&self) -> u64 {
        match &self.system_clock {
            Some(clock) => clock.now_nanos(),
            None => self.clock.now_nanos(),
        }
    }

    fn record_into(&self, series: &Series, value: f64) {
        self.record_at(series, value, self.now());
    }

    /// Records with `metadata` for this sample: stored once per change, interned.
    fn record_with_metadata(&self, series: &Series, value: f64, metadata: &[(&str, &str)]) {
        let metadata = &metadata[..metadata.len().min(MAX_TAGS)];
        let changed = !series.state.lock().metadata_is(metadata);
        let interned: Option<Tags> = changed.then(|| {
            let mut registry = self.registry.write();
            metadata
                .iter()
                .map(|(k, v)| {
                    (Self::intern(&mut registry.strings, k), Self::intern(&mut registry.strings, v))
                })
                .collect()
        });
        let metadata = match interned {
            Some(new) => SampleMetadata::Changed(new),
            None => SampleMetadata::Unchanged,
        };
        self.record_full(series, value, self.now(), metadata);
    }

    fn record_at(&self, series: &Series, value: f64, now: u64) {
        self.record_full(series, value, now, SampleMetadata::None);
    }

    fn record_full(&self, series: &Series, value: f64, now: u64, metadata: SampleMetadata) {
        // Metadata needs the lock, so that a change point and its sample get consistent indexes.
        let with_metadata =
            !matches!(metadata, SampleMetadata::None) || series.has_metadata.load(Ordering::Relaxed);
        if with_metadata {
            let mut state = series.state.lock();
            let index = series.ring.push(now, value);
            match metadata {
                SampleMetadata::Changed(new) => state.metadata.push_back((index, new)),
                SampleMetadata::Unchanged => {}
                // A plain sample after samples with metadata carries none.
                SampleMetadata::None => state.metadata.push_back((index, Arc::from(Vec::new()))),
            }
            state.prune_metadata(series.ring.kept().start);
            let current = state.metadata.back().is_some_and(|(_, current)| !current.is_empty());
            series.has_metadata.store(current, Ordering::Relaxed);
        } else {
            series.ring.push(now, value);
        }
        series.accumulate(value, &self.options.histogram_buckets);
        let version = self.rules_version.load(Ordering::Acquire);
        if series.watch_version.load(Ordering::Acquire) != version || series.watched.load(Ordering::Relaxed) {
            self.run_alerts(series, value, now, version);
        }
    }

    /// Brings the series' thresholds up to date and feeds `value` to its alerts.
    fn run_alerts(&self, series: &Series, value: f64, now: u64, version: u64) {
        let mut events = Vec::new();
        {
            let mut state = series.state.lock();
            if series.watch_version.load(Ordering::Acquire) != version {
                let rules = Arc::clone(&self.rules.read());
                let previous = std::mem::take(&mut state.watch.alerts);
                state.watch.alerts = rules
                    .iter()
                    .filter(|rule| metric_names::glob_matches(&rule.metric_glob, &series.name))
                    .map(|rule| {
                        let kept = previous
                            .iter()
                            .find(|(old, _)| **old == **rule)
                            .map_or_else(AlertState::default, |(_, state)| *state);
                        (Arc::clone(rule), kept)
                    })
                    .collect();
                series.watched.store(!state.watch.alerts.is_empty(), Ordering::Relaxed);
                series.watch_version.store(version, Ordering::Release);
            }
            for (rule, alert) in &mut state.watch.alerts {
                if let Some(step) = alert.observe(rule, value, now, &self.policy) {
                    events.push(AlertEvent {
                        transition: step.transition,
                        threshold: Arc::clone(&rule.name),
                        metric: Arc::clone(&series.name),
                        tags: Arc::clone(&series.tags),
                        level: step.level,
                        value,
                        threshold_value: rule.line(step.level),
                        comparison: rule.comparison,
                        since: self.clock.wall_at(step.since),
                        at: self.clock.wall_at(now),
                    });
                }
            }
        }
        for event in events {
            self.publish(event);
        }
    }

    fn publish(&self, event: AlertEvent) {
        {
            let mut book = self.alerts.lock();
            let key = (Arc::clone(&event.threshold), Arc::clone(&event.metric), Arc::clone(&event.tags));
            if event.transition == crate::alert::AlertTransition::Resolved {
                book.active.remove(&key);
            } else {
                book.active.insert(key, event.clone());
            }
            if book.history.len() >= self.options.max_history.max(1) {
                book.history.pop_front();
            }
            book.history.push_back(event.clone());
            self.transitions.fetch_add(1, Ordering::Release);
        }
        if let Some(sender) = self.sender.lock().as_ref() {
            if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = sender.try_send(event) {
                self.dropped_alerts.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
