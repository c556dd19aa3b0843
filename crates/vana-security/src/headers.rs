//! Security headers for responses, from the `headers` section.

use http::{HeaderMap, HeaderName, HeaderValue};
use vana_config::Headers;

/// Headers that tell attackers what runs the service; removed from responses.
const REVEALING: [&str; 3] = ["server", "x-powered-by", "x-aspnet-version"];

/// The configured security headers, parsed once.
///
/// ```
/// use vana_security::SecurityHeaders;
///
/// let headers = SecurityHeaders::from_config(&vana_config::Headers::default());
/// let mut response = http::HeaderMap::new();
/// response.insert("x-frame-options", "SAMEORIGIN".parse().unwrap()); // the handler's choice stays
/// response.insert("server", "nginx/1.2.3".parse().unwrap());
/// headers.apply(&mut response);
/// assert_eq!(response["x-frame-options"], "SAMEORIGIN");
/// assert_eq!(response["x-xss-protection"], "0");
/// assert!(response.get("server").is_none());
/// ```
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl SecurityHeaders {
    /// The headers of the configuration; entries that are not valid HTTP are left out (configuration
    /// validation reports them).
    pub fn from_config(config: &Headers) -> Self {
        let headers = config
            .security_headers
            .iter()
            .filter_map(|(name, value)| {
                Some((HeaderName::from_bytes(name.as_bytes()).ok()?, HeaderValue::from_str(value).ok()?))
            })
            .collect();
        Self { headers }
    }

    /// Adds every configured header the response does not set itself, and removes `Server`,
    /// `X-Powered-By` and `X-AspNet-Version`.
    pub fn apply(&self, response: &mut HeaderMap) {
        response.reserve(self.headers.len());
        for (name, value) in &self.headers {
            // One lookup per header: the entry is filled only when the application left it vacant.
            if let http::header::Entry::Vacant(vacant) = response.entry(name) {
                vacant.insert(value.clone());
            }
        }
        for name in REVEALING {
            response.remove(name);
        }
    }

    /// How many headers are configured.
    pub fn len(&self) -> usize {
        self.headers.len()
    }

    /// Whether no header is configured.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    /// The configured headers.
    pub fn iter(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.headers.iter().map(|(name, value)| (name, value))
    }
}
