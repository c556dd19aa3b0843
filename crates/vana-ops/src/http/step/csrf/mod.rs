//! CSRF (`csrf_protection.require_csrf`): unsafe cross-site requests are refused. In `origin` mode (the
//! default) by what the browser says of the request's origin, with no token; in `token` mode unsafe methods
//! need a token bound to the session cookie, sent in a header or a form field, and `GET` on the token route
//! hands tokens out.

mod cross_origin;

use std::time::Duration;

use axum::body::Body;
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, header};
use vana_config::{CsrfMode, CsrfProtection, HttpLayer};
use vana_security::{CsrfKeyError, CsrfKeys, CsrfTokens};

use crate::http::body::{BodyKind, form_field};
use crate::http::path::{PathPrefixes, normalized};
use crate::http::reject::Refusal;
use cross_origin::CrossOrigin;

/// The CSRF step.
pub(crate) struct Csrf {
    /// Origin mode: the check of every unsafe request; `None` in token mode.
    cross_origin: Option<CrossOrigin>,
    /// The check of WebSocket handshakes in either mode: a browser cannot send a token with one, and a
    /// cross-site one is a hijacking (CSWSH).
    websocket_origin: CrossOrigin,
    tokens: CsrfTokens,
    max_age: Duration,
    required: bool,
    header: HeaderName,
    form_field: String,
    cookie: String,
    token_path: String,
    exempt: PathPrefixes,
}

/// Whether a method changes state (and so needs a token).
fn is_unsafe(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
}

impl Csrf {
    /// The guard of `protection` and `http`, with keys from the environment. Without keys, tokens are signed
    /// with a random key of this process (warned about: tokens then do not survive a restart and are not
    /// shared by a fleet).
    pub(crate) fn new(protection: &CsrfProtection, http: &HttpLayer) -> Result<Self, CsrfKeyError> {
        Ok(Self::with_keys(protection, http, Self::keys_from_env(protection)?))
    }

    fn keys_from_env(protection: &CsrfProtection) -> Result<CsrfKeys, CsrfKeyError> {
        match CsrfKeys::from_env() {
            Ok(keys) => Ok(keys),
            Err(CsrfKeyError::Missing) => {
                if protection.require_csrf && protection.mode == CsrfMode::Token {
                    tracing::warn!(
                        target: "vana_ops",
                        "no CSRF key in the environment (VANA_CSRF_KEY or VANA_CSRF_KEY_FILE): tokens are signed with a random key of this process and will not survive a restart"
                    );
                }
                let random: [u8; 32] = rand::random();
                CsrfKeys::new(&random, None)
            }
            Err(other) => Err(other),
        }
    }

    /// The guard of `protection` and `http` signing with `keys`.
    fn with_keys(protection: &CsrfProtection, http: &HttpLayer, keys: CsrfKeys) -> Self {
        Self {
            cross_origin: (protection.mode == CsrfMode::Origin)
                .then(|| CrossOrigin::new(&protection.trusted_origins)),
            websocket_origin: CrossOrigin::new(&protection.trusted_origins),
            tokens: CsrfTokens::new(keys, protection.token_max_age(), protection.accept_legacy_tokens),
            max_age: protection.token_max_age(),
            required: protection.require_csrf,
            header: HeaderName::from_bytes(http.csrf_header.as_bytes())
                .unwrap_or(HeaderName::from_static("x-csrf-token")),
            form_field: http.csrf_form_field.clone(),
            cookie: http.session_cookie.clone(),
            token_path: http.csrf_token_path.clone(),
            exempt: PathPrefixes::new(&http.csrf_exempt_paths),
        }
    }

    /// Whether the request asks for a token (token mode).
    pub(crate) fn is_token_request(&self, parts: &Parts) -> bool {
        self.cross_origin.is_none() && parts.method == Method::GET && parts.uri.path() == self.token_path
    }

    /// The answer of the token route: a token for the request's session, and the cookie that starts a
    /// session when it has none.
    pub(crate) fn token_response(&self, headers: &HeaderMap) -> Response<Body> {
        let (body, cookie) = self.issue(headers);
        let mut response = Response::new(Body::from(body.to_string()));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(cookie) = cookie {
            headers.insert(header::SET_COOKIE, cookie);
        }
        response
    }

