//! Naming a request by its route template, so metrics and logs have bounded cardinality.

use std::cell::Cell;

use axum::extract::MatchedPath;

/// Requests that match no known route share this name.
pub(crate) const OTHER_ROUTE: &str = "other";

/// Route templates from the `http.route_templates` setting, and axum's own when present.
///
/// Names are static text (`vana_config::static_text`): a request carries its route name without an
/// allocation or a shared reference count. Past the process's cap of static texts, new names are `other`.
pub(crate) struct RouteNamer {
    templates: matchit::Router<&'static str>,
}

/// Slots of the per-thread cache from axum's matched path to its static name.
const RECENT_SLOTS: usize = 32;

thread_local! {
    /// Matched paths seen lately on this thread, by address: axum keeps each route's path in one place
    /// for the router's life, so the address finds it again without hashing the text.
    static RECENT: [Cell<(usize, &'static str)>; RECENT_SLOTS] = const { [const { Cell::new((0, "")) }; RECENT_SLOTS] };
}

/// The static name of axum's matched path `path`.
fn matched_name(path: &str) -> &'static str {
    let address = path.as_ptr() as usize;
    let slot = (address >> 4) % RECENT_SLOTS;
    RECENT.with(|recent| {
        let (known_address, name) = recent[slot].get();
        // The text is compared too: another router may have reused the address for another path.
        if known_address == address && name == path {
            return name;
        }
        let name = vana_config::static_text(path).unwrap_or(OTHER_ROUTE);
        recent[slot].set((address, name));
        name
    })
}

impl RouteNamer {
    /// A namer over `templates`; a template that conflicts with an earlier one is an error.
    pub(crate) fn new<'a>(templates: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut router = matchit::Router::new();
        let mut known = std::collections::HashSet::new();
        // The same template twice (configured and given by the application) is one route.
        for template in templates.into_iter().filter(|template| known.insert(*template)) {
            router
                .insert(template, vana_config::static_text(template).unwrap_or(OTHER_ROUTE))
                .map_err(|error| format!("route template `{template}`: {error}"))?;
        }
        Ok(Self { templates: router })
    }

    /// axum's matched route when the layer runs inside a `Router`, else the first configured template
    /// that matches, else `other`.
    pub(crate) fn name(&self, parts: &http::request::Parts) -> &'static str {
        if let Some(matched) = parts.extensions.get::<MatchedPath>() {
            return matched_name(matched.as_str());
        }
        match self.templates.at(parts.uri.path()) {
            Ok(found) => found.value,
            Err(_) => OTHER_ROUTE,
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
        let namer = RouteNamer::new(["/agents/{id}", "/static/{*path}", "/chat", "/chat"]).unwrap();
        assert_eq!(namer.name(&parts("/agents/42")), "/agents/{id}");
        assert_eq!(namer.name(&parts("/static/a/b.css")), "/static/{*path}");
        assert_eq!(namer.name(&parts("/chat")), "/chat");
        assert_eq!(namer.name(&parts("/agents/42/extra")), OTHER_ROUTE);
        assert_eq!(namer.name(&parts("/anything-else")), OTHER_ROUTE);
    }

    #[test]
    fn matched_paths_are_named_by_their_text_whatever_the_cache_holds() {
        // Distinct texts, some at reused addresses (each `String` freed before the next is made).
        for round in 0..3 {
            for index in 0..(RECENT_SLOTS * 3) {
                let path = format!("/matched/{index}/{{id}}");
                assert_eq!(matched_name(&path), path, "round {round}");
            }
        }
        let kept = String::from("/kept/{id}");
        assert!(std::ptr::eq(matched_name(&kept), matched_name(&kept)));
    }

    #[test]
    fn conflicting_templates_are_an_error() {
        let error = RouteNamer::new(["/a/{id}", "/a/{name}"]).err().unwrap();
        assert!(error.contains("/a/{name}"), "{error}");
    }
}
