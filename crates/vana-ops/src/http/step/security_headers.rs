//! Security headers: the configured headers on every response, `Strict-Transport-Security` only to HTTPS
//! requests, and `Server` and `X-Powered-By` removed (`http.security_headers`).

use http::HeaderMap;
use vana_security::Scheme;

use crate::ops::Ops;

/// The security-headers step.
pub(crate) struct SecurityHeaders {
    ops: Ops,
}

impl SecurityHeaders {
    pub(crate) fn new(ops: &Ops) -> Self {
        Self { ops: ops.clone() }
    }

    /// Runs first on a response: one with few headers of its own starts from the headers' template, which
    /// has room for those the later steps add.
    pub(crate) fn apply(&self, response: &mut HeaderMap, https: bool) {
        let scheme = if https { Scheme::Https } else { Scheme::Http };
        self.ops.security().headers().apply(response, scheme);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::step::test_ops;

    #[test]
    fn hsts_follows_the_scheme_and_revealing_headers_go() {
        let step = SecurityHeaders::new(&test_ops(
            "headers:\n  security_headers:\n    Strict-Transport-Security: max-age=63072000\n    X-Frame-Options: DENY\n",
        ));
        for https in [false, true] {
            let mut response = HeaderMap::new();
            response.insert("server", "uvicorn".parse().unwrap());
            step.apply(&mut response, https);
            assert_eq!(response.contains_key("strict-transport-security"), https);
            assert_eq!(response["x-frame-options"], "DENY");
            assert!(!response.contains_key("server"));
        }
    }
}
