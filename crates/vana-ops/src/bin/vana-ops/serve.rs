//! `vana-ops serve`: the layer and the endpoints around the demo application or an upstream.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use tower::Layer as _;
use vana_ops::{Ops, OpsLayer, Upstream};

#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// Configuration directory (security/security_policies.yaml, monitoring/monitoring.yaml); default: the
    /// embedded defaults. `VANA_*` variables override either.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Put the layer in front of this HTTP service (`http://127.0.0.1:8000`) instead of the demo application.
    #[arg(long)]
    upstream: Option<String>,
    /// Mount /metrics, /health, /alerts and /security/* under this prefix (e.g. `/_vana`), when the
    /// upstream has paths of its own with those names (default: `http.ops_prefix` of the configuration).
    #[arg(long)]
    ops_prefix: Option<String>,
    /// Serve without the layer (no checks, headers, logs or metrics per request): the baseline for load tests.
    #[arg(long)]
    no_layer: bool,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

pub(crate) fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = args.threads {
        runtime.worker_threads(threads.max(1));
    }
    runtime.enable_all().build()?.block_on(serve(args))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let ops = match &args.config {
        Some(dir) => Ops::from_config_dir(dir)?,
        None => Ops::from_embedded_defaults()?,
    };
    let (application, routes, what) = match &args.upstream {
        Some(url) => {
            let upstream = Upstream::new(url)?;
            let health = &ops.config().monitoring.health;
            if !health.upstream_path.is_empty() {
                upstream.watch_readiness(
                    &ops,
                    health.upstream_path.clone(),
                    Duration::from_millis(health.check_interval_ms),
                    Duration::from_millis(health.upstream_timeout_ms),
                );
            }
            let what = format!("proxy to {}", upstream.url());
            (Router::new().fallback_service(upstream), &[][..], what)
        }
        None => (crate::demo::router(), &crate::demo::ROUTES[..], "demo application".to_owned()),
    };
    let endpoints = ops.endpoints()?;
    let prefix = args.ops_prefix.as_deref().unwrap_or(&ops.config().security.http.ops_prefix);
    let prefix = prefix.trim_end_matches('/');
    let endpoints = if prefix.is_empty() { endpoints } else { Router::new().nest(prefix, endpoints) };
    // The endpoints answer their own paths; everything else goes to the application, behind the layer.
    // One layer around the whole application (rather than one per route) costs less per request; it runs
    // before routing, so it names requests by the application's route templates.
    let app = if args.no_layer {
        endpoints.fallback_service(application)
    } else {
        let layer = OpsLayer::with_route_templates(&ops, routes)?;
        endpoints.fallback_service(layer.layer(application))
    };

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    let layer = if args.no_layer { "layer off" } else { "layer on" };
    eprintln!("vana-ops listening on http://{address} ({what}, {layer})");
    if args.upstream.is_none() {
        eprintln!("  try      curl -i 'http://{address}/echo?msg=hello'");
        eprintln!("           curl -i 'http://{address}/slow?ms=2500'   (past the 2 s warning line)");
    }
    eprintln!("  metrics  http://{address}{prefix}/metrics");
    eprintln!("  health   http://{address}{prefix}/health  (probes: {prefix}/livez, {prefix}/readyz)");
    eprintln!("  alerts   http://{address}{prefix}/alerts");
    eprintln!("  logs     JSON lines on standard output; Ctrl-C stops and flushes");

    vana_ops::serve(listener, app, &ops, shutdown_signal()).await?;
    eprintln!("vana-ops: shutting down");
    tracing::info!(target: "vana_ops", "shutting down");
    ops.shutdown();
    Ok(())
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
