//! `DeliveryChannel`: a bounded queue, a rate cap and retries with backoff around one transport, on a
//! thread of its own, so a channel that is down never blocks the monitor and never grows past its queue.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use vana_config::{AlertLevel, DeliverySettings};

use crate::alert::AlertEvent;
use crate::error::DeliveryError;
use crate::monitor::PerformanceMonitor;
use crate::sink::AlertSink;

/// Sends one alert somewhere. Errors are short and never carry secrets (no URL, no password).
pub trait Transport: Send + 'static {
    /// One attempt at delivering `alert`.
    fn send(&mut self, alert: &AlertEvent) -> Result<(), DeliveryError>;
}

/// What a channel has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryStats {
    /// Delivered.
    pub sent: u64,
    /// Given up on after every attempt.
    pub failed: u64,
    /// Not queued (the queue was full) or left in the queue at shutdown.
    pub dropped: u64,
    /// Attempts that failed and were retried.
    pub retried: u64,
    /// Waiting now.
    pub queued: usize,
}

#[derive(Default)]
struct Counts {
    sent: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    retried: AtomicU64,
}

struct Queue {
    alerts: VecDeque<AlertEvent>,
    /// Set by shutdown: deliver what can be delivered before this instant, then stop.
    stop_by: Option<Instant>,
}

pub(crate) struct Shared {
    pub(crate) name: String,
    min_level: AlertLevel,
    pub(crate) settings: DeliverySettings,
    queue: Mutex<Queue>,
    wake: Condvar,
    counts: Counts,
    /// Where the counters go; taken at shutdown (the monitor holds this channel as a sink).
    monitor: Mutex<Option<PerformanceMonitor>>,
}

/// One alert channel: filters by level, queues (bounded), and delivers through its transport on its own
/// thread with a rate cap and retries. Counts `alerts.sent`, `alerts.failed`, `alerts.dropped` and
/// `alerts.retried` (tagged `channel`) in the monitor once [`attach`](Self::attach)ed, exported as
/// `vana_alerts_sent_total{channel=...}` and so on.
pub struct DeliveryChannel {
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for DeliveryChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryChannel")
            .field("name", &self.shared.name)
            .field("stats", &self.stats())
            .finish()
    }
}

impl DeliveryChannel {
    /// A channel named `name` (the `channel` tag) for alerts from `min_level` up, delivering through
    /// `transport` as `settings` say.
    pub fn spawn(
        name: &str,
        min_level: AlertLevel,
        settings: DeliverySettings,
        mut transport: impl Transport,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            name: name.to_owned(),
            min_level,
            settings,
            queue: Mutex::new(Queue { alerts: VecDeque::new(), stop_by: None }),
            wake: Condvar::new(),
            counts: Counts::default(),
            monitor: Mutex::new(None),
        });
        let worker_shared = Arc::clone(&shared);
        let worker = std::thread::Builder::new()
            .name(format!("vana-alerts-{name}"))
            .spawn(move || run(&worker_shared, &mut transport))?;
        Ok(Self { shared, worker: Mutex::new(Some(worker)) })
    }

    /// Records the channel's counters into `monitor` from now on.
    pub fn attach(&self, monitor: &PerformanceMonitor) {
        crate::delivery::register_counters(monitor, &self.shared.name);
        *self.shared.monitor.lock() = Some(monitor.clone());
    }

    /// The channel's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// What the channel has done so far.
    pub fn stats(&self) -> DeliveryStats {
        let counts = &self.shared.counts;
        DeliveryStats {
            sent: counts.sent.load(Ordering::Relaxed),
            failed: counts.failed.load(Ordering::Relaxed),
            dropped: counts.dropped.load(Ordering::Relaxed),
            retried: counts.retried.load(Ordering::Relaxed),
            queued: self.shared.queue.lock().alerts.len(),
        }
    }

    /// Delivers what it can until `deadline`, then stops; what is left is counted as dropped.
    pub fn shutdown(&self, deadline: Instant) {
        self.shared.queue.lock().stop_by = Some(deadline);
        self.shared.wake.notify_all();
        if let Some(worker) = self.worker.lock().take() {
            let _ = worker.join();
        }
        self.shared.monitor.lock().take();
    }
}

impl Drop for DeliveryChannel {
    fn drop(&mut self) {
        self.shutdown(Instant::now());
    }
}

impl AlertSink for DeliveryChannel {
    fn deliver(&self, event: &AlertEvent) {
        if event.level < self.shared.min_level {
            return;
        }
        let mut queue = self.shared.queue.lock();
        let capacity = usize::try_from(self.shared.settings.queue_capacity).unwrap_or(usize::MAX);
        if queue.alerts.len() >= capacity || queue.stop_by.is_some() {
            drop(queue);
            self.shared.count(&self.shared.counts.dropped, "alerts.dropped");
            tracing::warn!(target: "vana_metrics::delivery", channel = %self.shared.name, "alert dropped: the channel's queue is full");
            return;
        }
        queue.alerts.push_back(event.clone());
        drop(queue);
        self.shared.wake.notify_one();
    }
}

