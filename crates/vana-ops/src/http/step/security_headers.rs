//! Security headers: the configured headers on every response that does not set them itself,
//! `Strict-Transport-Security` only to HTTPS requests, and `Server` and `X-Powered-By` removed
//! (`http.security_headers`); a route of `http.route_settings` may have headers of its own.

use std::collections::HashMap;

use http::HeaderMap;
use vana_security::Scheme;

use crate::ops::Ops;

/// The security-headers step.
pub(crate) struct SecurityHeaders {
    ops: Ops,
    /// The routes with headers of their own; empty for most services, and then never looked up.
    by_route: HashMap<Box<str>, vana_security::SecurityHeaders>,
}

impl SecurityHeaders {
    pub(crate) fn new(ops: &Ops, config: &vana_config::HttpLayer) -> Self {
        let global = &ops.config().security.headers;
        let by_route = config
            .route_settings
            .iter()
            .filter(|(_, settings)| !settings.security_headers.is_empty())
            .map(|(route, settings)| {
                let mut headers = global.clone();
                headers.security_headers = settings.headers_over(&global.security_headers);
                (route.as_str().into(), vana_security::SecurityHeaders::from_config(&headers))
            })
            .collect();
        Self { ops: ops.clone(), by_route }
    }

    /// Runs first on a response of `route`: one with few headers of its own starts from the headers'
    /// template, which has room for those the later steps add.
    pub(crate) fn apply(&self, response: &mut HeaderMap, https: bool, route: &str) {
        let scheme = if https { Scheme::Https } else { Scheme::Http };
        let own = if self.by_route.is_empty() { None } else { self.by_route.get(route) };
        match own {
            Some(headers) => headers.apply(response, scheme),
            None => self.ops.security().headers().apply(response, scheme),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::step::test_ops;

    #[test]
    fn hsts_follows_the_scheme_and_revealing_headers_go() {
        let ops = test_ops(
            "headers:\n  security_headers:\n    Strict-Transport-Security: max-age=63072000\n    X-Frame-Options: DENY\n",
        );
        let step = SecurityHeaders::new(&ops, &ops.config().security.http);
        for https in [false, true] {
            let mut response = HeaderMap::new();
            response.insert("server", "uvicorn".parse().unwrap());
            step.apply(&mut response, https, "other");
            assert_eq!(response.contains_key("strict-transport-security"), https);
            assert_eq!(response["x-frame-options"], "DENY");
            assert!(!response.contains_key("server"));
        }
    }

    #[test]
    fn a_route_with_headers_of_its_own_gets_them_and_the_upstream_s_own_stay() {
        let ops = test_ops(concat!(
            "http:\n  route_templates: [\"/ui/{*path}\"]\n  route_settings:\n    \"/ui/{*path}\":\n",
            "      security_headers:\n        Content-Security-Policy: \"default-src 'self' 'unsafe-inline'\"\n",
            "        X-Frame-Options: \"\"\n",
        ));
        let step = SecurityHeaders::new(&ops, &ops.config().security.http);
        let mut page = HeaderMap::new();
        step.apply(&mut page, false, "/ui/{*path}");
        assert_eq!(page["content-security-policy"], "default-src 'self' 'unsafe-inline'");
        assert!(!page.contains_key("x-frame-options"));
        assert_eq!(page["x-content-type-options"], "nosniff", "the global ones the route does not name stay");
        let mut api = HeaderMap::new();
        step.apply(&mut api, false, "other");
        assert_eq!(api["content-security-policy"], "default-src 'self'; frame-ancestors 'none'");
        let mut own = HeaderMap::new();
        own.insert("content-security-policy", "script-src 'nonce-abc'".parse().unwrap());
        step.apply(&mut own, false, "/ui/{*path}");
        assert_eq!(own["content-security-policy"], "script-src 'nonce-abc'", "the upstream's own stays");
    }
}
