//! The HTTP side (feature `http`): a tower layer that puts every check in front of a service, the
//! operational endpoints, and a reverse proxy to an upstream in any language.

mod address;
mod body;
mod endpoints;
mod layer;
mod path;
mod pipeline;
mod policy;
mod proxy;
mod reject;
mod routes;
mod server;
mod step;

pub use endpoints::{ADMIN_TOKEN_ENV, ADMIN_TOKEN_FILE_ENV, AdminToken, endpoints};
pub use layer::{OpsLayer, OpsService, ResponseFuture};
pub use proxy::Upstream;
pub use server::serve;
