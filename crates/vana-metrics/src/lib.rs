//! Real-time performance monitoring for vana-ops: the specification's `PerformanceMonitor`.
//!
//! - **Recording**: [`PerformanceMonitor::record_metric`] (and `record_metric_with_metadata`),
//!   [`record_response_time`] (monotonic durations,
//!   wall-clock timestamps), and [`SeriesHandle`] for hot paths (no lookup, no allocation).
//! - **Storage**: each series keeps its recent samples (24 bytes each, written without locks) in a ring
//!   capped by count
//!   (`max_samples_per_series`) **and** age (`retention_minutes`, which the specification declared and never
//!   applied); tags are interned and stored once per series; at most `max_series` series.
//! - **Queries**: [`get_metrics`](PerformanceMonitor::get_metrics), [`get_summary`] (count, min, max, avg,
//!   latest, p50/p90/p95/p99), [`series_names`](PerformanceMonitor::series_names).
//! - **Alerts**: thresholds name the metrics they watch with a glob (the table lives in
//!   [`vana_config::metric_names`]); each alert is a state machine (inactive → pending → firing → resolved)
//!   with a `for` duration, a recovery margin against flapping, immediate escalation, a repeat interval and a
//!   bounded history; transitions reach [`AlertSink`]s through a bounded queue and a background thread.
//! - **Error rates** per operation over a sliding window, recorded as `error_rate.<operation>`.
//! - **System collector**: [`SystemCollector`] samples only this process (CPU by delta, never sleeping).
//! - **Prometheus export**: [`render_prometheus`], text format 0.0.4 (histograms for response times).
//! - **The `metrics` facade** (feature `metrics`): `MetricsRecorder`.
//!
//! [`record_response_time`]: PerformanceMonitor::record_response_time
//! [`get_summary`]: PerformanceMonitor::get_summary
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use vana_metrics::PerformanceMonitor;
//! use vana_config::Comparison;
//!
//! let monitor = PerformanceMonitor::new(&vana_config::MonitoringConfig::default());
//! monitor.set_threshold("queue.depth", 10.0, 20.0, Comparison::Greater);
//! monitor.record_metric("queue.depth", 15.0, "jobs", &[]);
//! monitor.record_metric("queue.depth", 25.0, "jobs", &[]);
//! let active = monitor.active_alerts();
//! assert_eq!(active.len(), 1);
//! assert_eq!(active[0].level, vana_config::AlertLevel::Critical);
//! ```
//!
//! # Feature flags
//!
//! - `metrics`: `MetricsRecorder`, a `metrics::Recorder` into the monitor.
//! - `email`: `EmailTransport` and `SmtpSettings`, alert emails through SMTP (lettre).
//! - `webhook`: `WebhookTransport` (Alertmanager webhook v4 or Slack JSON) and `AlertmanagerChannel`
//!   (`POST /api/v2/alerts`), over HTTP or HTTPS (ureq with rustls; `HttpClient` takes a private CA).
//!
//! Without features, `DeliveryChannel` still delivers through any [`Transport`] of your own, and
//! [`prometheus_rules`] turns the thresholds into Prometheus alerting rules.

mod alert;
mod clock;
mod collector;
mod delivery;
mod error;
mod error_rate;
#[cfg(feature = "metrics")]
mod facade;
mod families;
mod monitor;
mod prometheus;
mod rules;
mod series;
mod sink;
mod slot;
mod summary;

pub use alert::{AlertEvent, AlertTransition, ThresholdRule};
pub use clock::{ManualClock, MetricsClock, SystemClock};
pub use collector::{ProcessSample, ProcessSampler, ProcessStats, SystemCollector, record_process_sample};
#[cfg(feature = "webhook")]
pub use delivery::AlertmanagerChannel;
pub use delivery::{
    ALERT_INSTANCE_ENV, ALERT_JOB_ENV, AlertContext, DeliveryChannel, DeliveryStats, Transport,
    alert_annotations, alert_labels, fingerprint, rfc3339,
};
#[cfg(feature = "email")]
pub use delivery::{EmailTransport, SmtpSettings};
#[cfg(feature = "webhook")]
pub use delivery::{HttpClient, WebhookTransport};
pub use error::DeliveryError;
#[cfg(feature = "metrics")]
pub use facade::MetricsRecorder;
pub use families::{
    ExportedName, HTTP_DURATION_FAMILY, HTTP_METHOD_TAG, HTTP_ROUTE_LABEL, HTTP_STATUS_TAG, exported_name,
};
pub use monitor::{
    MAX_TAGS, MetricSample, OperationHandle, PerformanceMonitor, SeriesHandle, SeriesSnapshot,
};
pub use prometheus::{
    CONTENT_TYPE, PrometheusOptions, is_response_time, render_prometheus, sanitize_label_name,
    sanitize_metric_name,
};
pub use rules::prometheus_rules;
pub use series::{BYTES_PER_SAMPLE, Tags};
pub use sink::{AlertSink, TracingSink};
pub use summary::Summary;
