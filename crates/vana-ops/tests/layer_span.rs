//! The layer's request span, alone in its test binary: a subscriber set for one thread only (`set_default`)
//! shares tracing's per-callsite interest cache with every other test running in the same process, which can
//! leave the span's callsite disabled for this one.

#![cfg(feature = "http")]

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::routing::get;
use tower::ServiceExt;
use vana_ops::Ops;
use vana_ops::config::{ConfigLoader, Document};

#[tokio::test]
async fn a_request_cancelled_mid_way_still_logs_inside_its_span() {
    struct LogsWhenDropped;
    impl Drop for LogsWhenDropped {
        fn drop(&mut self) {
            tracing::warn!("dropped mid-request");
        }
    }
    let memory = vana_ops::logging::MemoryWriter::default();
    let config = vana_ops::config::Config::default();
    let (dispatch, _guard) = vana_ops::logging::LoggingBuilder::new(&config.monitoring.logging)
        .writer(memory.clone())
        .build()
        .unwrap();
    let _default = tracing::dispatcher::set_default(&dispatch);
    let loaded = ConfigLoader::new()
        .document_str(Document::Security, "test", "csrf_protection:\n  require_csrf: false\n")
        .load()
        .unwrap();
    let ops = Ops::builder(loaded).install_logging(false).start_collector(false).build().unwrap();
    let hanging = || async {
        let _guard = LogsWhenDropped;
        std::future::pending::<()>().await;
        "never"
    };
    let app = Router::new().route("/hang", get(hanging)).layer(ops.http_layer().unwrap());
    let peer: SocketAddr = "198.51.100.1:40000".parse().unwrap();
    let mut incoming =
        Request::get("/hang").header("x-correlation-id", "req-cancelled").body(Body::empty()).unwrap();
    incoming.extensions_mut().insert(ConnectInfo(peer));
    let mut future = Box::pin(app.oneshot(incoming));
    // The handler starts and then waits for ever; the client goes away.
    assert!(tokio::time::timeout(std::time::Duration::from_millis(20), &mut future).await.is_err());
    drop(future);
    let lines = memory.lines();
    let line = lines.iter().find(|line| line.contains("dropped mid-request")).expect("the drop logged");
    let entry = vana_ops::logging::LogEntry::parse(line).unwrap();
    assert_eq!(entry.correlation_id.as_deref(), Some("req-cancelled"));
}
