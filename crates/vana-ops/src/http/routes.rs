//! Naming a request by its route template, so metrics and logs have bounded cardinality. A route also
//! keeps its response-time handles by method and status code, so recording a duration needs no lookup by
//! name.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::extract::MatchedPath;
use http::{Method, StatusCode};
use parking_lot::RwLock;
use vana_metrics::OperationHandle;

use crate::error::OpsError;
use crate::http::path::normalized;

/// Requests that match no known route share this name.
pub(crate) const OTHER_ROUTE: &str = "other";

/// Most distinct matched paths (axum routes) named; past it, new ones are `other`. A router has a fixed
/// set of routes, so the cap only matters if many routers share one layer.
const MAX_MATCHED_ROUTES: usize = 1024;

/// The method labels (the monitor's, so a Python service labels methods the same way).
pub(crate) const METHODS: [&str; 8] = vana_metrics::HTTP_METHODS;

/// The status codes with a handle slot of their own on every route and method, ascending; a response with
/// another code is recorded by name (a lookup, still bounded by the monitor's series cap).
const STATUSES: [u16; 32] = [
    200, 201, 202, 204, 206, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 405, 406, 408, 409, 410, 411,
    413, 414, 415, 422, 429, 431, 500, 501, 502, 503, 504,
];

/// The handles of one method, by the position of the status code in [`STATUSES`].
type StatusTimers = [OnceLock<Option<OperationHandle>>; STATUSES.len()];

/// One named route and what each request of it records into.
pub(crate) struct Route {
    name: Box<str>,
    /// The `response_time.<route>` handle of each method and status code, made by the first request that
    /// needs it (the table of a method on its first request); `None` once the monitor's series cap
    /// refused it.
    timers: [OnceLock<Box<StatusTimers>>; METHODS.len()],
}

impl Route {
    fn new(name: &str) -> Arc<Self> {
        Arc::new(Self { name: name.into(), timers: Default::default() })
    }

    /// The template, or `other`.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The response-time handle of `method` and `status` on this route, made with `make` (given the method's
    /// label) the first time; `None` for a status without a slot, or past the series cap.
    pub(crate) fn timer(
        &self,
        method: &Method,
        status: StatusCode,
        make: impl FnOnce(&'static str) -> Option<OperationHandle>,
    ) -> Option<&OperationHandle> {
        let slot = STATUSES.binary_search(&status.as_u16()).ok()?;
        let index = method_index(method);
        let by_status = self.timers[index].get_or_init(Box::default);
        by_status[slot].get_or_init(|| make(METHODS[index])).as_ref()
    }
}

/// The label of `method` in [`METHODS`].
pub(crate) fn method_label(method: &Method) -> &'static str {
    METHODS[method_index(method)]
}

fn method_index(method: &Method) -> usize {
    match *method {
        Method::GET => 0,
        Method::POST => 1,
        Method::PUT => 2,
        Method::PATCH => 3,
        Method::DELETE => 4,
        Method::HEAD => 5,
        Method::OPTIONS => 6,
        _ => 7,
    }
}

/// Route templates from the `http.route_templates` setting, and axum's own when present.
pub(crate) struct RouteNamer {
    templates: matchit::Router<Arc<Route>>,
    matched: RwLock<HashMap<Box<str>, Arc<Route>>>,
    other: Arc<Route>,
}

