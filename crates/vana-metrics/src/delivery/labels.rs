//! What an alert says outside the process: its labels, annotations, fingerprint and timestamps, shared by
//! every channel so the same alert looks the same in an email, a webhook and Alertmanager.

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::alert::AlertEvent;
use crate::prometheus::sanitize_label_name;

/// Where alerts come from: the `instance` and `service` labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertContext {
    /// This host (the `instance` label).
    pub instance: String,
    /// The service (the `service` label): `VANA_SERVICE_NAME`, else `vana-ops`.
    pub service: String,
}

impl AlertContext {
    /// The host name of this machine and the service name from `VANA_SERVICE_NAME` (default `vana-ops`).
    pub fn from_environment() -> Self {
        let instance = sysinfo::System::host_name().unwrap_or_else(|| "localhost".to_owned());
        let service = std::env::var("VANA_SERVICE_NAME").ok().filter(|name| !name.is_empty());
        Self { instance, service: service.unwrap_or_else(|| "vana-ops".to_owned()) }
    }
}

/// `alertname` (the threshold), `severity`, `instance`, `service`, `metric`, and the metric's tags.
pub fn alert_labels(alert: &AlertEvent, context: &AlertContext) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    for (key, value) in alert.tags.iter() {
        labels.insert(sanitize_label_name(key), value.to_string());
    }
    labels.insert("alertname".into(), alert.threshold.to_string());
    labels.insert("severity".into(), alert.level.to_string());
    labels.insert("instance".into(), context.instance.clone());
    labels.insert("service".into(), context.service.clone());
    labels.insert("metric".into(), alert.metric.to_string());
    labels
}

/// `summary`, `value` and `threshold`.
pub fn alert_annotations(alert: &AlertEvent) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("summary".to_owned(), alert.message()),
        ("value".to_owned(), alert.value.to_string()),
        ("threshold".to_owned(), format!("{} {}", alert.comparison, alert.threshold_value)),
    ])
}

/// A stable identity of a label set (FNV-1a, 16 hex digits), as Alertmanager's `fingerprint`.
pub fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (key, value) in labels {
        for byte in key.bytes().chain([0xff]).chain(value.bytes()).chain([0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// `2026-11-28T08:00:00.123Z`.
pub fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use vana_config::{AlertLevel, Comparison};

    use super::*;
    use crate::alert::AlertTransition;

    pub(crate) fn sample(level: AlertLevel, transition: AlertTransition) -> AlertEvent {
        AlertEvent {
            transition,
            threshold: Arc::from("response_time"),
            metric: Arc::from("response_time./slow"),
            tags: Arc::from(vec![(Arc::from("method"), Arc::from("GET"))]),
            level,
            value: 2.5,
            threshold_value: 2.0,
            comparison: Comparison::Greater,
            since: SystemTime::UNIX_EPOCH,
            at: SystemTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn labels_name_the_threshold_and_fingerprints_follow_labels() {
        let context = AlertContext { instance: "host-1".into(), service: "vana".into() };
        let warning = alert_labels(&sample(AlertLevel::Warning, AlertTransition::Firing), &context);
        assert_eq!(warning["alertname"], "response_time");
        assert_eq!(warning["severity"], "warning");
        assert_eq!(warning["method"], "GET");
        assert_eq!(warning["metric"], "response_time./slow");
        let critical = alert_labels(&sample(AlertLevel::Critical, AlertTransition::Firing), &context);
        assert_ne!(fingerprint(&warning), fingerprint(&critical));
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn fingerprints_are_fnv_1a_of_the_sorted_labels() {
        // Reference values from an independent FNV-1a (64-bit offset basis and prime; each key and value
        // followed by 0xff), so that a fingerprint never changes between releases (Alertmanager groups by it).
        assert_eq!(fingerprint(&BTreeMap::new()), "cbf29ce484222325");
        let labels: BTreeMap<String, String> = [("severity", "critical"), ("alertname", "queue_depth")]
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect();
        assert_eq!(fingerprint(&labels), "17532305b2f20a4f");
        // The separators keep `a=bc` and `ab=c` apart.
        let split = |key: &str, value: &str| BTreeMap::from([(key.to_owned(), value.to_owned())]);
        assert_ne!(fingerprint(&split("a", "bc")), fingerprint(&split("ab", "c")));
    }
}
