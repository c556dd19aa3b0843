//! The layer's counters in the monitor: refusals by reason and security findings by category and action.
//! Every series is made when the layer is built, so each is exported at 0 before its first event (a rule
//! or panel over `rate(...)` then has data from the first scrape).

use vana_metrics::{PerformanceMonitor, SeriesHandle};
use vana_security::Category;

use crate::http::reject::{Finding, FindingAction, Refusal};

/// `http.refusals{reason}`: exported as `vana_http_refusals_total`.
pub(crate) const REFUSALS: &str = "http.refusals";
/// `security.findings{category, action}`: exported as `vana_security_findings_total`.
pub(crate) const FINDINGS: &str = "security.findings";

/// The counters of one layer (layers of one monitor share the series).
pub(crate) struct LayerCounters {
    refusals: Vec<(&'static str, SeriesHandle)>,
    findings: Vec<((&'static str, &'static str), SeriesHandle)>,
    monitor: PerformanceMonitor,
}

impl LayerCounters {
    pub(crate) fn new(monitor: &PerformanceMonitor) -> Self {
        let count = |name: &str, tags: &[(&str, &str)]| monitor.series(name, "count", tags);
        let refusals = Refusal::codes()
            .filter_map(|reason| Some((reason, count(REFUSALS, &[("reason", reason)])?)))
            .collect();
        let findings = Category::ALL
            .iter()
            .flat_map(|category| {
                FindingAction::ALL.iter().map(move |action| (category.as_str(), action.as_str()))
            })
            .filter_map(|(category, action)| {
                Some(((category, action), count(FINDINGS, &[("category", category), ("action", action)])?))
            })
            .collect();
        Self { refusals, findings, monitor: monitor.clone() }
    }

    /// One refused request.
    pub(crate) fn refused(&self, refusal: Refusal) {
        let reason = refusal.code();
        match self.refusals.iter().find(|(known, _)| *known == reason) {
            Some((_, series)) => series.record(1.0),
            None => self.monitor.record_metric(REFUSALS, 1.0, "count", &[("reason", reason)]),
        }
        if let Refusal::InvalidInput(finding) = refusal {
            self.found(&finding, FindingAction::Refuse);
        }
    }

    /// One finding and what was done about it.
    pub(crate) fn found(&self, finding: &Finding, action: FindingAction) {
        let action = action.as_str();
        let key = (finding.category, action);
        match self.findings.iter().find(|(known, _)| *known == key) {
            Some((_, series)) => series.record(1.0),
            None => self.monitor.record_metric(
                FINDINGS,
                1.0,
                "count",
                &[("category", finding.category), ("action", action)],
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_and_finding_is_a_series_before_the_first_event() {
        let monitor = PerformanceMonitor::new(&vana_config::MonitoringConfig::default());
        let counters = LayerCounters::new(&monitor);
        assert_eq!(counters.refusals.len(), Refusal::codes().count());
        assert_eq!(counters.findings.len(), Category::ALL.len() * FindingAction::ALL.len());
        let text = vana_metrics::render_prometheus(&monitor, &vana_metrics::PrometheusOptions::default());
        assert!(text.contains("vana_http_refusals_total{reason=\"rate_limited\"} 0\n"), "{text}");
        assert!(
            text.contains("vana_security_findings_total{action=\"detect\",category=\"sql_injection\"} 0\n"),
            "{text}"
        );
        counters.refused(Refusal::RateLimited(std::time::Duration::from_secs(1)));
        let text = vana_metrics::render_prometheus(&monitor, &vana_metrics::PrometheusOptions::default());
        assert!(text.contains("vana_http_refusals_total{reason=\"rate_limited\"} 1\n"), "{text}");
    }
}
