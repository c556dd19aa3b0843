//! The operational foundation of a service in one place: monitoring, APM, security, logging and
//! configuration, wired together.
//!
//! `vana-ops` re-exports the five vana crates and builds them from one configuration: [`Ops`] loads
//! `security_policies.yaml` and `monitoring.yaml` (or the embedded defaults), installs logging per the
//! `logging` section, builds the monitor with its thresholds and alert sinks and starts the system
//! collector at `collection_interval`, the APM and the security manager; [`Ops::health`] reports ok,
//! degraded or critical; dropping it (or [`Ops::shutdown`]) stops the background work and flushes.
//!
//! With the `http` feature, [`Ops::http_layer`] is a tower [`Layer`](tower::Layer) for any axum or hyper
//! service that runs, in order: correlation id, client address (trusted proxies), blocklist (403), rate
//! limit (429, `RateLimit` headers on every response), input validation of path, query, chosen headers,
//! cookies and form/JSON/text bodies with an action per route and field (400, 413), cross-origin protection
//! of unsafe methods (403), the service, then
//! security headers, a request log line and the `response_time.<route>` metric keyed by route template.
//! [`Ops::endpoints`] serves `/metrics`, `/livez`, `/readyz`, `/health`, `/alerts` and `/security/*`; [`Upstream`] is a
//! streaming reverse proxy, so the `vana-ops serve --upstream URL` binary protects a service in any
//! language.
//!
//! # Example
//!
//! ```
//! use vana_ops::{HealthStatus, Ops};
//!
//! let ops = Ops::builder_from_embedded_defaults().install_logging(false).start_collector(false).build()?;
//! let verdict = ops.security().validate_input("1' OR '1'='1' --");
//! assert!(!verdict.is_passed());
//! ops.apm().trace("checkout", || { /* work */ });
//! assert_eq!(ops.monitor().get_summary("response_time.checkout", None).count, 1);
//! assert_eq!(ops.health().status, HealthStatus::Ok);
//! # Ok::<(), vana_ops::OpsError>(())
//! ```
//!
//! An axum application (see `examples/axum_service.rs` for the whole program):
//!
//! ```no_run
//! # #[cfg(feature = "http")]
//! # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, routing::get};
//!
//! let ops = vana_ops::Ops::from_embedded_defaults()?;
//! let app = Router::new()
//!     .route("/agents/{id}", get(|| async { "agent" }))
//!     .layer(ops.http_layer()?)
//!     .merge(ops.endpoints()?);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
//! axum::serve(listener, service).await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! - `http` (default): the tower layer, the endpoints router and the upstream proxy (axum, hyper, tower).
//! - `cli` (default): the `vana-ops` binary (`serve`, `validate-config`, `scan`, `export-rules`).
//! - `email` (default): the `email` alert channel.
//! - `webhook` (default): the `webhook` and `alertmanager` alert channels.
//! - `redis` (default): rate limits, blocked addresses and security events shared through Redis.

mod channels;
pub use channels::ALERT_CA_FILE_ENV;
mod error;
mod exposition;
mod health;
#[cfg(feature = "http")]
mod http;
mod ops;

pub use error::OpsError;
pub use health::{BackendHealth, Health, HealthStatus, Readiness, ReadinessCheck};
#[cfg(feature = "http")]
pub use http::{
    ADMIN_TOKEN_ENV, ADMIN_TOKEN_FILE_ENV, AdminToken, METRICS_TOKEN_ENV, METRICS_TOKEN_FILE_ENV, OpsLayer,
    OpsService, ResponseFuture, Upstream, endpoints, endpoints_with_metrics_token, serve,
};
pub use ops::{Ops, OpsBuilder};
pub use {
    vana_apm as apm, vana_config as config, vana_logging as logging, vana_metrics as metrics,
    vana_security as security,
};
