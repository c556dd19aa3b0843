//! Naming a request by its route template, so metrics and logs have bounded cardinality.

use std::sync::Arc;

use axum::extract::MatchedPath;

/// Requests that match no known route share this name.
pub(crate) const OTHER_ROUTE: &str = "other";

/// Route templates from the `http.route_templates` setting, and axum's own when present.
pub(crate) struct RouteNamer {
    templates: matchit::Router<Arc<str>>,
    other: Arc<str>,
}

impl RouteNamer {
    /// A namer over `templates`; a template that conflicts with an earlier one is an error.
    pub(crate) fn new(templates: &[String]) -> Result<Self, String> {
        let mut router = matchit::Router::new();
        for template in templates {
            router
                .insert(template.as_str(), Arc::from(template.as_str()))
                .map_err(|error| format!("route template `{template}`: {error}"))?;
        }
        Ok(Self { templates: router, other: Arc::from(OTHER_ROUTE) })
    }

    /// axum's matched route when the layer runs inside a `Router`, else the first configured template
    /// that matches, else `other`.
    pub(crate) fn name(&self, parts: &http::request::Parts) -> Arc<str> {
        if let Some(matched) = parts.extensions.get::<MatchedPath>() {
            return Arc::from(matched.as_str());
        }
        match self.templates.at(parts.uri.path()) {
            Ok(found) => Arc::clone(found.value),
            Err(_) => Arc::clone(&self.other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(path: &str) -> http::request::Parts {
        http::Request::get(path).body(()).unwrap().into_parts().0
    }

    #[test]
    fn names_by_template_and_falls_back_to_other() {
        let namer =
            RouteNamer::new(&["/agents/{id}".into(), "/static/{*path}".into(), "/chat".into()]).unwrap();
        assert_eq!(&*namer.name(&parts("/agents/42")), "/agents/{id}");
        assert_eq!(&*namer.name(&parts("/static/a/b.css")), "/static/{*path}");
        assert_eq!(&*namer.name(&parts("/chat")), "/chat");
        assert_eq!(&*namer.name(&parts("/agents/42/extra")), OTHER_ROUTE);
        assert_eq!(&*namer.name(&parts("/anything-else")), OTHER_ROUTE);
    }

    #[test]
    fn conflicting_templates_are_an_error() {
        let error = RouteNamer::new(&["/a/{id}".into(), "/a/{name}".into()]).err().unwrap();
        assert!(error.contains("/a/{name}"), "{error}");
    }
}
