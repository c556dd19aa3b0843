//! The APM guard against a `tracing` span under a layer that times spans, same run.
//!
//! Run: `cargo bench -p vana-apm --bench apm`.

#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use tracing_subscriber::layer::SubscriberExt;
use vana_apm::Apm;
use vana_config::MonitoringConfig;
use vana_metrics::PerformanceMonitor;

/// The anchor: a minimal layer that stamps a span's start and measures it on close.
struct TimingLayer;

struct Start(Instant);

impl<S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>>
    tracing_subscriber::Layer<S> for TimingLayer
{
    fn on_new_span(
        &self,
        _: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Start(Instant::now()));
        }
    }

    fn on_close(&self, id: tracing::span::Id, ctx: tracing_subscriber::layer::Context<'_, S>) {
        if let Some(span) = ctx.span(&id) {
            if let Some(Start(start)) = span.extensions().get::<Start>() {
                black_box(start.elapsed());
            }
        }
    }
}

fn guard(c: &mut Criterion) {
    let apm = Apm::new(PerformanceMonitor::new(&MonitoringConfig::default()));
    let mut group = c.benchmark_group("traced_call");
    let checkout = apm.operation("checkout").expect("under the series cap");
    group.bench_function("vana_apm_operation_span", |b| {
        b.iter(|| {
            let _span = black_box(&checkout).span();
        })
    });
    group.bench_function("vana_apm_span_by_name", |b| {
        b.iter(|| {
            let _span = apm.span(black_box("checkout"));
        })
    });
    let subscriber = tracing_subscriber::registry().with(TimingLayer);
    tracing::subscriber::with_default(subscriber, || {
        group.bench_function("tracing_span_with_timing_layer", |b| {
            b.iter(|| {
                let _span = tracing::info_span!("checkout").entered();
            })
        });
    });
    group.finish();
}

criterion_group!(benches, guard);
criterion_main!(benches);
