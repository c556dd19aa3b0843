//! An axum application protected and observed by vana-ops: the layer around its routes, the operational
//! endpoints beside them, graceful shutdown that flushes logs.
//!
//! Run: `cargo run -p vana-ops --example axum_service`, then
//! `curl -i 'http://127.0.0.1:3000/agents/7?task=summarize'` and `curl http://127.0.0.1:3000/metrics`.

#![allow(clippy::print_stderr)]

use std::net::SocketAddr;

use axum::Router;
use axum::extract::Path;
use axum::routing::{get, post};
use vana_ops::Ops;

async fn agent(Path(id): Path<u32>) -> String {
    // Inside the request span: this line carries the request's correlation id.
    tracing::info!(agent = id, "agent looked up");
    format!("agent {id}\n")
}

async fn run_agent(Path(id): Path<u32>, body: String) -> String {
    format!("agent {id} received {} bytes\n", body.len())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `config/` when run from the repository root, the embedded defaults otherwise; VANA_* overrides apply.
    let ops = if std::path::Path::new("config").is_dir() {
        Ops::from_config_dir("config")?
    } else {
        Ops::from_embedded_defaults()?
    };
    let app = Router::new()
        .route("/agents/{id}", get(agent))
        .route("/agents/{id}/run", post(run_agent))
        // Every route of the application goes through the layer; metrics are keyed by "/agents/{id}".
        .layer(ops.http_layer()?)
        // /metrics, /health, /alerts, /security/events: outside the layer, never rate-limited.
        .merge(ops.endpoints()?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    eprintln!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    ops.shutdown();
    Ok(())
}
