//! The HTTP layer's cost per request, in process: the same axum router bare and behind `OpsLayer` (around
//! the whole router, as `vana-ops serve` has it), with single steps switched off so each step's share is
//! visible. Logging goes to a sink, request lines by the direct path as when `Ops` installs logging.
//! `examples/layer_instructions.rs` counts the instructions of the same requests. `sse_stream` measures the
//! per-event work on a server-sent event stream: streams of 1 and of 101 events, bare and behind the layer,
//! read to their end; the layer's cost of an event is the difference of the differences over 100.

#![allow(missing_docs)]

mod scenario;

use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt;

fn bench_layer(c: &mut Criterion) {
    let guard = scenario::install_logging();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
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

/// A route streaming `events` server-sent events, one frame each, as an upstream's stream arrives.
fn stream_router(events: usize) -> axum::Router {
    let handler = move || async move {
        let frames = (0..events).map(|index| Ok::<_, std::convert::Infallible>(format!("data: {index}\n\n")));
        (
            [(axum::http::header::CONTENT_TYPE, "text/event-stream")],
            axum::body::Body::from_stream(futures_util::stream::iter(frames)),
        )
    };
    axum::Router::new().route("/echo", axum::routing::get(handler))
}

fn bench_sse_events(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let ops = scenario::ops("", &vana_ops::logging::RequestLog::via_tracing());
    let mut group = c.benchmark_group("sse_stream");
    for events in [1, 101] {
        let bare = axum::Router::new().fallback_service(stream_router(events));
        let layer = vana_ops::OpsLayer::with_route_templates(&ops, &["/echo"]).unwrap();
        let layered =
            axum::Router::new().fallback_service(tower::Layer::layer(&layer, stream_router(events)));
        for (name, app) in [("bare", bare), ("full layer", layered)] {
            group.bench_function(format!("{name}, {events} events"), |b| {
                b.iter(|| {
                    runtime.block_on(async {
                        let response = app.clone().oneshot(scenario::request()).await.unwrap();
                        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
                        assert!(body.len() >= events * 8);
                    })
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_layer, bench_sse_events);
criterion_main!(benches);