impl Shared {
    pub(crate) fn count(&self, counter: &AtomicU64, metric: &str) {
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(monitor) = self.monitor.lock().as_ref() {
            monitor.record_metric(metric, 1.0, "count", &[("channel", &self.name)]);
        }
    }

    /// Sleeps `duration`, or less when shutdown's deadline comes first; false when the deadline passed.
    fn pause(&self, duration: Duration) -> bool {
        let until = Instant::now() + duration;
        let mut queue = self.queue.lock();
        loop {
            if queue.stop_by.is_some_and(|stop_by| Instant::now() >= stop_by) {
                return false;
            }
            let wake_at = queue.stop_by.map_or(until, |stop_by| stop_by.min(until));
            if Instant::now() >= until {
                return true;
            }
            self.wake.wait_until(&mut queue, wake_at);
        }
    }
}

/// The delay before attempt `attempt + 1`: doubling from the initial backoff up to the cap, then a random
/// point in its upper half (equal jitter: spread, but never much shorter than planned).
pub(crate) fn backoff(settings: &DeliverySettings, attempt: u32, random: u64) -> Duration {
    let doubled = settings.initial_backoff_ms.saturating_mul(1u64 << attempt.min(30).saturating_sub(1));
    let planned = doubled.min(settings.max_backoff_ms).max(1);
    let half = planned / 2;
    Duration::from_millis(half + random % (planned - half + 1))
}

/// A small xorshift generator for jitter (no need for a cryptographic one).
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn new() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9, |since| since.as_nanos() as u64);
        Self(seed | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A token bucket of `max_per_minute`, refilled continuously.
pub(crate) struct RateCap {
    tokens: f64,
    per_second: f64,
    capacity: f64,
    last: Instant,
}

impl RateCap {
    pub(crate) fn new(max_per_minute: u64) -> Self {
        let capacity = max_per_minute.max(1) as f64;
        Self { tokens: capacity, per_second: capacity / 60.0, capacity, last: Instant::now() }
    }

    /// How long to wait before the next delivery (zero when a token is available; it is then taken).
    pub(crate) fn take(&mut self) -> Duration {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.per_second).min(self.capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - self.tokens) / self.per_second)
        }
    }
}

