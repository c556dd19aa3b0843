//! The request the layer benchmarks measure, shared by `benches/layer.rs` (time) and
//! `examples/layer_instructions.rs` (instructions under valgrind): an axum route, a request as wrk sends
//! it, and the layer's configurations.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::routing::get;
use vana_ops::config::{ConfigLoader, Document};
use vana_ops::logging::{LoggingGuard, RequestLog};
use vana_ops::{Ops, OpsLayer};

/// The layer's configurations: a name and the `http` section's settings.
pub(crate) const VARIANTS: [(&str, &str); 9] = [
    ("full layer", ""),
    (
        "with a route policy",
        "  route_templates: [\"/echo\"]\n  input_policies:\n    routes:\n      /echo:\n        query: {msg: detect}\n",
    ),
    ("without access log", "  access_log: false\n"),
    ("without route metrics", "  route_metrics: false\n"),
    ("without correlation headers", "  correlation_id: false\n"),
    ("without validation", "  validate_input: false\n"),
    ("without security headers", "  security_headers: false\n"),
    ("without rate limit", "  rate_limit: false\n"),
    (
        "every step off",
        "  access_log: false\n  route_metrics: false\n  correlation_id: false\n  validate_input: false\n  security_headers: false\n  rate_limit: false\n  block_addresses: false\n",
    ),
];

/// The application: one route.
fn router() -> Router {
    Router::new().route("/echo", get(|| async { "hello" }))
}

/// The application without the layer, routed as `vana-ops serve --no-layer` routes it (the endpoints'
/// router first, the application as its fallback).
pub(crate) fn bare() -> Router {
    Router::new().fallback_service(router())
}

/// Logging as `Ops` installs it (request lines by the direct path), into a sink; installed globally.
pub(crate) fn install_logging() -> LoggingGuard {
    let config = vana_ops::config::Config::default();
    let (dispatch, guard) = vana_ops::logging::LoggingBuilder::new(&config.monitoring.logging)
        .writer(std::io::sink)
        .build()
        .expect("logging builds");
    tracing::dispatcher::set_global_default(dispatch).expect("no other subscriber");
    guard
}

/// `Ops` with the `http` settings `http_yaml`; the loopback client's rate limit lifted as in the load test.
pub(crate) fn ops(http_yaml: &str, request_log: &RequestLog) -> Ops {
    let security =
        format!("rate_limiting:\n  default_limit: 4000000000\n  burst_limit: 4000000000\nhttp:\n{http_yaml}");
    let loaded =
        ConfigLoader::new().document_str(Document::Security, "bench", security).load().expect("valid");
    Ops::builder(loaded)
        .install_logging(false)
        .start_collector(false)
        .request_log(request_log.clone())
        .build()
        .expect("ops builds")
}

/// The application behind the layer, around the whole router as `vana-ops serve` puts it.
pub(crate) fn layered(ops: &Ops) -> Router {
    let layer = OpsLayer::with_route_templates(ops, &["/echo"]).expect("layer builds");
    Router::new().fallback_service(tower::Layer::layer(&layer, router()))
}

/// The request: what wrk sends, from a loopback peer.
pub(crate) fn request() -> Request<Body> {
    let mut request = Request::get("/echo?msg=hello")
        .header("user-agent", "wrk")
        .body(Body::empty())
        .expect("valid request");
    request.extensions_mut().insert(ConnectInfo::<SocketAddr>("127.0.0.1:40000".parse().expect("address")));
    request
}
