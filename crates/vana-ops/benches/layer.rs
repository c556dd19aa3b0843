//! The HTTP layer's cost per request, in process: the same axum router with and without `OpsLayer`, and
//! with single steps switched off, so each step's share is visible. Logging goes to a synchronous sink, request lines by the direct path
//! as when `Ops` installs logging.

#![allow(missing_docs)]

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt;
use vana_ops::Ops;
use vana_ops::config::{ConfigLoader, Document};
use vana_ops::logging::RequestLog;

fn router() -> Router {
    Router::new().route("/echo", get(|| async { "hello" }))
}

fn ops(http_yaml: &str, request_log: &RequestLog) -> Ops {
    let security =
        format!("rate_limiting:\n  default_limit: 4000000000\n  burst_limit: 4000000000\nhttp:\n{http_yaml}");
    let loaded = ConfigLoader::new().document_str(Document::Security, "bench", security).load().unwrap();
    Ops::builder(loaded)
        .install_logging(false)
        .start_collector(false)
        .request_log(request_log.clone())
        .build()
        .unwrap()
}

fn request() -> Request<Body> {
    let mut request =
        Request::get("/echo?msg=hello").header("user-agent", "wrk").body(Body::empty()).unwrap();
    request.extensions_mut().insert(ConnectInfo::<SocketAddr>("127.0.0.1:40000".parse().unwrap()));
    request
}

fn bench_layer(c: &mut Criterion) {
    let config = vana_ops::config::Config::default();
    let (dispatch, guard) = vana_ops::logging::LoggingBuilder::new(&config.monitoring.logging)
        .writer(std::io::sink)
        .build()
        .unwrap();
    tracing::dispatcher::set_global_default(dispatch).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut group = c.benchmark_group("http_layer");
    let bare = router();
    group.bench_function("bare router", |b| {
        b.iter(|| runtime.block_on(bare.clone().oneshot(request())).unwrap());
    });
    for (name, yaml) in [
        ("full layer", ""),
        ("without access log", "  access_log: false\n"),
        ("without validation", "  validate_input: false\n"),
        ("without security headers", "  security_headers: false\n"),
        ("without rate limit", "  rate_limit: false\n"),
        (
            "every step off",
            "  access_log: false\n  validate_input: false\n  security_headers: false\n  rate_limit: false\n",
        ),
    ] {
        let ops = ops(yaml, &guard.request_log());
        let app = router().layer(ops.http_layer().unwrap());
        group.bench_function(name, |b| {
            b.iter(|| runtime.block_on(app.clone().oneshot(request())).unwrap());
        });
    }
    group.finish();
}

criterion_group!(benches, bench_layer);
criterion_main!(benches);
