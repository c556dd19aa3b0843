//! vana-logging against `tracing_subscriber::fmt().json()`, same events, same run.
//!
//! Run: `cargo bench -p vana-logging --bench logging`. Numbers go to docs/benchmarks.md.

#![allow(missing_docs, clippy::print_stderr)]

use std::hint::black_box;
use std::io;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tracing::Dispatch;
use tracing_subscriber::layer::SubscriberExt;
use vana_config::{LogLevel, Logging};
use vana_logging::{CorrelationId, LogLayer, request_span};

/// A writer that discards, so both sides measure formatting, not I/O.
fn sink() -> io::Sink {
    io::sink()
}

fn config() -> Logging {
    let mut config = Logging::default();
    config.components.clear();
    config.level = LogLevel::Info;
    config
}

fn ours() -> Dispatch {
    let layer = LogLayer::new(&config(), sink as fn() -> io::Sink);
    Dispatch::new(tracing_subscriber::Registry::default().with(layer.with_level_filter()))
}

fn anchor() -> Dispatch {
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(sink as fn() -> io::Sink)
        .with_max_level(tracing::Level::INFO)
        .with_current_span(true)
        .with_span_list(true)
        .finish();
    Dispatch::new(subscriber)
}

/// Three fields inside two spans, the outer carrying the correlation id.
fn event_in_spans(c: &mut Criterion) {
    let mut group = c.benchmark_group("event_in_two_spans");
    group.throughput(Throughput::Elements(1));
    for (name, dispatch) in [("vana_logging", ours()), ("tracing_subscriber_json", anchor())] {
        tracing::dispatcher::with_default(&dispatch, || {
            let id = CorrelationId::parse("req-1234").expect("valid id");
            let _request = request_span(&id, "POST", "/agents/run").entered();
            let _tool = tracing::info_span!("tool_call", tool = "search").entered();
            group.bench_function(name, |b| {
                b.iter(|| {
                    tracing::info!(
                        user = "ada",
                        attempt = black_box(3u64),
                        latency_ms = black_box(12.5),
                        "tool call finished"
                    )
                })
            });
        });
    }
    group.finish();
}

/// An event below the active level.
fn disabled_event(c: &mut Criterion) {
    let mut group = c.benchmark_group("event_below_level");
    for (name, dispatch) in [("vana_logging", ours()), ("tracing_subscriber_json", anchor())] {
        tracing::dispatcher::with_default(&dispatch, || {
            group.bench_function(name, |b| {
                b.iter(|| tracing::debug!(user = "ada", n = black_box(1u64), "hidden"))
            });
        });
    }
    group.finish();
}

/// To a file through the bounded non-blocking writer: lines per second, and drops when the producer
/// outruns the disk.
fn non_blocking_file(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("vana-logging-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut group = c.benchmark_group("file_non_blocking");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(3));
    for buffer in [128usize, 100_000] {
        let file = std::fs::File::create(dir.join(format!("bench-{buffer}.log"))).expect("log file");
        let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(true)
            .buffered_lines_limit(buffer)
            .finish(file);
        let counter = writer.error_counter();
        let layer = LogLayer::new(&config(), writer);
        let dispatch = Dispatch::new(tracing_subscriber::Registry::default().with(layer.with_level_filter()));
        let started = Instant::now();
        let mut sent = 0u64;
        tracing::dispatcher::with_default(&dispatch, || {
            group.bench_function(format!("buffer_{buffer}_lines"), |b| {
                b.iter(|| {
                    sent += 1;
                    tracing::info!(user = "ada", n = black_box(sent), "written to a file")
                })
            });
        });
        drop(guard);
        let elapsed = started.elapsed().as_secs_f64();
        eprintln!(
            "file_non_blocking/buffer_{buffer}_lines: {sent} lines offered in {elapsed:.1} s, {} dropped ({:.1} %)",
            counter.dropped_lines(),
            100.0 * counter.dropped_lines() as f64 / sent.max(1) as f64
        );
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

/// One request line: `RequestLog`'s direct path against the same line as a `tracing` event (through
/// vana-logging's layer, as before `RequestLog`, and through `tracing_subscriber`'s JSON formatter).
fn request_line(c: &mut Criterion) {
    let record = vana_logging::RequestRecord {
        method: "GET",
        route: "/agents/{id}",
        path: "/agents/7",
        status: 200,
        duration: Duration::from_micros(1250),
        first_byte: Some(Duration::from_micros(1100)),
        stream: None,
        gen_ai: None,
        client: Some("203.0.113.9"),
        correlation_id: Some("0b9a7d3e-2a41-4c55-9d0e-5f1c2e3a4b5c"),
    };
    let mut group = c.benchmark_group("request_line");
    group.throughput(Throughput::Elements(1));
    let (_dispatch, guard) = vana_logging::LoggingBuilder::new(&config())
        .writer(sink as fn() -> io::Sink)
        .build()
        .expect("logging");
    let direct = guard.request_log();
    group.bench_function("request_log_direct", |b| b.iter(|| direct.write(black_box(&record))));
    let via_tracing = vana_logging::RequestLog::via_tracing();
    for (name, dispatch) in
        [("tracing_event_vana_layer", ours()), ("tracing_event_subscriber_json", anchor())]
    {
        tracing::dispatcher::with_default(&dispatch, || {
            group.bench_function(name, |b| b.iter(|| via_tracing.write(black_box(&record))));
        });
    }
    group.finish();
}

criterion_group!(benches, event_in_spans, disabled_event, non_blocking_file, request_line);
criterion_main!(benches);