fn run(shared: &Shared, transport: &mut dyn Transport) {
    let mut jitter = Jitter::new();
    let mut rate = RateCap::new(shared.settings.max_per_minute);
    let max_attempts = u32::try_from(shared.settings.max_attempts).unwrap_or(u32::MAX).max(1);
    loop {
        let alert = {
            let mut queue = shared.queue.lock();
            loop {
                let past_deadline = queue.stop_by.is_some_and(|stop_by| Instant::now() >= stop_by);
                if past_deadline || (queue.stop_by.is_some() && queue.alerts.is_empty()) {
                    let left = queue.alerts.len();
                    queue.alerts.clear();
                    drop(queue);
                    for _ in 0..left {
                        shared.count(&shared.counts.dropped, "alerts.dropped");
                    }
                    return;
                }
                if let Some(alert) = queue.alerts.pop_front() {
                    break alert;
                }
                shared.wake.wait(&mut queue);
            }
        };
        loop {
            let wait = rate.take();
            if wait.is_zero() {
                break;
            }
            if !shared.pause(wait) {
                shared.count(&shared.counts.dropped, "alerts.dropped");
                break;
            }
        }
        let mut attempt = 1;
        loop {
            match transport.send(&alert) {
                Ok(()) => {
                    shared.count(&shared.counts.sent, "alerts.sent");
                    break;
                }
                Err(error) if attempt < max_attempts => {
                    shared.count(&shared.counts.retried, "alerts.retried");
                    tracing::debug!(target: "vana_metrics::delivery", channel = %shared.name, attempt, error = %error, "alert delivery failed; retrying");
                    if !shared.pause(backoff(&shared.settings, attempt, jitter.next())) {
                        shared.count(&shared.counts.failed, "alerts.failed");
                        break;
                    }
                    attempt += 1;
                }
                Err(error) => {
                    shared.count(&shared.counts.failed, "alerts.failed");
                    tracing::warn!(target: "vana_metrics::delivery", channel = %shared.name, attempts = attempt, error = %error, "alert delivery failed");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::alert::AlertTransition;

    fn alert(level: AlertLevel) -> AlertEvent {
        AlertEvent {
            transition: AlertTransition::Firing,
            threshold: Arc::from("t"),
            metric: Arc::from("m"),
            tags: Arc::from(Vec::new()),
            level,
            value: 1.0,
            unit: "count".into(),
            threshold_value: 1.0,
            comparison: vana_config::Comparison::Greater,
            since: std::time::SystemTime::now(),
            at: std::time::SystemTime::now(),
        }
    }

    /// Fails while `down` holds, records what it delivered.
    struct Flaky {
        down: Arc<std::sync::atomic::AtomicBool>,
        delivered: mpsc::Sender<String>,
    }

    impl Transport for Flaky {
        fn send(&mut self, alert: &AlertEvent) -> Result<(), DeliveryError> {
            if self.down.load(Ordering::SeqCst) {
                return Err(DeliveryError::attempt("connection refused"));
            }
            let _ = self.delivered.send(alert.metric.to_string());
            Ok(())
        }
    }

    fn quick() -> DeliverySettings {
        let mut settings = DeliverySettings::default();
        settings.queue_capacity = 4;
        settings.max_per_minute = 10_000;
        settings.max_attempts = 1000;
        settings.initial_backoff_ms = 5;
        settings.max_backoff_ms = 20;
        settings
    }

    #[test]
    fn a_channel_that_is_down_retries_then_catches_up_and_a_full_queue_drops_and_counts() {
        let down = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (delivered, received) = mpsc::channel();
        let channel = DeliveryChannel::spawn(
            "test",
            AlertLevel::Warning,
            quick(),
            Flaky { down: Arc::clone(&down), delivered },
        )
        .unwrap();
        let monitor = PerformanceMonitor::new(&vana_config::MonitoringConfig::default());
        channel.attach(&monitor);
        channel.deliver(&alert(AlertLevel::Critical));
        assert!(
            vana_testkit::wait_until(Duration::from_secs(30), || channel.stats().retried > 0),
            "never retried: {:?}",
            channel.stats()
        );
        // One in flight (retrying), four queued, the rest dropped.
        for _ in 0..9 {
            channel.deliver(&alert(AlertLevel::Critical));
        }
        let stats = channel.stats();
        assert_eq!(stats.dropped, 5, "{stats:?}");
        assert_eq!(stats.sent, 0);
        down.store(false, Ordering::SeqCst);
        for _ in 0..5 {
            received.recv_timeout(Duration::from_secs(30)).expect("delivered once the channel is back");
        }
        // Counted after the transport returns: wait for the counts, then check them all.
        assert!(
            vana_testkit::wait_until(Duration::from_secs(30), || monitor.total_recorded("alerts.sent") == 5),
            "{:?}",
            channel.stats()
        );
        assert_eq!(channel.stats().sent, 5);
        assert_eq!(monitor.total_recorded("alerts.dropped"), 5);
        channel.shutdown(Instant::now() + Duration::from_secs(1));
    }

    #[test]
    fn the_level_filter_applies_and_shutdown_gives_up_at_its_deadline() {
        let down = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (delivered, _received) = mpsc::channel();
        // Retries a minute apart, a thousand times: a shutdown that waited for them would not return.
        let mut patient = quick();
        (patient.initial_backoff_ms, patient.max_backoff_ms) = (60_000, 60_000);
        let channel =
            DeliveryChannel::spawn("test", AlertLevel::Critical, patient, Flaky { down, delivered }).unwrap();
        channel.deliver(&alert(AlertLevel::Warning));
        assert_eq!(channel.stats().queued, 0, "warnings do not reach a critical channel");
        channel.deliver(&alert(AlertLevel::Critical));
        assert!(
            vana_testkit::wait_until(Duration::from_secs(30), || channel.stats().retried > 0),
            "never retried: {:?}",
            channel.stats()
        );
        channel.deliver(&alert(AlertLevel::Critical));
        channel.shutdown(Instant::now() + Duration::from_millis(100));
        let stats = channel.stats();
        assert_eq!((stats.failed, stats.dropped), (1, 1), "the one in flight failed, the queued one dropped");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() {
        let mut settings = DeliverySettings::default();
        settings.initial_backoff_ms = 100;
        settings.max_backoff_ms = 1000;
        let mut jitter = Jitter::new();
        for attempt in 1..12 {
            let planned = (100u64 << (attempt - 1)).min(1000);
            for _ in 0..50 {
                let delay = backoff(&settings, attempt, jitter.next()).as_millis() as u64;
                assert!(delay >= planned / 2 && delay <= planned, "attempt {attempt}: {delay} of {planned}");
            }
        }
    }

    #[test]
    fn the_rate_cap_holds_a_storm() {
        let mut cap = RateCap::new(3);
        assert!((0..3).all(|_| cap.take().is_zero()));
        let wait = cap.take();
        assert!(wait > Duration::from_secs(10) && wait <= Duration::from_secs(20), "{wait:?}");
    }
}
