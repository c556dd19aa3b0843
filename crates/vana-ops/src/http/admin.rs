//! What the admin routes of the endpoints and of the dashboard share: the admin token, the record of a
//! failed attempt, and lifting a block.

use std::net::SocketAddr;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use vana_security::{SecurityEvent, Severity};

use crate::error::OpsError;
use crate::ops::Ops;

/// The environment variable with the admin token of `/security/events`.
pub const ADMIN_TOKEN_ENV: &str = "VANA_ADMIN_TOKEN";
/// The environment variable naming a file whose first line is the admin token.
pub const ADMIN_TOKEN_FILE_ENV: &str = "VANA_ADMIN_TOKEN_FILE";
/// The environment variable with the bearer token `/metrics` asks for (none: `/metrics` is open).
pub const METRICS_TOKEN_ENV: &str = "VANA_METRICS_TOKEN";
/// The environment variable naming a file whose first line is the metrics token.
pub const METRICS_TOKEN_FILE_ENV: &str = "VANA_METRICS_TOKEN_FILE";
/// Shortest admin token accepted: shorter ones would be guessable.
const MIN_ADMIN_TOKEN_BYTES: usize = 16;

/// The bearer token that opens `/security/events`. Only its SHA-256 is kept; it is never logged.
#[derive(Clone)]
pub struct AdminToken {
    digest: [u8; 32],
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken([REDACTED])")
    }
}

impl AdminToken {
    /// Whether `given` is the token (compared in constant time).
    pub(crate) fn is(&self, given: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(given.trim().as_bytes()).into();
        digest.ct_eq(&self.digest).into()
    }

    /// A token given directly; `None` when shorter than 16 bytes.
    pub fn new(token: &str) -> Option<Self> {
        let token = token.trim();
        (token.len() >= MIN_ADMIN_TOKEN_BYTES)
            .then(|| Self { digest: Sha256::digest(token.as_bytes()).into() })
    }

    /// `VANA_ADMIN_TOKEN`, or the first line of the file named by `VANA_ADMIN_TOKEN_FILE`. `Ok(None)` when
    /// neither is set (the route is then off); an error names the variable, never the token.
    pub fn from_env() -> Result<Option<Self>, OpsError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The same from any variable lookup (for tests and embedding).
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, OpsError> {
        Self::from_named_vars(ADMIN_TOKEN_ENV, ADMIN_TOKEN_FILE_ENV, lookup)
    }

    /// The token in variable `token_env`, or the first line of the file named by `file_env`.
    pub(crate) fn from_named_vars(
        token_env: &str,
        file_env: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, OpsError> {
        let token = match (lookup(token_env), lookup(file_env)) {
            (Some(token), _) => token,
            (None, Some(path)) => std::fs::read_to_string(&path)
                .map_err(OpsError::AdminTokenFile)?
                .lines()
                .next()
                .unwrap_or("")
                .to_owned(),
            _ => return Ok(None),
        };
        Self::new(&token).map(Some).ok_or(OpsError::AdminTokenTooShort { min_bytes: MIN_ADMIN_TOKEN_BYTES })
    }

    /// Whether `Authorization: Bearer <token>` carries this token (compared in constant time; the scheme's
    /// name in any case, as RFC 9110 §11.1 says).
    pub(crate) fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(given) = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token)
        else {
            return false;
        };
        self.is(given)
    }
}

/// The metrics token from `VANA_METRICS_TOKEN` or `VANA_METRICS_TOKEN_FILE`, if set.
pub(crate) fn metrics_token_from_env() -> Result<Option<AdminToken>, OpsError> {
    AdminToken::from_named_vars(METRICS_TOKEN_ENV, METRICS_TOKEN_FILE_ENV, |name| std::env::var(name).ok())
}

/// A wrong or missing admin token: an `admin_auth_failed` event, and a strike toward blocking its source.
pub(crate) fn record_auth_failure(ops: &Ops, headers: &HeaderMap, peer: Option<SocketAddr>) {
    let security = ops.security();
    let client = peer.map(|peer| security.client_addresses().resolve(peer.ip(), headers));
    security.log_security_event(SecurityEvent::new("admin_auth_failed", Severity::Medium, client));
    if let Some(client) = client {
        security.record_refused_attack(client);
    }
}

/// Lifts the block of `address` (an address lifts the block of its network; a network as listed, such as
/// `2001:db8:1:2::/64`, works too), records an `ip_unblocked` event naming who did it (`by`), and answers
/// whether it was blocked.
pub(crate) fn lift(ops: &Ops, address: &str, by: &'static str) -> Response {
    let parsed = address
        .parse::<std::net::IpAddr>()
        .or_else(|_| address.parse::<ipnet::IpNet>().map(|net| net.network()));
    let Ok(address) = parsed else {
        let body = serde_json::json!({ "error": "not an IPv4 or IPv6 address or network" });
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    };
    let security = ops.security();
    let was_blocked = security.blocklist().unblock(address);
    security.log_security_event(
        SecurityEvent::new("ip_unblocked", Severity::Low, Some(address))
            .detail("was_blocked", was_blocked)
            .detail("by", by),
    );
    axum::Json(serde_json::json!({ "address": address.to_string(), "was_blocked": was_blocked }))
        .into_response()
}
