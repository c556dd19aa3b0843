//! The HTTP side (feature `http`): a tower layer that puts every check in front of a service, the
//! operational endpoints, and a reverse proxy to an upstream in any language.

mod address;
mod admin;
mod body;
mod body_limits;
mod counters;
mod dashboard;
mod encoding;
mod endpoints;
mod layer;
#[cfg(test)]
mod parsers_never_panic;
mod path;
mod pipeline;
mod proxy;
mod reject;
mod routes;
mod server;
mod step;
mod throttle;
mod views;
mod websocket;

pub(crate) use admin::metrics_token_from_env;
pub use admin::{
    ADMIN_TOKEN_ENV, ADMIN_TOKEN_FILE_ENV, AdminToken, METRICS_TOKEN_ENV, METRICS_TOKEN_FILE_ENV,
};
pub use endpoints::{endpoints, endpoints_with_metrics_token};
pub use layer::{OpsLayer, OpsService, ResponseFuture};
pub use proxy::Upstream;
pub use server::serve;
