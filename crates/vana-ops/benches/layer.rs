//! The HTTP layer's cost per request, in process: the same axum router bare and behind `OpsLayer` (around
//! the whole router, as `vana-ops serve` has it), with single steps switched off so each step's share is
//! visible. Logging goes to a sink, request lines by the direct path as when `Ops` installs logging.
//! `examples/layer_instructions.rs` counts the instructions of the same requests. `sse_stream` measures the
//! per-event work on a server-sent event stream: streams of 1 and of 101 events, bare and behind the layer,
//! read to their end; the layer's cost of an event is the difference of the differences over 100.
//! `ai_stream` does the same with events of ADK's shape, behind the layer with and without `ai_operation` on
//! the route: the difference is what reading each event's JSON costs.

#![allow(missing_docs)]

mod scenario;

use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt;

fn bench_layer(c: &mut Criterion) {
    let guard = scenario::install_logging();
    let runtime = runtime();
    let mut group = c.benchmark_group("http_layer");
    // Each router answers 200 before and after its run: a bench of refusals would measure the wrong thing.
    let succeeds = |app: &axum::Router, name: &str| {
        let Ok(response) = runtime.block_on(app.clone().oneshot(scenario::request()));
        assert!(response.status().is_success(), "{name}: {}", response.status());
    };
    let bare = scenario::bare();
    succeeds(&bare, "bare router");
    group.bench_function("bare router", |b| {
        b.iter(|| runtime.block_on(bare.clone().oneshot(scenario::request())).unwrap());
    });
    succeeds(&bare, "bare router");
    for (name, yaml) in scenario::VARIANTS {
        let app = scenario::layered(&scenario::ops(yaml, &guard.request_log()));
        succeeds(&app, name);
        group.bench_function(name, |b| {
            b.iter(|| runtime.block_on(app.clone().oneshot(scenario::request())).unwrap());
        });
        succeeds(&app, name);
    }
    group.finish();
}

/// A route streaming `events` server-sent events (`event(index)`), one frame each, as an upstream's stream
/// arrives.
fn events_router(events: usize, event: fn(usize) -> String) -> axum::Router {
    let handler = move || async move {
        let frames = (0..events).map(move |index| Ok::<_, std::convert::Infallible>(event(index)));
        (
            [(axum::http::header::CONTENT_TYPE, "text/event-stream")],
            axum::body::Body::from_stream(futures_util::stream::iter(frames)),
        )
    };
    axum::Router::new().route("/echo", axum::routing::get(handler))
}

/// A runtime as a service has one: the layer's timeouts use tokio's timer.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap()
}

/// Streams of 1 and of 101 events of `event`'s shape, bare and behind the layer of each of `layers` (the
/// `http` section of each), each read to its end and at least `min_event_bytes` an event.
fn bench_streams(
    c: &mut Criterion,
    group_name: &str,
    event: fn(usize) -> String,
    min_event_bytes: usize,
    layers: &[(&str, &str)],
) {
    let runtime = runtime();
    let mut group = c.benchmark_group(group_name);
    for events in [1, 101] {
        let mut apps = vec![("bare", axum::Router::new().fallback_service(events_router(events, event)))];
        for &(name, yaml) in layers {
            let ops = scenario::ops(yaml, &vana_ops::logging::RequestLog::via_tracing());
            let layer = vana_ops::OpsLayer::with_route_templates(&ops, &["/echo"]).unwrap();
            let router = tower::Layer::layer(&layer, events_router(events, event));
            apps.push((name, axum::Router::new().fallback_service(router)));
        }
        for (name, app) in apps {
            group.bench_function(format!("{name}, {events} events"), |b| {
                b.iter(|| {
                    runtime.block_on(async {
                        let response = app.clone().oneshot(scenario::request()).await.unwrap();
                        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
                        assert!(body.len() >= events * min_event_bytes);
                    })
                });
            });
        }
    }
    group.finish();
}

fn bench_sse_events(c: &mut Criterion) {
    bench_streams(c, "sse_stream", |index| format!("data: {index}\n\n"), 8, &[("full layer", "")]);
}

/// An ADK partial event of about 200 bytes: a model's words, its author, the model's name.
fn adk_event(index: usize) -> String {
    format!(
        "data: {{\"invocationId\":\"e-1\",\"author\":\"vana\",\"partial\":true,\"modelVersion\":\"gemini-2.5-flash\",\
         \"content\":{{\"role\":\"model\",\"parts\":[{{\"text\":\"word {index} of the answer \"}}]}},\"id\":\"{index}\"}}\n\n"
    )
}

fn bench_ai_events(c: &mut Criterion) {
    let read = "  route_templates: [\"/echo\"]\n  route_settings:\n    /echo:\n      ai_operation: {}\n";
    bench_streams(c, "ai_stream", adk_event, 100, &[("full layer", ""), ("full layer, ai_operation", read)]);
}

criterion_group!(benches, bench_layer, bench_sse_events, bench_ai_events);
criterion_main!(benches);
