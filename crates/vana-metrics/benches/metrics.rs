//! vana-metrics against `metrics` (with `metrics-exporter-prometheus` installed) and the `prometheus`
//! crate, same run; plus lookups by name, contention, summaries, export and the collector's cost.
//!
//! Run: `cargo bench -p vana-metrics --features metrics --bench metrics`.

#![allow(missing_docs, clippy::print_stderr)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use vana_config::MonitoringConfig;
use vana_metrics::{PerformanceMonitor, ProcessSampler, PrometheusOptions, render_prometheus};

fn record(c: &mut Criterion) {
    let monitor = PerformanceMonitor::new(&MonitoringConfig::default());
    let handle = monitor
        .series("request.latency", "seconds", &[("route", "/agents"), ("method", "POST")])
        .expect("series");
    let exporter = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let registry = prometheus::Registry::new();
    let histogram =
        prometheus::Histogram::with_opts(prometheus::HistogramOpts::new("request_latency", "latency"))
            .expect("histogram");
    registry.register(Box::new(histogram.clone())).expect("register");

    let mut group = c.benchmark_group("record_one_value");
    let mut value = 0.0f64;
    group.bench_function("vana_metrics_handle", |b| {
        b.iter(|| {
            value += 0.001;
            handle.record(black_box(value));
        })
    });
    metrics::with_local_recorder(&exporter, || {
        let anchor = metrics::histogram!("request_latency", "route" => "/agents", "method" => "POST");
        group.bench_function("metrics_histogram_prometheus_exporter", |b| {
            b.iter(|| {
                value += 0.001;
                anchor.record(black_box(value));
            })
        });
    });
    group.bench_function("prometheus_histogram_observe", |b| {
        b.iter(|| {
            value += 0.001;
            histogram.observe(black_box(value));
        })
    });
    group.bench_function("vana_metrics_by_name_two_tags", |b| {
        b.iter(|| {
            value += 0.001;
            monitor.record_metric(
                black_box("request.latency"),
                value,
                "seconds",
                &[("route", "/agents"), ("method", "POST")],
            );
        })
    });
    group.finish();
}

/// Two threads recording into the same series through handles.
fn contention(c: &mut Criterion) {
    let monitor = PerformanceMonitor::new(&MonitoringConfig::default());
    let handle = monitor.series("shared", "", &[]).expect("series");
    c.bench_function("record_two_threads_same_series", |b| {
        b.iter_custom(|iterations| {
            let started = Instant::now();
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let handle = handle.clone();
                    std::thread::spawn(move || {
                        for n in 0..iterations {
                            handle.record(n as f64);
                        }
                    })
                })
                .collect();
            for thread in threads {
                let _ = thread.join();
            }
            // Time per record, each thread doing `iterations`.
            started.elapsed() / 2
        })
    });
}

fn summary(c: &mut Criterion) {
    let monitor = PerformanceMonitor::new(&MonitoringConfig::default());
    for n in 0..1000 {
        monitor.record_metric("lat", f64::from(n % 97) * 0.013, "seconds", &[]);
    }
    c.bench_function("summary_of_1000_samples", |b| b.iter(|| monitor.get_summary(black_box("lat"), None)));
}

fn export(c: &mut Criterion) {
    let mut config = MonitoringConfig::default();
    config.performance_monitoring.max_series = 2000;
    let monitor = PerformanceMonitor::new(&config);
    for n in 0..500 {
        monitor.record_response_time(&format!("op{n}"), Duration::from_millis(n % 300), true, &[]);
        monitor.record_metric(&format!("gauge.{n}"), f64::from(n as u32), "", &[("shard", "a")]);
    }
    eprintln!("export: {} series", monitor.series_count());
    let options = PrometheusOptions::default();
    c.bench_function("render_prometheus_1000_series", |b| {
        b.iter(|| render_prometheus(&monitor, &options).len())
    });
}

fn collector(c: &mut Criterion) {
    let Some(mut sampler) = ProcessSampler::new() else { return };
    c.bench_function("collector_one_sample", |b| b.iter(|| sampler.sample()));
    eprintln!("bytes per stored sample: {}", vana_metrics::BYTES_PER_SAMPLE);
}

criterion_group!(benches, record, contention, summary, export, collector);
criterion_main!(benches);
