//! Security headers for responses, from the `headers` section.

use http::header::STRICT_TRANSPORT_SECURITY;
use http::{HeaderMap, HeaderName, HeaderValue};
use vana_config::Headers;

/// Headers that tell attackers what runs the service; removed from responses.
const REVEALING: [HeaderName; 3] = [
    http::header::SERVER,
    HeaderName::from_static("x-powered-by"),
    HeaderName::from_static("x-aspnet-version"),
];

/// How the request reached the service: `Strict-Transport-Security` goes only on responses to HTTPS
/// requests (RFC 6797 §7.2: a host must not send it over plain HTTP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// TLS, to this process or to a trusted proxy in front of it.
    Https,
}

/// The configured security headers, parsed once.
///
/// Names and values are kept as static text (interned once per process), so adding them to a response
/// touches no reference count that the threads serving requests would share.
///
/// ```
/// use vana_security::{Scheme, SecurityHeaders};
///
/// let headers = SecurityHeaders::from_config(&vana_config::Headers::default());
/// let mut response = http::HeaderMap::new();
/// response.insert("x-frame-options", "SAMEORIGIN".parse().unwrap()); // the handler's choice stays
/// response.insert("server", "nginx/1.2.3".parse().unwrap());
/// headers.apply(&mut response, Scheme::Http);
/// assert_eq!(response["x-frame-options"], "SAMEORIGIN");
/// assert_eq!(response["x-xss-protection"], "0");
/// assert!(response.get("server").is_none());
/// assert!(response.get("strict-transport-security").is_none()); // HTTPS only
/// ```
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    https: HeaderSet,
    /// The same without `Strict-Transport-Security`.
    http: HeaderSet,
}

#[derive(Debug, Clone)]
struct HeaderSet {
    headers: Vec<(HeaderName, HeaderValue)>,
    /// The headers as a map with room to spare: a response with few headers of its own starts from a
    /// copy of it, which costs less than adding each header.
    template: HeaderMap,
}

/// Responses with at most this many headers start from the template.
const TEMPLATE_UP_TO: usize = 8;
/// Room in the template for the response's own headers and a few more (correlation id, rate limits).
const TEMPLATE_ROOM: usize = 16;

impl SecurityHeaders {
    /// The headers of the configuration; entries that are not valid HTTP are left out (configuration
    /// validation reports them).
    pub fn from_config(config: &Headers) -> Self {
        let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
        for (name, value) in &config.security_headers {
            let (Ok(name), Ok(value)) =
                (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value))
            else {
                continue;
            };
            // Names differing only in case are one header: the first configured wins.
            if !headers.iter().any(|(known, _)| *known == name) {
                headers.push((static_name(name), static_value(value)));
            }
        }
        let plain = headers.iter().filter(|(name, _)| *name != STRICT_TRANSPORT_SECURITY).cloned().collect();
        Self { https: HeaderSet::new(headers), http: HeaderSet::new(plain) }
    }

    /// Adds every configured header the response does not set itself (but `Strict-Transport-Security` to
    /// a plain HTTP request), and removes `Server`, `X-Powered-By` and `X-AspNet-Version`.
    pub fn apply(&self, response: &mut HeaderMap, scheme: Scheme) {
        let set = match scheme {
            Scheme::Https => &self.https,
            Scheme::Http => &self.http,
        };
        if response.keys_len() <= TEMPLATE_UP_TO {
            set.apply_over_template(response);
        } else {
            set.apply_each(response);
        }
    }

    /// How many headers are configured.
    pub fn len(&self) -> usize {
        self.https.headers.len()
    }

    /// Whether no header is configured.
    pub fn is_empty(&self) -> bool {
        self.https.headers.is_empty()
    }

    /// The configured headers.
    pub fn iter(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.https.headers.iter().map(|(name, value)| (name, value))
    }
}

impl HeaderSet {
    fn new(headers: Vec<(HeaderName, HeaderValue)>) -> Self {
        let mut template = HeaderMap::with_capacity(headers.len() + TEMPLATE_ROOM);
        template.extend(headers.iter().cloned());
        Self { headers, template }
    }

    /// The response's own headers put over a copy of the template (theirs replace the configured ones).
    fn apply_over_template(&self, response: &mut HeaderMap) {
        let own = std::mem::replace(response, self.template.clone());
        let mut current: Option<HeaderName> = None;
        let mut revealing = false;
        for (name, value) in own {
            // A name comes with its first value only; the values after it belong to the same name.
            if let Some(name) = name {
                revealing = REVEALING.contains(&name);
                if !revealing {
                    response.insert(name.clone(), value);
                }
                current = Some(name);
            } else if let (Some(name), false) = (&current, revealing) {
                response.append(name.clone(), value);
            }
        }
    }

