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
    let builder = match &args.config {
        Some(dir) => Ops::builder_from_config_dir(dir)?,
        None => Ops::builder(vana_ops::config::ConfigLoader::new().process_env().load()?),
    };
    // Listening first, so alerts can name the address Prometheus scrapes (their `instance` label).
    let ops_listen = builder.config().security.http.ops_listen.clone();
    let ops_listener = if ops_listen.is_empty() { None } else { Some(bind(&ops_listen).await?) };
    let listener = bind(&args.listen.to_string()).await?;
    let scraped = match &ops_listener {
        Some(ops_listener) => ops_listener.local_addr()?,
        None => listener.local_addr()?,
    };
    let ops = builder.scraped_at(scraped.to_string()).build()?;
    let (application, what) = application(&args, &ops)?;
    let prefix = args.ops_prefix.as_deref().unwrap_or(&ops.config().security.http.ops_prefix);
    let prefix = if ops_listen.is_empty() { prefix.trim_end_matches('/').to_owned() } else { String::new() };
    // The endpoints answer their own paths, on the service's listener unless `http.ops_listen` gives them
    // one of their own; everything else goes to the application.
    let endpoints = ops.endpoints()?;
    let (app, ops_listener) = match ops_listener {
        Some(ops_listener) => (application, Some((ops_listener, endpoints))),
        None if prefix.is_empty() => (endpoints.fallback_service(application), None),
        None => (Router::new().nest(&prefix, endpoints).fallback_service(application), None),
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    // The endpoints' own listener first, so the line that announces the service comes last.
    let base = match &ops_listener {
        Some((ops_listener, _)) => {
            eprintln!("vana-ops endpoints on http://{}", ops_listener.local_addr()?);
            format!("http://{}", ops_listener.local_addr()?)
        }
        None => format!("http://{}{prefix}", listener.local_addr()?),
    };
    announce(&args, &ops, listener.local_addr()?, &what, &base);
    let ops_server = ops_listener.map(|(ops_listener, ops_app)| {
        let (ops, stopped) = (ops.clone(), stopped.clone());
        tokio::spawn(
            async move { vana_ops::serve(ops_listener, ops_app, &ops, until_stopped(stopped)).await },
        )
    });
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    vana_ops::serve(listener, app, &ops, until_stopped(stopped)).await?;
    if let Some(ops_server) = ops_server {
        ops_server.await??;
    }
    eprintln!("vana-ops: shutting down");
    tracing::info!(target: "vana_ops", "shutting down");
    ops.shutdown();
    Ok(())
}

/// What the gateway serves, behind the layer unless `--no-layer`: a proxy to `--upstream`, or the demo
/// application; and how to say so.
fn application(args: &ServeArgs, ops: &Ops) -> anyhow::Result<(Router, String)> {
    let (application, routes, what) = match &args.upstream {
        Some(url) => {
            let upstream = Upstream::new(url)?;
            upstream.count_errors_in(ops.monitor());
            let idle = ops.config().security.http.websocket_idle_timeout_ms;
            upstream.set_websocket_idle_timeout(Duration::from_millis(idle));
            let health = &ops.config().monitoring.health;
            if !health.upstream_path.is_empty() {
                upstream.watch_readiness(
                    ops,
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
    if args.no_layer {
        return Ok((application, what));
    }
    // One layer around the whole application (rather than one per route) costs less per request; it runs
    // before routing, so it names requests by the application's route templates.
    let layer = OpsLayer::with_route_templates(ops, routes)?;
    Ok((Router::new().fallback_service(layer.layer(application)), what))
}

/// The lines that say where to look, on stderr.
fn announce(args: &ServeArgs, ops: &Ops, address: SocketAddr, what: &str, base: &str) {
    let layer = if args.no_layer { "layer off" } else { "layer on" };
    eprintln!("vana-ops listening on http://{address} ({what}, {layer})");
    if args.upstream.is_none() {
        eprintln!("  try      curl -i 'http://{address}/echo?msg=hello'");
        eprintln!("           curl -i 'http://{address}/slow?ms=2500'   (past the 2 s warning line)");
    }
    eprintln!("  metrics  {base}/metrics");
    eprintln!("  health   {base}/health  (probes: {base}/livez, {base}/readyz)");
    eprintln!("  alerts   {base}/alerts");
    if ops.config().security.http.dashboard {
        let access = if ops_token_state() {
            "admin token asked once"
        } else {
            "loopback clients only: set VANA_ADMIN_TOKEN to open it to others"
        };
        eprintln!("  dashboard {base}/dashboard  ({access})");
    }
    eprintln!("  logs     JSON lines on standard output; Ctrl-C stops and flushes");
}

/// Whether an admin token is configured (the dashboard then asks for it).
fn ops_token_state() -> bool {
    [vana_ops::ADMIN_TOKEN_ENV, vana_ops::ADMIN_TOKEN_FILE_ENV]
        .iter()
        .any(|name| std::env::var_os(name).is_some())
}

async fn bind(address: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address}"))
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
