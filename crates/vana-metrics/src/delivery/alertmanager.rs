//! The `alertmanager` channel: `POST /api/v2/alerts` with every alert this instance knows, the way
//! Prometheus keeps Alertmanager's view fresh. Dedupe, grouping, silences and routing are Alertmanager's.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use parking_lot::{Condvar, Mutex};
use vana_config::{AlertLevel, DeliverySettings};

use crate::alert::{AlertEvent, AlertTransition};
use crate::delivery::channel::{DeliveryStats, Jitter, backoff};
use crate::delivery::labels::{AlertContext, alert_annotations, alert_labels, fingerprint, rfc3339};
use crate::delivery::webhook::HttpClient;
use crate::monitor::PerformanceMonitor;
use crate::sink::AlertSink;

/// Resolved alerts are sent again for this long, so an Alertmanager that missed the first notice learns it.
const RESOLVED_RESEND: Duration = Duration::from_secs(15 * 60);
/// Most alerts tracked (firing and recently resolved); past it, the oldest resolved go first.
const MAX_TRACKED: usize = 10_000;

struct Tracked {
    labels: std::collections::BTreeMap<String, String>,
    annotations: std::collections::BTreeMap<String, String>,
    starts_at: SystemTime,
    resolved_at: Option<SystemTime>,
}

struct State {
    alerts: HashMap<String, Tracked>,
    /// Something changed since the last post.
    dirty: bool,
    stop_by: Option<Instant>,
}

struct Shared {
    name: String,
    min_level: AlertLevel,
    settings: DeliverySettings,
    urls: Vec<String>,
    context: AlertContext,
    client: HttpClient,
    state: Mutex<State>,
    wake: Condvar,
    counts: [std::sync::atomic::AtomicU64; 4],
    monitor: Mutex<Option<PerformanceMonitor>>,
}

const SENT: usize = 0;
const FAILED: usize = 1;
const DROPPED: usize = 2;
const RETRIED: usize = 3;
const METRICS: [&str; 4] = crate::delivery::DELIVERY_COUNTERS;

/// Keeps one or more Alertmanagers told of this instance's alerts: on every change, and again every
/// `resend_interval_seconds` (firing alerts with `endsAt` four intervals ahead, so they expire on their own
/// if this instance dies; resolved ones with `endsAt` at their resolution, for 15 minutes). A warning that
/// becomes critical is two alerts, as with Prometheus rules: the warning resolves, the critical fires.
pub struct AlertmanagerChannel {
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for AlertmanagerChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertmanagerChannel").field("urls", &self.shared.urls).finish_non_exhaustive()
    }
}

impl AlertmanagerChannel {
    /// A channel posting to each of `urls` (base URLs such as `http://127.0.0.1:9093`) through `client`.
    pub fn spawn(
        name: &str,
        min_level: AlertLevel,
        settings: DeliverySettings,
        urls: &[String],
        context: AlertContext,
        client: HttpClient,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            name: name.to_owned(),
            min_level,
            urls: urls.iter().map(|url| format!("{}/api/v2/alerts", url.trim_end_matches('/'))).collect(),
            settings,
            context,
            client,
            state: Mutex::new(State { alerts: HashMap::new(), dirty: false, stop_by: None }),
            wake: Condvar::new(),
            counts: Default::default(),
            monitor: Mutex::new(None),
        });
        let worker_shared = Arc::clone(&shared);
        let worker = std::thread::Builder::new()
            .name(format!("vana-alerts-{name}"))
            .spawn(move || run(&worker_shared))?;
        Ok(Self { shared, worker: Mutex::new(Some(worker)) })
    }

    /// Records the channel's counters into `monitor` from now on.
    pub fn attach(&self, monitor: &PerformanceMonitor) {
        crate::delivery::register_counters(monitor, &self.shared.name);
        *self.shared.monitor.lock() = Some(monitor.clone());
    }

    /// Posts sent and failed, alerts dropped (the table was full), retries; `queued` is the alerts tracked.
    pub fn stats(&self) -> DeliveryStats {
        let load = |index: usize| self.shared.counts[index].load(Ordering::Relaxed);
        DeliveryStats {
            sent: load(SENT),
            failed: load(FAILED),
            dropped: load(DROPPED),
            retried: load(RETRIED),
            queued: self.shared.state.lock().alerts.len(),
        }
    }

    /// Posts the current state once more (if it changed) before `deadline`, then stops.
    pub fn shutdown(&self, deadline: Instant) {
        self.shared.state.lock().stop_by = Some(deadline);
        self.shared.wake.notify_all();
        if let Some(worker) = self.worker.lock().take() {
            let _ = worker.join();
        }
        self.shared.monitor.lock().take();
    }
}

impl Drop for AlertmanagerChannel {
    fn drop(&mut self) {
        self.shutdown(Instant::now());
    }
}

impl Shared {
    fn count(&self, index: usize) {
        self.counts[index].fetch_add(1, Ordering::Relaxed);
        if let Some(monitor) = self.monitor.lock().as_ref() {
            monitor.record_metric(METRICS[index], 1.0, "count", &[("channel", &self.name)]);
        }
    }

    fn resend_interval(&self) -> Duration {
        Duration::from_secs(self.settings.resend_interval_seconds.max(1))
    }
}