    /// Each configured header added where the response left it vacant.
    fn apply_each(&self, response: &mut HeaderMap) {
        response.reserve(self.headers.len());
        for (name, value) in &self.headers {
            if let http::header::Entry::Vacant(vacant) = response.entry(name) {
                // The application's own value stays.
                vacant.insert(value.clone());
            }
        }
        for name in &REVEALING {
            response.remove(name);
        }
    }
}

/// `name` backed by static text (a standard name already is).
fn static_name(name: HeaderName) -> HeaderName {
    // The canonical form of a parsed name is valid, so `from_static` accepts it.
    vana_config::static_text(name.as_str()).map_or(name, HeaderName::from_static)
}

/// `value` backed by static text when it is visible ASCII (what `from_static` accepts).
fn static_value(value: HeaderValue) -> HeaderValue {
    let visible = value.as_bytes().iter().all(|&byte| byte == b'\t' || (b' '..=b'~').contains(&byte));
    match value.to_str() {
        Ok(text) if visible => vana_config::static_text(text).map_or(value, HeaderValue::from_static),
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_headers_are_static_and_interned_once() {
        let config = Headers::default();
        let first = SecurityHeaders::from_config(&config);
        let second = SecurityHeaders::from_config(&config);
        for ((name_a, value_a), (name_b, value_b)) in first.iter().zip(second.iter()) {
            assert_eq!(name_a, name_b);
            // The same interned text: one copy per process however often the headers are built.
            assert_eq!(value_a.as_bytes().as_ptr(), value_b.as_bytes().as_ptr());
        }
        assert_eq!(first.len(), config.security_headers.len());
    }

    #[test]
    fn values_outside_visible_ascii_are_kept_as_they_are() {
        let value = HeaderValue::from_bytes(b"caf\xe9").unwrap();
        assert_eq!(static_value(value.clone()), value);
        assert_eq!(static_value(HeaderValue::from_static("a\tb")), "a\tb");
    }

    #[test]
    fn the_application_keeps_its_headers_however_many_it_sets() {
        let headers = SecurityHeaders::from_config(&Headers::default());
        for extra in [0, 40] {
            let mut response = HeaderMap::new();
            response.insert("x-frame-options", HeaderValue::from_static("SAMEORIGIN"));
            response.append("set-cookie", HeaderValue::from_static("a=1"));
            response.append("set-cookie", HeaderValue::from_static("b=2"));
            response.append("x-powered-by", HeaderValue::from_static("php"));
            response.append("x-powered-by", HeaderValue::from_static("asp"));
            response.insert("server", HeaderValue::from_static("nginx"));
            for index in 0..extra {
                response
                    .insert(HeaderName::from_bytes(format!("x-app-{index}").as_bytes()).unwrap(), 1.into());
            }
            headers.apply(&mut response, Scheme::Https);
            assert_eq!(response.get_all("x-frame-options").iter().count(), 1);
            assert_eq!(response["x-frame-options"], "SAMEORIGIN");
            assert!(response.get("server").is_none() && response.get("x-powered-by").is_none());
            assert_eq!(response.len(), 3 + extra + headers.len() - 1, "{extra}");
            let cookies: Vec<_> = response.get_all("set-cookie").iter().collect();
            assert_eq!(cookies, ["a=1", "b=2"]);
            assert_eq!(response["x-content-type-options"], "nosniff");
        }
    }

    #[test]
    fn strict_transport_security_goes_only_to_https_requests() {
        let mut config = Headers::default();
        config.security_headers.insert("Strict-Transport-Security".into(), "max-age=31536000".into());
        let headers = SecurityHeaders::from_config(&config);
        for extra in [0, 40] {
            for (scheme, expected) in [(Scheme::Https, true), (Scheme::Http, false)] {
                let mut response = HeaderMap::new();
                for index in 0..extra {
                    let name = HeaderName::from_bytes(format!("x-app-{index}").as_bytes()).unwrap();
                    response.insert(name, 1.into());
                }
                headers.apply(&mut response, scheme);
                assert_eq!(response.contains_key(STRICT_TRANSPORT_SECURITY), expected, "{scheme:?} {extra}");
                assert_eq!(response["x-content-type-options"], "nosniff");
            }
        }
    }

    #[test]
    fn names_differing_in_case_are_one_header() {
        let mut config = Headers::default();
        config.security_headers.clear();
        config.security_headers.insert("X-Frame-Options".into(), "DENY".into());
        config.security_headers.insert("x-frame-options".into(), "SAMEORIGIN".into());
        let headers = SecurityHeaders::from_config(&config);
        assert_eq!(headers.len(), 1);
        let mut response = HeaderMap::new();
        headers.apply(&mut response, Scheme::Https);
        assert_eq!(response.get_all("x-frame-options").iter().count(), 1);
    }
}
