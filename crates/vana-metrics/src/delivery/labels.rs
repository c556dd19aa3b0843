//! What an alert says outside the process: its labels, annotations, fingerprint and timestamps, shared by
//! every channel so the same alert looks the same in an email, a webhook and Alertmanager.

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::alert::AlertEvent;
use crate::prometheus::sanitize_label_name;

/// Where alerts come from: the `instance`, `job` and `service` labels. `instance` and `job` are what
/// Prometheus calls this process's scrape target, so the exported rule's alert and this process's own are
/// one alert in Alertmanager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertContext {
    /// The `instance` label: `VANA_ALERT_INSTANCE`, else the address Prometheus scrapes (`host:port`, set
    /// by the gateway), else this host's name.
    pub instance: String,
    /// The `job` label: `VANA_ALERT_JOB`, else `vana-ops` (the job of `deploy/prometheus.yml`).
    pub job: String,
    /// The service (the `service` label): `VANA_SERVICE_NAME`, else `vana-ops`.
    pub service: String,
}

/// The environment variable with the `instance` label of alerts.
pub const ALERT_INSTANCE_ENV: &str = "VANA_ALERT_INSTANCE";
/// The environment variable with the `job` label of alerts.
pub const ALERT_JOB_ENV: &str = "VANA_ALERT_JOB";

impl AlertContext {
    /// The labels from `VANA_ALERT_INSTANCE` (else the host name), `VANA_ALERT_JOB` (else `vana-ops`) and
    /// `VANA_SERVICE_NAME` (else `vana-ops`).
    pub fn from_environment() -> Self {
        let var = |name| std::env::var(name).ok().filter(|value: &String| !value.is_empty());
        let instance = var(ALERT_INSTANCE_ENV)
            .or_else(sysinfo::System::host_name)
            .unwrap_or_else(|| "localhost".to_owned());
        Self {
            instance,
            job: var(ALERT_JOB_ENV).unwrap_or_else(|| "vana-ops".to_owned()),
            service: var("VANA_SERVICE_NAME").unwrap_or_else(|| "vana-ops".to_owned()),
        }
    }

    /// [`from_environment`](Self::from_environment), with `scraped_at` (the `host:port` Prometheus scrapes)
    /// as the instance unless `VANA_ALERT_INSTANCE` names one.
    pub fn scraped_at(scraped_at: &str) -> Self {
        let mut context = Self::from_environment();
        if std::env::var(ALERT_INSTANCE_ENV).map_or(true, |value| value.is_empty()) {
            context.instance = scraped_at.to_owned();
        }
        context
    }
}

/// The labels of the series the alert watches as they are exported (its tags, and the family's label such
/// as `operation` or `http_route`, or `metric` for a metric of your own), then `alertname` (the threshold),
/// `severity`, `service`, `instance` and `job`: the labels of the exported rule's alert for the same
/// series.
pub fn alert_labels(alert: &AlertEvent, context: &AlertContext) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    for (key, value) in alert.tags.iter() {
        labels.insert(sanitize_label_name(key), value.to_string());
    }
    let exported = crate::families::exported_name(&alert.metric, &alert.tags, "vana_");
    match exported.label {
        Some((label, value)) => labels.insert(label.to_owned(), value),
        None => labels.insert("metric".into(), exported.family),
    };
    labels.insert("alertname".into(), alert.threshold.to_string());
    labels.insert("severity".into(), alert.level.to_string());
    labels.insert("instance".into(), context.instance.clone());
    labels.insert("job".into(), context.job.clone());
    labels.insert("service".into(), context.service.clone());
    labels
}

/// `summary`, `value`, `threshold` and `metric` (the recorded name).
pub fn alert_annotations(alert: &AlertEvent) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("summary".to_owned(), alert.message()),
        ("value".to_owned(), alert.value.to_string()),
        ("threshold".to_owned(), format!("{} {}", alert.comparison, alert.threshold_value)),
        ("metric".to_owned(), alert.metric.to_string()),
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
            unit: "seconds".into(),
            threshold_value: 2.0,
            comparison: Comparison::Greater,
            since: SystemTime::UNIX_EPOCH,
            at: SystemTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn labels_name_the_threshold_and_fingerprints_follow_labels() {
        let context =
            AlertContext { instance: "host-1".into(), job: "vana-ops".into(), service: "vana".into() };
        let warning = alert_labels(&sample(AlertLevel::Warning, AlertTransition::Firing), &context);
        assert_eq!(warning["alertname"], "response_time");
        assert_eq!(warning["severity"], "warning");
        assert_eq!(warning["method"], "GET");
        assert_eq!(warning["operation"], "/slow", "the exported family's label, as the rule's alert has it");
        assert_eq!(warning["job"], "vana-ops");
        assert!(!warning.contains_key("metric"), "the recorded name is an annotation");
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
