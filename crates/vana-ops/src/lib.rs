//! The operational foundation of a service in one place: monitoring, APM, security, logging and
//! configuration, wired together.
//!
//! `vana-ops` re-exports the five vana crates and builds them from one configuration: [`Ops`] loads
//! `security_policies.yaml` and `monitoring.yaml` (or the embedded defaults), installs logging per the
//! `logging` section, builds the monitor with its thresholds and alert sinks and starts the system
//! collector at `collection_interval`, the APM and the security manager; [`Ops::health`] reports ok,
//! degraded or critical; dropping it (or [`Ops::shutdown`]) stops the background work and flushes.
//!
//! **In progress**: the tower layer for HTTP services and the `vana-ops` gateway binary come next.
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
//! # Feature flags
//!
//! None yet: every part is built in.

mod error;
mod health;
#[cfg(feature = "http")]
mod http;
mod ops;

pub use error::OpsError;
pub use health::{Health, HealthStatus};
#[cfg(feature = "http")]
pub use http::{
    ADMIN_TOKEN_ENV, ADMIN_TOKEN_FILE_ENV, AdminToken, OpsLayer, OpsService, Upstream, endpoints,
};
pub use ops::{Ops, OpsBuilder};
pub use {
    vana_apm as apm, vana_config as config, vana_logging as logging, vana_metrics as metrics,
    vana_security as security,
};
