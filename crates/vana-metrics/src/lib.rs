#![doc = include_str!("../README.md")]

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
    ExportedName, HTTP_DURATION_FAMILY, HTTP_METHOD_TAG, HTTP_METHODS, HTTP_ROUTE_LABEL, HTTP_STATUS_TAG,
    exported_name, http_method_label,
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
