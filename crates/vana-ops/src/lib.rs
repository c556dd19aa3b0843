#![doc = include_str!("../README.md")]

mod channels;
pub use channels::ALERT_CA_FILE_ENV;
mod error;
mod exposition;
mod health;
#[cfg(feature = "http")]
mod http;
mod ops;
#[cfg(feature = "otel")]
mod traces;

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
