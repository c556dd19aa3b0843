//! The popular-crates stack, the anchor of `cargo xtask loadtest --anchor`: the demo's `GET /echo` behind
//! what a Rust user assembles for the same jobs: a request id (tower-http), a JSON line a request
//! (`TraceLayer` into tracing-subscriber's JSON formatter), a rate limit per peer (tower_governor), eight
//! security headers (tower-http `SetResponseHeader`), and Prometheus metrics (axum-prometheus). `--bare`
//! serves the handler alone. Built as the workspace builds vana-ops (fat LTO, one codegen unit, mimalloc). Prints `listening on ADDRESS` on standard error once it listens.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderName, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::get;
use tower::ServiceBuilder;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

async fn echo(Query(params): Query<HashMap<String, String>>) -> impl IntoResponse {
    axum::Json(serde_json::json!({ "msg": params.get("msg").cloned().unwrap_or_default() }))
}

/// The eight headers vana-ops' layer sets on a response by default.
const SECURITY_HEADERS: [(&str, &str); 8] = [
    ("content-security-policy", "default-src 'self'; frame-ancestors 'none'"),
    ("cross-origin-opener-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("x-xss-protection", "0"),
    ("cache-control", "no-store"),
];

fn stack() -> Router {
    let (prometheus, metrics) = axum_prometheus::PrometheusMetricLayer::pair();
    // Generous enough that the load test measures the limiter's work, not its refusals.
    let governor = GovernorConfigBuilder::default().per_nanosecond(1).burst_size(u32::MAX).finish();
    let governor = Arc::new(governor.expect("a valid rate limit"));
    let mut router = Router::new()
        .route("/echo", get(echo))
        .route("/metrics", get(move || async move { metrics.render() }));
    for (name, value) in SECURITY_HEADERS {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ));
    }
    router.layer(GovernorLayer::new(governor)).layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO))
                    .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
            )
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(prometheus),
    )
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut listen, mut bare, mut threads) = ("127.0.0.1:0".to_owned(), false, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().expect("--listen ADDRESS"),
            "--bare" => bare = true,
            "--threads" => threads = args.next().and_then(|n| n.parse::<usize>().ok()),
            other => panic!("unknown argument {other}"),
        }
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = threads {
        runtime.worker_threads(threads);
    }
    runtime.enable_all().build().expect("a runtime").block_on(serve(listen, bare));
}

async fn serve(listen: String, bare: bool) {
    // The log lines leave on a writer thread of their own, as vana-ops' do (tracing-appender's non-blocking
    // writer); the guard flushes them at exit.
    let (writer, _guard) = tracing_appender::non_blocking(std::io::stderr());
    let app = if bare {
        Router::new().route("/echo", get(echo))
    } else {
        tracing_subscriber::fmt().json().with_writer(writer).init();
        stack()
    };
    let listener = tokio::net::TcpListener::bind(&listen).await.expect("bind");
    eprintln!("listening on http://{}", listener.local_addr().expect("address"));
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.expect("serve");
}
