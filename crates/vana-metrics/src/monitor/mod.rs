//! `PerformanceMonitor`: recording, series handles, queries, thresholds and alert delivery, a module each;
//! `Inner` groups what they share.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use parking_lot::{Mutex, RwLock};
use vana_config::{Comparison, MonitoringConfig, metric_names};

use crate::alert::{AlertEvent, AlertPolicy, AlertState, Step, ThresholdRule};
use crate::clock::{MetricsClock, SystemClock};
use crate::error_rate::ErrorRates;
use crate::series::{Series, Tags};
use crate::sink::AlertSink;
use crate::summary::Summary;

mod alerting;
mod handles;
mod options;
mod queries;
mod recording;
mod registry;

use alerting::{AlertBook, Alerting, spawn_dispatcher};
pub use handles::{OperationHandle, SeriesHandle};
pub(crate) use options::MonitorOptions;
pub use queries::{MetricSample, SeriesSnapshot};
use registry::{Registry, SeriesRegistry};

/// Names of response-time series start with this; they also keep a histogram.
pub(crate) use vana_config::metric_names::RESPONSE_TIME_PREFIX;

/// Most tags on one series; further tags are ignored.
pub const MAX_TAGS: usize = 16;

/// Most distinct strings interned for tag keys and values; past this, strings are stored per series.
const MAX_INTERNED: usize = 100_000;

pub(crate) struct Inner {
    options: MonitorOptions,
    /// `options.retention` in nanoseconds, computed once: it is needed on every record.
    retention_nanos: u64,
    pub(crate) clock: Arc<dyn MetricsClock>,
    /// The system clock again, called directly on the hot path (no dynamic dispatch) when it is the clock.
    system_clock: Option<SystemClock>,
    /// Every series, and what the cap on them dropped.
    series: SeriesRegistry,
    /// The thresholds in force, the alerts they raised and their delivery.
    alerting: Alerting,
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
            keep_firing: u64::try_from(options.keep_firing.as_nanos()).unwrap_or(u64::MAX),
        };
        let rules: Vec<Arc<ThresholdRule>> = config
            .thresholds
            .iter()
            .filter_map(|(key, threshold)| {
                let glob = threshold.metric_glob(key)?;
                let for_seconds =
                    threshold.for_seconds.unwrap_or_else(|| crate::rules::default_for_seconds(glob));
                Some(Arc::new(ThresholdRule {
                    name: Arc::from(key.as_str()),
                    metric_glob: Arc::from(glob),
                    warning: threshold.warning,
                    critical: threshold.critical,
                    comparison: threshold.comparison,
                    for_duration: Duration::from_secs(for_seconds),
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
            clock,
            series: SeriesRegistry {
                table: RwLock::new(Registry { by_hash: HashMap::default(), strings: HashSet::new() }),
                count: AtomicUsize::new(0),
                dropped_samples: AtomicU64::new(0),
                hasher: RandomState::new(),
            },
            alerting: Alerting {
                policy,
                rules: RwLock::new(Arc::new(rules)),
                rules_version: AtomicU64::new(0),
                book: Mutex::new(AlertBook { history: VecDeque::new(), active: HashMap::new() }),
                sender: Mutex::new(sender),
                dropped: AtomicU64::new(0),
                transitions: AtomicU64::new(0),
                dispatcher: Mutex::new(dispatcher),
            },
            errors: ErrorRates::new(&options),
            system_clock,
            retention_nanos: u64::try_from(options.retention.as_nanos()).unwrap_or(u64::MAX),
            sampler: Arc::new(Mutex::new(crate::collector::ProcessSampler::new())),
            stats_sampler: Arc::new(Mutex::new(crate::collector::ProcessSampler::new())),
            options,
        });
        Self { inner }
    }
}

impl std::fmt::Debug for PerformanceMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerformanceMonitor").field("series", &self.series_count()).finish_non_exhaustive()
    }
}
