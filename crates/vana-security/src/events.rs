//! Security events: a bounded history, counters by type and severity, and a `tracing` event for each.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::SystemTime;

use parking_lot::Mutex;
use serde::Serialize;

use crate::validate::Severity;

/// Longest event type and user agent kept, in bytes.
const MAX_TEXT_BYTES: usize = 256;
/// Most entries in one event's details.
const MAX_DETAILS: usize = 32;
/// Most distinct event types counted; further types count under `other`.
const MAX_EVENT_TYPES: usize = 256;

/// One security event, as the specification's `SecurityEvent`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SecurityEvent {
    /// When it happened (wall clock).
    #[serde(with = "epoch_seconds")]
    pub timestamp: SystemTime,
    /// What happened: `input_rejected`, `rate_limited`, `ip_blocked`, ...
    pub event_type: String,
    /// How serious it is.
    pub severity: Severity,
    /// The client's address, when known.
    pub source_ip: Option<IpAddr>,
    /// The client's user agent (cut at 256 bytes).
    pub user_agent: String,
    /// Anything else worth keeping (at most 32 entries; never a rejected payload).
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl SecurityEvent {
    /// An event of `event_type` and `severity` from `source_ip`, now.
    pub fn new(event_type: &str, severity: Severity, source_ip: Option<IpAddr>) -> Self {
        Self {
            timestamp: SystemTime::now(),
            event_type: crate::truncate_to(event_type, MAX_TEXT_BYTES).to_owned(),
            severity,
            source_ip: source_ip.map(crate::blocking::canonical),
            user_agent: String::new(),
            details: serde_json::Map::new(),
        }
    }

    /// With a user agent.
    pub fn user_agent(mut self, user_agent: &str) -> Self {
        self.user_agent = crate::truncate_to(user_agent, MAX_TEXT_BYTES).to_owned();
        self
    }

    /// With one more detail (ignored past 32).
    pub fn detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        if self.details.len() < MAX_DETAILS {
            self.details.insert(crate::truncate_to(key, MAX_TEXT_BYTES).to_owned(), value.into());
        }
        self
    }
}

mod epoch_seconds {
    use std::time::{SystemTime, UNIX_EPOCH};

    pub(super) fn serialize<S: serde::Serializer>(
        time: &SystemTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(time.duration_since(UNIX_EPOCH).map_or(0.0, |since| since.as_secs_f64()))
    }
}

/// Which events to return.
#[derive(Debug, Clone, Default)]
pub struct EventQuery<'a> {
    /// Only events at least this severe.
    pub min_severity: Option<Severity>,
    /// Only events of this type.
    pub event_type: Option<&'a str>,
    /// Only events at or after this time.
    pub since: Option<SystemTime>,
    /// At most this many, newest first (all when `None`).
    pub limit: Option<usize>,
}

struct Inner {
    history: VecDeque<SecurityEvent>,
    counts: HashMap<(String, Severity), u64>,
}

/// The history of security events: the last `max_events`, and counts of all events ever recorded.
pub struct SecurityEvents {
    inner: Mutex<Inner>,
    capacity: usize,
}

impl SecurityEvents {
    /// A history keeping at most `capacity` events.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            inner: Mutex::new(Inner {
                history: VecDeque::with_capacity(capacity.min(1024)),
                counts: HashMap::new(),
            }),
            capacity,
        }
    }

    /// Records `event`: counts it, keeps it (dropping the oldest when full), and emits it as a `tracing`
    /// event under target `vana_security`.
    pub fn record(&self, event: SecurityEvent) {
        emit(&event);
        let mut inner = self.inner.lock();
        let type_key = if inner.counts.len() < MAX_EVENT_TYPES
            || inner.counts.contains_key(&(event.event_type.clone(), event.severity))
        {
            event.event_type.clone()
        } else {
            "other".to_owned()
        };
        *inner.counts.entry((type_key, event.severity)).or_default() += 1;
        if inner.history.len() == self.capacity {
            inner.history.pop_front();
        }
        inner.history.push_back(event);
    }

    /// The events matching `query`, newest first.
    pub fn query(&self, query: &EventQuery<'_>) -> Vec<SecurityEvent> {
        let inner = self.inner.lock();
        inner
            .history
            .iter()
            .rev()
            .filter(|event| query.min_severity.is_none_or(|min| event.severity >= min))
            .filter(|event| query.event_type.is_none_or(|kind| event.event_type == kind))
            .filter(|event| query.since.is_none_or(|since| event.timestamp >= since))
            .take(query.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }

    /// Events ever recorded, by type and severity.
    pub fn counts(&self) -> Vec<(String, Severity, u64)> {
        let mut counts: Vec<_> = self
            .inner
            .lock()
            .counts
            .iter()
            .map(|((kind, severity), count)| (kind.clone(), *severity, *count))
            .collect();
        counts.sort();
        counts
    }

    /// Events kept now.
    pub fn len(&self) -> usize {
        self.inner.lock().history.len()
    }

    /// Whether none are kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for SecurityEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityEvents").field("kept", &self.len()).field("capacity", &self.capacity).finish()
    }
}

fn emit(event: &SecurityEvent) {
    let source = event.source_ip.map(|ip| ip.to_string()).unwrap_or_default();
    let details = serde_json::Value::Object(event.details.clone()).to_string();
    macro_rules! at {
        ($level:expr $(, $marker:ident = $value:expr)?) => {
            tracing::event!(
                target: "vana_security",
                $level,
                $($marker = $value,)?
                event_type = %event.event_type,
                severity = event.severity.as_str(),
                source_ip = %source,
                user_agent = %event.user_agent,
                details = %details,
                "security event"
            )
        };
    }
    match event.severity {
        Severity::Low => at!(tracing::Level::INFO),
        Severity::Medium | Severity::High => at!(tracing::Level::WARN),
        // `critical = true` is how vana-logging writes a CRITICAL line.
        Severity::Critical => at!(tracing::Level::ERROR, critical = true),
    }
}
