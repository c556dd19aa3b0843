//! The HTTP layer's cost per request, in process: the same axum router bare and behind `OpsLayer` (around
//! the whole router, as `vana-ops serve` has it), with single steps switched off so each step's share is
//! visible. Logging goes to a sink, request lines by the direct path as when `Ops` installs logging.
//! `examples/layer_instructions.rs` counts the instructions of the same requests.

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

criterion_group!(benches, bench_layer);
criterion_main!(benches);