    /// Whether a request is checked at all: an unsafe method on a path that is not exempt, as the service
    /// will see the path.
    fn applies_to(&self, method: &Method, path: &str) -> bool {
        self.required
            && is_unsafe(method)
            && (self.exempt.is_empty() || !self.exempt.covers(&normalized(path)))
    }

    /// The checks a request's head decides: a WebSocket handshake's origin, and for an unsafe method the
    /// origin (origin mode) or whether a token is needed (token mode). The token check that is left, if
    /// any, may need the body (a form field).
    pub(crate) fn check_head<'a>(&'a self, parts: &'a Parts) -> Result<Option<PendingToken<'a>>, Refusal> {
        if crate::http::websocket::is_handshake(&parts.headers) {
            self.check_websocket(parts)?;
        }
        if !self.applies_to(&parts.method, parts.uri.path()) {
            return Ok(None);
        }
        if let Some(verdict) = self.check_origin(parts) {
            return verdict.map(|()| None);
        }
        Ok(Some(PendingToken {
            csrf: self,
            header_token: self.header_token(&parts.headers),
            headers: &parts.headers,
        }))
    }

    /// A WebSocket handshake (a `GET`) from a browser page of another origin that is not trusted is refused,
    /// in either mode, on paths that are not exempt.
    fn check_websocket(&self, parts: &Parts) -> Result<(), Refusal> {
        if !self.required || (!self.exempt.is_empty() && self.exempt.covers(&normalized(parts.uri.path()))) {
            return Ok(());
        }
        self.websocket_origin.check(&parts.headers, host_of(parts))
    }

    /// Origin mode: the check of a request it applies to, decided by its head (`Some`); token mode: `None`,
    /// the token decides.
    fn check_origin(&self, parts: &Parts) -> Option<Result<(), Refusal>> {
        let cross_origin = self.cross_origin.as_ref()?;
        Some(cross_origin.check(&parts.headers, host_of(parts)))
    }

    /// The token in form field `csrf_form_field` of a urlencoded body.
    fn form_token(&self, body: &[u8]) -> Option<String> {
        form_field(body, &self.form_field)
    }

    /// A refusal unless `token` is valid for the request's session.
    fn check(&self, token: Option<&str>, headers: &HeaderMap) -> Result<(), Refusal> {
        if self.is_valid(token, headers) { Ok(()) } else { Err(Refusal::Csrf) }
    }

    /// The token sent in the header, if any.
    fn header_token<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        headers.get(&self.header).and_then(|value| value.to_str().ok())
    }

    /// The session id of the request's cookie.
    fn session<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        cookie_value(headers, &self.cookie)
    }

    /// Whether `token` is valid for the request's session.
    fn is_valid(&self, token: Option<&str>, headers: &HeaderMap) -> bool {
        match (token, self.session(headers)) {
            (Some(token), Some(session)) => self.tokens.validate(token, session),
            _ => false,
        }
    }

    /// The body of the token route and, when the request has no session, the cookie that starts one.
    fn issue(&self, headers: &HeaderMap) -> (serde_json::Value, Option<HeaderValue>) {
        let (session, cookie) = match self.session(headers) {
            Some(session) => (session.to_owned(), None),
            None => {
                let session = uuid::Uuid::new_v4().simple().to_string();
                let cookie = format!("{}={session}; Path=/; HttpOnly; SameSite=Strict", self.cookie);
                (session, HeaderValue::from_str(&cookie).ok())
            }
        };
        let body = serde_json::json!({
            "token": self.tokens.generate(&session),
            "header": self.header.as_str(),
            "form_field": self.form_field,
            "expires_in": self.max_age.as_secs(),
        });
        (body, cookie)
    }
}

/// Token mode: the token check of a request, once its head is known. The token comes from the header, else
/// from a urlencoded body's form field.
pub(crate) struct PendingToken<'a> {
    csrf: &'a Csrf,
    header_token: Option<&'a str>,
    headers: &'a HeaderMap,
}

