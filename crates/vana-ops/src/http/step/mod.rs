//! The layer's steps, one module each, in the order a request meets them. Each holds what it needs from
//! `Ops` and the `http` section, is off when its switch is, and has its own tests; `pipeline.rs`
//! composes them.

pub(crate) mod access_log;
pub(crate) mod blocklist;
pub(crate) mod client_address;
pub(crate) mod completion;
pub(crate) mod correlation;
pub(crate) mod csrf;
pub(crate) mod gen_ai;
pub(crate) mod rate_limit;
pub(crate) mod route_metrics;
pub(crate) mod security_headers;
pub(crate) mod token_budget;
#[cfg(feature = "otel")]
pub(crate) mod trace_context;
pub(crate) mod validation;

use std::sync::Arc;
use std::time::Instant;

use http::Method;
use http::uri::PathAndQuery;
use vana_logging::CorrelationId;

use crate::http::routes::Route;
use crate::http::step::client_address::Client;

/// What the steps after the inner service know of the request.
pub(crate) struct Exchange {
    pub(crate) id: CorrelationId,
    pub(crate) route: Arc<Route>,
    pub(crate) method: Method,
    /// The request's path and query; shares the request's buffer: no copy of the path.
    pub(crate) path_and_query: Option<PathAndQuery>,
    pub(crate) client: Option<Client>,
    pub(crate) https: bool,
    pub(crate) started: Instant,
    /// Who spends which token budget, once the checks found them.
    pub(crate) spenders: Option<Box<token_budget::Spenders>>,
    /// The request's server span, kept open to the response's end (`Span::none()` without traces).
    #[cfg(feature = "otel")]
    pub(crate) span: tracing::Span,
}

/// An `Ops` of the embedded defaults with `security_yaml` over them, for the steps' tests.
#[cfg(test)]
pub(crate) fn test_ops(security_yaml: &str) -> crate::Ops {
    test_builder(security_yaml).build().unwrap()
}

/// The same with rate limits and blocks on `clock`.
#[cfg(test)]
pub(crate) fn test_ops_on(security_yaml: &str, clock: vana_security::ManualClock) -> crate::Ops {
    test_builder(security_yaml).security_clock(std::sync::Arc::new(clock)).build().unwrap()
}

#[cfg(test)]
fn test_builder(security_yaml: &str) -> crate::OpsBuilder {
    let mut loader = vana_config::ConfigLoader::new();
    if !security_yaml.is_empty() {
        loader = loader.document_str(vana_config::Document::Security, "test", security_yaml);
    }
    let loaded = loader.load().unwrap_or_else(|error| panic!("{error}"));
    crate::Ops::builder(loaded).install_logging(false).start_collector(false)
}

impl Exchange {
    /// The request's path, without the query.
    pub(crate) fn path(&self) -> &str {
        self.path_and_query.as_ref().map_or("/", PathAndQuery::path)
    }
}
