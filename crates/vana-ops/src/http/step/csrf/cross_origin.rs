//! Refusing cross-origin browser requests without a token (`csrf_protection.mode: origin`), as Go's
//! `net/http.CrossOriginProtection` and OWASP's Fetch Metadata guidance do: browsers say where a request
//! comes from, in `Sec-Fetch-Site` or, on older ones, `Origin`. A request with neither header is not from a
//! browser (curl, an API client, a server) and cannot be a forged browser request, so it passes.

use http::{HeaderMap, HeaderName, header};

use crate::http::reject::Refusal;

const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// The origin check of unsafe requests.
#[derive(Debug, Clone, Default)]
pub(crate) struct CrossOrigin {
    /// `scheme://host[:port]`, lowercase, as browsers serialize origins.
    trusted: Vec<Box<str>>,
}

impl CrossOrigin {
    pub(crate) fn new(trusted_origins: &[String]) -> Self {
        Self { trusted: trusted_origins.iter().map(|origin| origin.to_ascii_lowercase().into()).collect() }
    }

    /// A refusal when a browser says the request comes from another origin that is not trusted. `host` is
    /// the request's `Host` (or its URI authority).
    pub(crate) fn check(&self, headers: &HeaderMap, host: Option<&str>) -> Result<(), Refusal> {
        let origin = headers.get(header::ORIGIN).and_then(|value| value.to_str().ok());
        match headers.get(SEC_FETCH_SITE).map(|value| value.as_bytes()) {
            // `none`: the user typed the address or followed a bookmark.
            Some(b"same-origin" | b"none") => return Ok(()),
            Some(_) => return if self.is_trusted(origin) { Ok(()) } else { Err(Refusal::CrossOrigin) },
            None => {}
        }
        let Some(origin) = origin else { return Ok(()) };
        let origin_host = origin.split_once("://").map(|(_, authority)| authority);
        let same_host =
            matches!((origin_host, host), (Some(from), Some(to)) if from.eq_ignore_ascii_case(to));
        if same_host || self.is_trusted(Some(origin)) { Ok(()) } else { Err(Refusal::CrossOrigin) }
    }

    fn is_trusted(&self, origin: Option<&str>) -> bool {
        origin.is_some_and(|origin| self.trusted.iter().any(|trusted| trusted.eq_ignore_ascii_case(origin)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(headers: &[(&str, &str)], host: &str) -> Result<(), Refusal> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        CrossOrigin::new(&["https://app.example.com".to_owned()]).check(&map, Some(host))
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        assert_eq!(check(&[("sec-fetch-site", "same-origin")], "api.example.com"), Ok(()));
        assert_eq!(check(&[("sec-fetch-site", "none")], "api.example.com"), Ok(()));
        assert_eq!(check(&[("sec-fetch-site", "cross-site")], "api.example.com"), Err(Refusal::CrossOrigin));
        assert_eq!(check(&[("sec-fetch-site", "same-site")], "api.example.com"), Err(Refusal::CrossOrigin));
        // A trusted origin may cross.
        let trusted = [("sec-fetch-site", "cross-site"), ("origin", "https://app.example.com")];
        assert_eq!(check(&trusted, "api.example.com"), Ok(()));
        // Fetch metadata wins over a matching Origin: a same-host Origin cannot excuse a cross-site request.
        let forged = [("sec-fetch-site", "cross-site"), ("origin", "http://api.example.com")];
        assert_eq!(check(&forged, "api.example.com"), Err(Refusal::CrossOrigin));
    }

    #[test]
    fn origin_against_host_when_fetch_metadata_is_absent() {
        assert_eq!(check(&[("origin", "http://api.example.com:8080")], "api.example.com:8080"), Ok(()));
        assert_eq!(check(&[("origin", "http://API.example.com")], "api.example.com"), Ok(()));
        assert_eq!(
            check(&[("origin", "https://evil.example")], "api.example.com"),
            Err(Refusal::CrossOrigin)
        );
        assert_eq!(check(&[("origin", "null")], "api.example.com"), Err(Refusal::CrossOrigin));
        assert_eq!(check(&[("origin", "https://app.example.com")], "api.example.com"), Ok(()));
    }

    #[test]
    fn requests_without_browser_headers_pass() {
        assert_eq!(check(&[], "api.example.com"), Ok(()));
        assert_eq!(check(&[("user-agent", "python-requests/2.32")], "api.example.com"), Ok(()));
    }
}
