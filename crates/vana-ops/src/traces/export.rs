//! The way spans leave: a bounded queue in front of the SDK's batching that counts what it drops, and
//! OTLP over HTTP through ureq (blocking, on the SDK's own export thread).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

/// Largest answer read from the receiver.
const MAX_ANSWER_BYTES: u64 = 1024 * 1024;

/// What became of the spans: counted for `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct SpanCounts {
    /// Spans ended and not yet exported (or failed): the queue's occupancy.
    queued: AtomicUsize,
    pub(crate) exported: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) dropped: AtomicU64,
}

/// Admits an ended span to `inner` (the SDK's batch processor) while fewer than `capacity` wait, and drops
/// and counts it otherwise: a request never waits for the exporter.
#[derive(Debug)]
pub(crate) struct BoundedProcessor<P> {
    pub(crate) inner: P,
    pub(crate) capacity: usize,
    pub(crate) counts: Arc<SpanCounts>,
}

impl<P: SpanProcessor> SpanProcessor for BoundedProcessor<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        let admitted = self.counts.queued.fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
            (queued < self.capacity).then_some(queued + 1)
        });
        match admitted {
            Ok(_) => self.inner.on_end(span),
            Err(_) => {
                self.counts.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The OTLP exporter, counting each batch out of the queue once it is sent or has failed.
#[derive(Debug)]
pub(crate) struct CountingExporter<E> {
    pub(crate) inner: E,
    pub(crate) counts: Arc<SpanCounts>,
}

impl<E: SpanExporter> SpanExporter for CountingExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        let result = self.inner.export(batch).await;
        let outcome = if result.is_ok() { &self.counts.exported } else { &self.counts.failed };
        outcome.fetch_add(spans as u64, Ordering::Relaxed);
        let _ = self
            .counts
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| Some(queued.saturating_sub(spans)));
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// OTLP/HTTP requests through a ureq agent: blocking, which is what the SDK's export thread wants.
#[derive(Debug)]
pub(crate) struct UreqClient {
    agent: ureq::Agent,
}

impl UreqClient {
    pub(crate) fn new(timeout: Duration) -> Self {
        let config =
            ureq::Agent::config_builder().timeout_global(Some(timeout)).http_status_as_error(false).build();
        Self { agent: ureq::Agent::new_with_config(config) }
    }
}

#[async_trait::async_trait]
impl HttpClient for UreqClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (parts, body) = request.into_parts();
        let request = Request::from_parts(parts, body.to_vec());
        let mut answer = self.agent.run(request)?;
        let body = answer.body_mut().with_config().limit(MAX_ANSWER_BYTES).read_to_vec()?;
        let (parts, _) = answer.into_parts();
        Ok(Response::from_parts(parts, Bytes::from(body)))
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::trace::SdkTracerProvider;

    use super::*;

    /// A batch processor whose export never comes: what the queue holds stays.
    #[derive(Debug, Default)]
    struct Stuck(AtomicUsize);

    impl SpanProcessor for Stuck {
        fn on_start(&self, _: &mut Span, _: &Context) {}
        fn on_end(&self, _: SpanData) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }
        fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
            Ok(())
        }
    }

    #[test]
    fn past_its_capacity_the_queue_drops_and_counts_never_waits() {
        let counts = Arc::new(SpanCounts::default());
        let processor =
            BoundedProcessor { inner: Stuck::default(), capacity: 3, counts: Arc::clone(&counts) };
        let provider = SdkTracerProvider::builder().with_span_processor(processor).build();
        let tracer = provider.tracer("test");
        for _ in 0..10 {
            tracer.in_span("request", |_| {});
        }
        assert_eq!(counts.dropped.load(Ordering::Relaxed), 7);
        assert_eq!(counts.queued.load(Ordering::Relaxed), 3);
    }
}