impl AlertSink for AlertmanagerChannel {
    fn deliver(&self, event: &AlertEvent) {
        if event.level < self.shared.min_level && event.transition != AlertTransition::Deescalated {
            return;
        }
        let shared = &self.shared;
        let mut state = shared.state.lock();
        let resolve = |level: AlertLevel, state: &mut State| {
            let labels = alert_labels(&AlertEvent { level, ..event.clone() }, &shared.context);
            if let Some(tracked) = state.alerts.get_mut(&fingerprint(&labels)) {
                tracked.resolved_at.get_or_insert(event.at);
            }
        };
        match event.transition {
            AlertTransition::Resolved => resolve(event.level, &mut state),
            transition => {
                // A level change resolves the other level's alert.
                match transition {
                    AlertTransition::Escalated => resolve(AlertLevel::Warning, &mut state),
                    AlertTransition::Deescalated => resolve(AlertLevel::Critical, &mut state),
                    _ => {}
                }
                if event.level >= shared.min_level {
                    let labels = alert_labels(event, &shared.context);
                    let key = fingerprint(&labels);
                    if !state.alerts.contains_key(&key)
                        && state.alerts.len() >= MAX_TRACKED
                        && !evict_resolved(&mut state)
                    {
                        drop(state);
                        shared.count(DROPPED);
                        return;
                    }
                    let tracked = Tracked {
                        annotations: alert_annotations(event),
                        labels,
                        starts_at: event.since,
                        resolved_at: None,
                    };
                    state.alerts.insert(key, tracked);
                }
            }
        }
        state.dirty = true;
        drop(state);
        shared.wake.notify_one();
    }
}

/// Drops the resolved alert resolved longest ago; false when none is resolved.
fn evict_resolved(state: &mut State) -> bool {
    let oldest = state
        .alerts
        .iter()
        .filter_map(|(key, tracked)| tracked.resolved_at.map(|at| (at, key.clone())))
        .min();
    match oldest {
        Some((_, key)) => state.alerts.remove(&key).is_some(),
        None => false,
    }
}

/// The body of `POST /api/v2/alerts`, dropping resolved alerts past their re-send window.
fn payload(state: &mut State, interval: Duration) -> Option<String> {
    let now = SystemTime::now();
    state.alerts.retain(|_, tracked| {
        tracked.resolved_at.is_none_or(|at| now.duration_since(at).unwrap_or_default() < RESOLVED_RESEND)
    });
    if state.alerts.is_empty() {
        return None;
    }
    let alerts: Vec<serde_json::Value> = state
        .alerts
        .values()
        .map(|tracked| {
            let ends_at = tracked.resolved_at.unwrap_or(now + interval * 4);
            serde_json::json!({
                "labels": tracked.labels,
                "annotations": tracked.annotations,
                "startsAt": rfc3339(tracked.starts_at),
                "endsAt": rfc3339(ends_at),
            })
        })
        .collect();
    Some(serde_json::Value::Array(alerts).to_string())
}

fn run(shared: &Shared) {
    let mut jitter = Jitter::new();
    let max_attempts = u32::try_from(shared.settings.max_attempts).unwrap_or(u32::MAX).max(1);
    let mut next_resend = Instant::now() + shared.resend_interval();
    loop {
        let body = {
            let mut state = shared.state.lock();
            loop {
                if state.stop_by.is_some() && !state.dirty {
                    return;
                }
                if state.dirty || Instant::now() >= next_resend {
                    break;
                }
                shared.wake.wait_until(&mut state, next_resend);
            }
            state.dirty = false;
            next_resend = Instant::now() + shared.resend_interval();
            payload(&mut state, shared.resend_interval())
        };
        let Some(body) = body else { continue };
        for url in &shared.urls {
            let mut attempt = 1;
            loop {
                match shared.client.post_json(url, &body) {
                    Ok(()) => {
                        shared.count(SENT);
                        break;
                    }
                    Err(error) => {
                        let stopping = shared.state.lock().stop_by;
                        let out_of_time = stopping.is_some_and(|stop_by| Instant::now() >= stop_by);
                        if attempt >= max_attempts || out_of_time {
                            shared.count(FAILED);
                            tracing::warn!(target: "vana_metrics::delivery", channel = %shared.name, attempts = attempt, error = %error, "alertmanager post failed");
                            break;
                        }
                        shared.count(RETRIED);
                        let delay = backoff(&shared.settings, attempt, jitter.next());
                        let mut state = shared.state.lock();
                        let until = stopping
                            .map_or(Instant::now() + delay, |stop_by| stop_by.min(Instant::now() + delay));
                        shared.wake.wait_until(&mut state, until);
                        attempt += 1;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alert_table_is_capped_and_resolved_alerts_go_first() {
        let mut settings = DeliverySettings::default();
        settings.max_attempts = 1;
        let context = AlertContext { instance: "h".into(), job: "j".into(), service: "s".into() };
        // Nothing listens on port 1: posts fail at once; the table is what is tested.
        let channel = AlertmanagerChannel::spawn(
            "am",
            AlertLevel::Warning,
            settings,
            &["http://127.0.0.1:1".into()],
            context,
            HttpClient::new(Duration::from_secs(1), None).unwrap(),
        )
        .unwrap();
        let alert = |metric: String, transition| AlertEvent {
            transition,
            threshold: Arc::from("t"),
            metric: Arc::from(metric),
            tags: Arc::from(Vec::new()),
            level: AlertLevel::Warning,
            value: 1.0,
            unit: "seconds".into(),
            threshold_value: 1.0,
            comparison: vana_config::Comparison::Greater,
            since: SystemTime::now(),
            at: SystemTime::now(),
        };
        channel.deliver(&alert("m-0".into(), AlertTransition::Firing));
        channel.deliver(&alert("m-0".into(), AlertTransition::Resolved));
        for index in 1..MAX_TRACKED + 10 {
            channel.deliver(&alert(format!("m-{index}"), AlertTransition::Firing));
        }
        let stats = channel.stats();
        assert_eq!(stats.queued, MAX_TRACKED);
        // The resolved one made room for one firing alert; nine more did not fit.
        assert_eq!(stats.dropped, 9, "{stats:?}");
        channel.shutdown(Instant::now());
    }
}
