//! Thresholds and alerts: the rules in force, each sample run against them, the history and the delivery thread.

use super::*;

/// The thresholds in force, the alerts they raised and their delivery.
pub(super) struct Alerting {
    pub(super) policy: AlertPolicy,
    pub(super) rules: RwLock<Arc<Vec<Arc<ThresholdRule>>>>,
    pub(super) rules_version: AtomicU64,
    pub(super) book: Mutex<AlertBook>,
    pub(super) sender: Mutex<Option<SyncSender<AlertEvent>>>,
    pub(super) dropped: AtomicU64,
    /// Alert transitions published so far (the history keeps the last `max_history`).
    pub(super) transitions: AtomicU64,
    pub(super) dispatcher: Mutex<Option<JoinHandle<()>>>,
}

pub(super) struct AlertBook {
    pub(super) history: VecDeque<AlertEvent>,
    /// The latest event of every alert that is firing, by (threshold, metric, tags).
    pub(super) active: HashMap<(Arc<str>, Arc<str>, Tags), AlertEvent>,
}

impl PerformanceMonitor {
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
        let mut rules = self.inner.alerting.rules.write();
        let mut next: Vec<Arc<ThresholdRule>> =
            rules.iter().filter(|existing| existing.name != rule.name).cloned().collect();
        next.push(Arc::new(rule));
        *rules = Arc::new(next);
        self.inner.alerting.rules_version.fetch_add(1, Ordering::Release);
    }

    /// The thresholds in force.
    pub fn thresholds(&self) -> Vec<ThresholdRule> {
        self.inner.alerting.rules.read().iter().map(|rule| (**rule).clone()).collect()
    }

    /// Alert transitions dropped because the delivery queue was full.
    pub fn dropped_alerts(&self) -> u64 {
        self.inner.alerting.dropped.load(Ordering::Relaxed)
    }

    /// The alerts firing now (their latest transition).
    pub fn active_alerts(&self) -> Vec<AlertEvent> {
        let mut active: Vec<AlertEvent> = self.inner.alerting.book.lock().active.values().cloned().collect();
        active.sort_by_key(|event| event.since);
        active
    }

    /// The most recent alert transitions, oldest first (at most `max_history`).
    pub fn alert_history(&self) -> Vec<AlertEvent> {
        self.inner.alerting.book.lock().history.iter().cloned().collect()
    }

    /// Alert transitions so far: with [`alerts_after`](Self::alerts_after), a caller learns of new ones on
    /// its own thread, synchronously after the recording that made them (one atomic load when none).
    pub fn alert_transitions(&self) -> u64 {
        self.inner.alerting.transitions.load(Ordering::Acquire)
    }

    /// The transitions after the first `seen` (oldest first; those past the history's cap are gone), and the
    /// count to pass next time.
    pub fn alerts_after(&self, seen: u64) -> (Vec<AlertEvent>, u64) {
        let book = self.inner.alerting.book.lock();
        let total = self.inner.alerting.transitions.load(Ordering::Acquire);
        let new = usize::try_from(total.saturating_sub(seen)).unwrap_or(usize::MAX).min(book.history.len());
        (book.history.iter().skip(book.history.len() - new).cloned().collect(), total)
    }

    /// Resolves the firing alerts whose series have had no value for five minutes (or the hold time, if
    /// longer), as Prometheus forgets a series that stopped: an alert on traffic that went away does not fire
    /// forever. The system collector calls it every interval; a monitor without one, when it likes.
    pub fn expire_alerts(&self) {
        let inner = &self.inner;
        let now = inner.clock.now_nanos();
        let watched: Vec<Arc<Series>> = inner
            .series
            .table
            .read()
            .by_hash
            .values()
            .flatten()
            .filter(|series| series.watched.load(Ordering::Relaxed))
            .cloned()
            .collect();
        let mut events = Vec::new();
        for series in watched {
            let mut state = series.state.lock();
            for (rule, alert) in state.watch.alerts.iter_mut().filter(|(_, alert)| alert.is_active()) {
                if let Some(step) = alert.expire(now, &inner.alerting.policy) {
                    events.push(inner.event(&series, rule, step, f64::NAN, now));
                }
            }
        }
        for event in events {
            inner.publish(event);
        }
    }

    /// Stops the alert dispatcher after it has delivered what is queued.
    pub fn shutdown(&self) {
        drop(self.inner.alerting.sender.lock().take());
        if let Some(handle) = self.inner.alerting.dispatcher.lock().take() {
            let _ = handle.join();
        }
    }
}

pub(super) fn spawn_dispatcher(
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
    /// Brings the series' thresholds up to date and feeds `value` to its alerts.
    pub(super) fn run_alerts(&self, series: &Series, value: f64, now: u64, version: u64) {
        let mut events = Vec::new();
        {
            let mut state = series.state.lock();
            if series.watch_version.load(Ordering::Acquire) != version {
                let rules = Arc::clone(&self.alerting.rules.read());
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
                if let Some(step) = alert.observe(rule, value, now, &self.alerting.policy) {
                    events.push(self.event(series, rule, step, value, now));
                }
            }
        }
        for event in events {
            self.publish(event);
        }
    }

    fn event(&self, series: &Series, rule: &ThresholdRule, step: Step, value: f64, now: u64) -> AlertEvent {
        AlertEvent {
            transition: step.transition,
            threshold: Arc::clone(&rule.name),
            metric: Arc::clone(&series.name),
            tags: Arc::clone(&series.tags),
            level: step.level,
            value,
            unit: Arc::clone(&series.unit),
            threshold_value: rule.line(step.level),
            comparison: rule.comparison,
            since: self.clock.wall_at(step.since),
            at: self.clock.wall_at(now),
        }
    }

    pub(super) fn publish(&self, event: AlertEvent) {
        {
            let mut book = self.alerting.book.lock();
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
            self.alerting.transitions.fetch_add(1, Ordering::Release);
        }
        if let Some(sender) = self.alerting.sender.lock().as_ref() {
            if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = sender.try_send(event) {
                self.alerting.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
