//! OpenTelemetry traces (the `otel` feature): the SDK's tracer provider with OTLP over HTTP, its spans fed
//! by `tracing` through `tracing-opentelemetry`, so the layer's request span, `#[trace]` operations and
//! any `tracing` span of the application are one trace; W3C trace context in and out of the layer
//! (`http/trace_context.rs`).

mod export;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider};
use vana_config::ResolvedTraces;

use crate::error::OpsError;
use export::{BoundedProcessor, CountingExporter, SpanCounts, UreqClient};

/// The running export: the provider (flushed at shutdown) and its counts.
pub(crate) struct TraceExport {
    provider: SdkTracerProvider,
    counts: Arc<SpanCounts>,
    /// The `tracing` layer that turns spans into OpenTelemetry spans, until logging takes it.
    layer: parking_lot::Mutex<Option<vana_logging::ExtraLayer>>,
}

impl TraceExport {
    /// Starts exporting to `settings.traces_url`.
    pub(crate) fn start(settings: &ResolvedTraces) -> Result<Self, OpsError> {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(UreqClient::new(settings.export_timeout))
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(settings.traces_url.clone())
            .with_timeout(settings.export_timeout)
            .build()
            .map_err(|error| OpsError::Traces {
                url: settings.traces_url.clone(),
                source: Box::new(error),
            })?;
        let counts = Arc::new(SpanCounts::default());
        let batching = BatchConfigBuilder::default()
            .with_max_queue_size(settings.max_queue_size)
            .with_max_export_batch_size(settings.max_export_batch_size)
            .with_scheduled_delay(settings.export_interval)
            .build();
        let exporter = CountingExporter { inner: exporter, counts: Arc::clone(&counts) };
        let batch = BatchSpanProcessor::builder(exporter).with_batch_config(batching).build();
        let processor =
            BoundedProcessor { inner: batch, capacity: settings.max_queue_size, counts: Arc::clone(&counts) };
        let resource =
            opentelemetry_sdk::Resource::builder().with_service_name(settings.service_name.clone()).build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_resource(resource)
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(settings.sample_ratio))))
            .build();
        let tracer = provider.tracer("vana-ops");
        // The spans carry what the conventions say, not the bridge's bookkeeping (thread, source line,
        // busy and idle nanoseconds).
        let layer = tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_tracked_inactivity(false)
            .with_location(false)
            .with_threads(false)
            .with_target(false);
        let layer: vana_logging::ExtraLayer = Box::new(layer);
        Ok(Self { provider, counts, layer: parking_lot::Mutex::new(Some(layer)) })
    }

    /// The `tracing` layer, once: for the subscriber that `Ops` installs, or for the application's own.
    pub(crate) fn take_layer(&self) -> Option<vana_logging::ExtraLayer> {
        self.layer.lock().take()
    }

    /// `vana_trace_spans_total{outcome}`: exported, failed (the receiver refused or was unreachable),
    /// dropped (the queue was full).
    pub(crate) fn exposition(&self) -> String {
        let mut out = String::from(
            "# HELP vana_trace_spans_total Spans by what became of them: exported, failed (the receiver refused or was unreachable), dropped (the export queue was full).\n# TYPE vana_trace_spans_total counter\n",
        );
        for (outcome, count) in [
            ("exported", &self.counts.exported),
            ("failed", &self.counts.failed),
            ("dropped", &self.counts.dropped),
        ] {
            out.push_str(&format!(
                "vana_trace_spans_total{{outcome=\"{outcome}\"}} {}\n",
                count.load(Ordering::Relaxed)
            ));
        }
        out
    }

    /// Exports what is queued and stops.
    pub(crate) fn shutdown(&self) {
        if let Err(error) = self.provider.shutdown() {
            tracing::warn!(target: "vana_ops::traces", %error, "the trace export did not shut down cleanly");
        }
    }
}