impl PendingToken<'_> {
    /// Whether the check needs the body: no token in the header, and a form body that may hold one.
    pub(crate) fn needs_body(&self, kind: BodyKind) -> bool {
        self.header_token.is_none() && kind == BodyKind::Form
    }

    /// A refusal unless the header's token, or the form field of `body` (its kind and text, when it was
    /// read), is valid for the session.
    pub(crate) fn check(self, body: Option<(BodyKind, &[u8])>) -> Result<(), Refusal> {
        let form_token = || match body {
            Some((BodyKind::Form, text)) => self.csrf.form_token(text),
            _ => None,
        };
        let token = self.header_token.map(str::to_owned).or_else(form_token);
        self.csrf.check(token.as_deref(), self.headers)
    }
}

/// The request's `Host`, or its URI's authority.
fn host_of(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| parts.uri.authority().map(http::uri::Authority::as_str))
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(http::header::COOKIE, "a=1; vana_session=abc".parse().unwrap());
        headers.append(http::header::COOKIE, "b=2".parse().unwrap());
        assert_eq!(cookie_value(&headers, "vana_session"), Some("abc"));
        assert_eq!(cookie_value(&headers, "b"), Some("2"));
        assert_eq!(cookie_value(&headers, "missing"), None);
        assert_eq!(cookie_value(&headers, "vana"), None);
    }

    fn session_headers(session: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::COOKIE, format!("vana_session={session}").parse().unwrap());
        headers
    }

    fn now() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
    }

    const KEY: [u8; 32] = [7; 32];

    #[test]
    fn token_max_age_from_the_configuration_ends_a_token() {
        let mut protection = CsrfProtection::default();
        protection.token_max_age = 60;
        let guard = Csrf::with_keys(&protection, &HttpLayer::default(), CsrfKeys::new(&KEY, None).unwrap());
        let signer = CsrfTokens::new(CsrfKeys::new(&KEY, None).unwrap(), Duration::from_secs(3600), false);
        let headers = session_headers("s1");
        let recent = signer.generate_at("s1", now() - 30);
        let stale = signer.generate_at("s1", now() - 120);
        assert_eq!(guard.check(Some(&recent), &headers), Ok(()));
        assert_eq!(guard.check(Some(&stale), &headers), Err(Refusal::Csrf), "older than token_max_age");
        assert_eq!(guard.issue(&headers).0["expires_in"], 60);
    }

    #[test]
    fn legacy_tokens_pass_only_when_the_configuration_accepts_them() {
        let legacy = vana_security::generate_legacy_token(&KEY, "s1", now());
        for accept in [false, true] {
            let mut protection = CsrfProtection::default();
            protection.accept_legacy_tokens = accept;
            let keys = CsrfKeys::new(&KEY, None).unwrap();
            let guard = Csrf::with_keys(&protection, &HttpLayer::default(), keys);
            let expected = if accept { Ok(()) } else { Err(Refusal::Csrf) };
            assert_eq!(guard.check(Some(&legacy), &session_headers("s1")), expected, "accept {accept}");
        }
    }

    #[test]
    fn issued_tokens_validate_for_their_session_only() {
        let guard = Csrf::new(&CsrfProtection::default(), &HttpLayer::default()).unwrap();
        let (body, cookie) = guard.issue(&HeaderMap::new());
        let cookie = cookie.unwrap();
        let session_pair = cookie.to_str().unwrap().split(';').next().unwrap().to_owned();
        let mut headers = HeaderMap::new();
        headers.insert(http::header::COOKIE, session_pair.parse().unwrap());
        let token = body["token"].as_str().unwrap();
        assert!(guard.is_valid(Some(token), &headers));
        assert!(!guard.is_valid(None, &headers));
        assert!(!guard.is_valid(Some(token), &HeaderMap::new()));
        let mut other = HeaderMap::new();
        other.insert(http::header::COOKIE, "vana_session=someone-else".parse().unwrap());
        assert!(!guard.is_valid(Some(token), &other));
        assert!(guard.applies_to(&Method::POST, "/x") && !guard.applies_to(&Method::GET, "/x"));
    }
}