impl RouteNamer {
    /// A namer over `templates`; a template that conflicts with an earlier one is an error.
    pub(crate) fn new<'a>(templates: impl IntoIterator<Item = &'a str>) -> Result<Self, OpsError> {
        let mut router = matchit::Router::new();
        let mut known = std::collections::HashSet::new();
        // The same template twice (configured and given by the application) is one route.
        for template in templates.into_iter().filter(|template| known.insert(*template)) {
            router
                .insert(template, Route::new(template))
                .map_err(|source| OpsError::RouteTemplate { template: template.to_owned(), source })?;
        }
        Ok(Self { templates: router, matched: RwLock::default(), other: Route::new(OTHER_ROUTE) })
    }

    /// axum's matched route when the layer runs inside a `Router`, else the first configured template
    /// that matches the normalized path (so `/run/../admin` is not `/run/{*rest}`), else `other`.
    pub(crate) fn route(&self, parts: &http::request::Parts) -> Arc<Route> {
        if let Some(matched) = parts.extensions.get::<MatchedPath>() {
            return self.matched(matched.as_str());
        }
        match self.templates.at(&normalized(parts.uri.path())) {
            Ok(found) => Arc::clone(found.value),
            Err(_) => Arc::clone(&self.other),
        }
    }

    fn matched(&self, path: &str) -> Arc<Route> {
        if let Some(route) = self.matched.read().get(path) {
            return Arc::clone(route);
        }
        let mut matched = self.matched.write();
        if let Some(route) = matched.get(path) {
            return Arc::clone(route);
        }
        if matched.len() >= MAX_MATCHED_ROUTES {
            return Arc::clone(&self.other);
        }
        let route = Route::new(path);
        matched.insert(path.into(), Arc::clone(&route));
        route
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(path: &str) -> http::request::Parts {
        http::Request::get(path).body(()).unwrap().into_parts().0
    }

    fn name(namer: &RouteNamer, path: &str) -> String {
        namer.route(&parts(path)).name().to_owned()
    }

    #[test]
    fn names_by_template_and_falls_back_to_other() {
        let namer = RouteNamer::new(["/agents/{id}", "/static/{*path}", "/chat", "/chat"]).unwrap();
        assert_eq!(name(&namer, "/agents/42"), "/agents/{id}");
        assert_eq!(name(&namer, "/static/a/b.css"), "/static/{*path}");
        assert_eq!(name(&namer, "/chat"), "/chat");
        assert_eq!(name(&namer, "/agents/42/extra"), OTHER_ROUTE);
        assert_eq!(name(&namer, "/anything-else"), OTHER_ROUTE);
        assert_eq!(name(&namer, "/static/../agents/7"), "/agents/{id}", "named as the service will see it");
        assert_eq!(name(&namer, "/chat/../admin"), OTHER_ROUTE);
    }

    #[test]
    fn matched_paths_are_named_by_their_text_and_capped() {
        let namer = RouteNamer::new([]).unwrap();
        let first = namer.matched("/kept/{id}");
        assert!(Arc::ptr_eq(&first, &namer.matched("/kept/{id}")), "one route per matched path");
        for index in 1..MAX_MATCHED_ROUTES {
            assert_eq!(namer.matched(&format!("/r{index}")).name(), format!("/r{index}"));
        }
        assert_eq!(namer.matched("/one-too-many").name(), OTHER_ROUTE);
        assert_eq!(namer.matched("/kept/{id}").name(), "/kept/{id}", "known routes keep their name");
    }

    #[test]
    fn conflicting_templates_are_an_error() {
        let error = RouteNamer::new(["/a/{id}", "/a/{name}"]).err().unwrap();
        assert!(error.to_string().contains("/a/{name}"), "{error}");
        let source = std::error::Error::source(&error).unwrap().to_string();
        assert!(source.contains("conflict") && source.contains("/a/{id}"), "{source}");
    }

    #[test]
    fn a_route_makes_one_timer_per_method_and_status_and_keeps_a_refusal() {
        let route = Route::new("/x");
        let monitor = vana_metrics::PerformanceMonitor::new(&vana_config::MonitoringConfig::default());
        let mut made = Vec::new();
        let ok = StatusCode::OK;
        for (method, status) in [
            (Method::GET, ok),
            (Method::GET, ok),
            (Method::GET, StatusCode::TOO_MANY_REQUESTS),
            (Method::from_bytes(b"PURGE").unwrap(), ok),
            (Method::TRACE, ok),
        ] {
            route.timer(&method, status, |label| {
                made.push((label, status.as_u16()));
                monitor.http_request("/x", label, status.as_str())
            });
        }
        assert_eq!(made, [("GET", 200), ("GET", 429), ("other", 200)], "extension methods share `other`");
        assert!(route.timer(&Method::POST, ok, |_| None).is_none());
        assert!(route.timer(&Method::POST, ok, |_| panic!("made twice")).is_none());
        let unlisted = StatusCode::from_u16(418).unwrap();
        assert!(route.timer(&Method::GET, unlisted, |_| panic!("no slot")).is_none());
        assert!(STATUSES.windows(2).all(|pair| pair[0] < pair[1]), "binary search needs ascending codes");
    }
}
