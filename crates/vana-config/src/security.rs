//! `security_policies.yaml`: input validation, rate limiting, IP blocking, CSRF and response headers.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::checks::{Checker, parse_ip_or_cidr};
use crate::key_path::KeyPath;
use crate::limits;
use crate::scalar_string;

/// The whole security document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct SecurityPolicies {
    /// Limits and patterns for user input.
    pub input_validation: InputValidation,
    /// Requests allowed per client.
    pub rate_limiting: RateLimiting,
    /// Blocking of abusive addresses.
    pub ip_blocking: IpBlocking,
    /// Cross-site request forgery tokens.
    pub csrf_protection: CsrfProtection,
    /// Response headers.
    pub headers: Headers,
    /// Client address resolution behind proxies.
    pub client_address: ClientAddress,
    /// The security event history.
    pub security_events: SecurityEventsConfig,
    /// The HTTP layer's steps and settings.
    pub http: crate::http_layer::HttpLayer,
    /// Where rate limits and blocked addresses live.
    pub backend: crate::backend::Backend,
}

/// `input_validation`: what input is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct InputValidation {
    /// Longest accepted input in bytes (UTF-8), checked before any pattern.
    pub max_input_length: u64,
    /// Extra regular expressions that reject an input (matched case-insensitively), each on its own.
    pub forbidden_patterns: Vec<String>,
    /// The score at which an input is refused: the confidences of the rules that fire in it add up (most
    /// built-in rules are 5, weak signals 2 or 3), in the spirit of the OWASP CRS inbound anomaly score.
    pub anomaly_threshold: u16,
    /// How much counts toward a refusal, like CRS's paranoia levels (1 to 3): at 1, the structures of an
    /// attack breaking out of its context; at 2, also code quoted whole in text (a SQL statement, a
    /// command line, markup, a template tag); at 3, also each weak signal on its own. What does not count
    /// is still a finding (`detect`), never silent.
    pub level: u8,
}

impl Default for InputValidation {
    fn default() -> Self {
        Self { max_input_length: 10_000, forbidden_patterns: Vec::new(), anomaly_threshold: 5, level: 1 }
    }
}

/// `rate_limiting`: a sustained rate of `default_limit` per `window_seconds`, bursts up to `burst_limit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct RateLimiting {
    /// Requests per client per window.
    pub default_limit: u32,
    /// The window, in seconds.
    pub window_seconds: u64,
    /// Requests a client may send back to back.
    pub burst_limit: u32,
    /// Most clients whose rate state is kept; idle ones are forgotten first (they carry no state).
    pub max_tracked_clients: u64,
}

impl RateLimiting {
    /// The window as a duration.
    pub fn window(&self) -> Duration {
        Duration::from_secs(self.window_seconds)
    }
}

impl Default for RateLimiting {
    fn default() -> Self {
        Self { default_limit: 100, window_seconds: 60, burst_limit: 10, max_tracked_clients: 100_000 }
    }
}

/// `ip_blocking`: blocks, their length, and addresses that are never blocked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct IpBlocking {
    /// Block an address after `auto_block_after` refused attacks within `auto_block_window_seconds` (never a
    /// whitelisted address or a trusted proxy, never for `detect` findings).
    pub auto_block: bool,
    /// Refused attacks (requests refused for their input) that block their source.
    pub auto_block_after: u32,
    /// The window those refusals are counted in, in seconds.
    pub auto_block_window_seconds: u64,
    /// How long a block lasts, in hours.
    pub block_duration_hours: u64,
    /// Addresses and CIDR networks, IPv4 or IPv6, that are never blocked.
    pub whitelist: Vec<String>,
    /// Double the block of an address each time it is blocked again, up to `max_block_hours`.
    pub escalate_repeat_offenders: bool,
    /// Longest block after escalation, in hours.
    pub max_block_hours: u64,
    /// Most addresses blocked at once; past this, the block closest to expiring is dropped.
    pub max_blocked: u64,
}

impl IpBlocking {
    /// The block length as a duration.
    pub fn block_duration(&self) -> Duration {
        Duration::from_secs(self.block_duration_hours.saturating_mul(3600))
    }

    /// The auto-block window as a duration.
    pub fn auto_block_window(&self) -> Duration {
        Duration::from_secs(self.auto_block_window_seconds)
    }

    /// The whitelist as networks (a single address is a /32 or /128). Entries that do not parse are
    /// left out; [`validate`](crate::Config::validate) reports them.
    pub fn whitelist_networks(&self) -> Vec<ipnet::IpNet> {
        self.whitelist.iter().filter_map(|entry| parse_ip_or_cidr(entry).ok()).collect()
    }
}

impl Default for IpBlocking {
    fn default() -> Self {
        Self {
            auto_block: true,
            auto_block_after: 5,
            auto_block_window_seconds: 600,
            block_duration_hours: 24,
            whitelist: vec!["127.0.0.1".into(), "::1".into()],
            escalate_repeat_offenders: true,
            max_block_hours: 168,
            max_blocked: 100_000,
        }
    }
}

/// How unsafe cross-site requests are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CsrfMode {
    /// Browsers say where a request comes from (`Sec-Fetch-Site`, else `Origin`): a cross-origin unsafe
    /// request is refused unless its origin is trusted; requests without those headers (API clients,
    /// curl, server to server) pass. No token, no cookie.
    Origin,
    /// A signed token bound to a session cookie, fetched from `http.csrf_token_path`.
    Token,
}

/// `csrf_protection`: whether and how unsafe methods are protected from cross-site requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct CsrfProtection {
    /// Oldest token accepted, in seconds (token mode).
    pub token_max_age: u64,
    /// Protect POST, PUT, PATCH and DELETE.
    pub require_csrf: bool,
    /// `origin` (the default, no token) or `token`.
    pub mode: CsrfMode,
    /// Origins (`https://app.example.com`) whose cross-origin requests are accepted in origin mode.
    pub trusted_origins: Vec<String>,
    /// Also accept the specification's token format (`timestamp:hmac`), for clients not yet moved to the
    /// hardened one.
    pub accept_legacy_tokens: bool,
}

impl CsrfProtection {
    /// The token lifetime as a duration.
    pub fn token_max_age(&self) -> Duration {
        Duration::from_secs(self.token_max_age)
    }
}

impl Default for CsrfProtection {
    fn default() -> Self {
        Self {
            token_max_age: 3600,
            require_csrf: true,
            mode: CsrfMode::Origin,
            trusted_origins: Vec::new(),
            accept_legacy_tokens: false,
        }
    }
}

/// `client_address`: whom to believe about a client's address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ClientAddress {
    /// Proxies (IPs or CIDRs) whose forwarded-for header is believed; empty: the socket address always.
    pub trusted_proxies: Vec<String>,
    /// The header that carries the chain of forwarded addresses.
    pub forwarded_header: String,
    /// IPv4 clients share rate limits, refusal counts and blocks by this prefix (32: one address each).
    pub ipv4_prefix_length: u8,
    /// IPv6 clients share them by this prefix: a host is usually given a whole /64, so one budget per /128
    /// would hand it 2^64 budgets.
    pub ipv6_prefix_length: u8,
    /// What the HTTP layer does with a request that carries no peer address (a server that does not pass
    /// the connection's address on): refuse it, or take the client from `forwarded_header`.
    pub without_peer: WithoutPeer,
}

/// `client_address.without_peer`: the HTTP layer never runs with its address checks silently off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WithoutPeer {
    /// 500 `client_address_unknown`, with the fix in the body and an error log line: the server must pass
    /// the peer on (axum's `into_make_service_with_connect_info::<SocketAddr>()`).
    Refuse,
    /// The client is the last address of `forwarded_header`, set by the proxy in front (a platform whose
    /// server gives no peer address); a request without the header is refused as with `refuse`.
    ForwardedHeader,
}

impl ClientAddress {
    /// The trusted proxies as networks; entries that do not parse are left out (validation reports them).
    pub fn trusted_networks(&self) -> Vec<ipnet::IpNet> {
        self.trusted_proxies.iter().filter_map(|entry| parse_ip_or_cidr(entry).ok()).collect()
    }
}

impl Default for ClientAddress {
    fn default() -> Self {
        Self {
            trusted_proxies: Vec::new(),
            forwarded_header: "X-Forwarded-For".into(),
            ipv4_prefix_length: 32,
            ipv6_prefix_length: 64,
            without_peer: WithoutPeer::Refuse,
        }
    }
}

/// `security_events`: the in-memory history of security events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct SecurityEventsConfig {
    /// Most events kept; the oldest go first. Counters by type and severity cover all events.
    pub max_events: u64,
}

impl Default for SecurityEventsConfig {
    fn default() -> Self {
        Self { max_events: 10_000 }
    }
}

/// `headers`: response headers added by the HTTP layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Headers {
    /// Header name to value. Values may be written as numbers (`X-XSS-Protection: 0`).
    #[serde(deserialize_with = "scalar_string::map")]
    pub security_headers: BTreeMap<String, String>,
}

impl Default for Headers {
    fn default() -> Self {
        let headers = [
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("X-XSS-Protection", "0"),
            ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
            ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"),
            ("Referrer-Policy", "strict-origin-when-cross-origin"),
            ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
            ("Cross-Origin-Opener-Policy", "same-origin"),
        ];
        Self {
            security_headers: headers.into_iter().map(|(name, value)| (name.into(), value.into())).collect(),
        }
    }
}

impl SecurityPolicies {
    pub(crate) fn check(&self, check: &mut Checker) {
        let root = KeyPath::root();
        self.input_validation.check(&root.key("input_validation"), check);
        self.rate_limiting.check(&root.key("rate_limiting"), check);
        self.ip_blocking.check(&root.key("ip_blocking"), check);
        let csrf = root.key("csrf_protection");
        check.positive_at_most(
            csrf.key("token_max_age"),
            self.csrf_protection.token_max_age,
            limits::MAX_SECONDS,
            "seconds",
        );
        check.each(
            &csrf.key("trusted_origins"),
            &self.csrf_protection.trusted_origins,
            limits::MAX_HTTP_LIST,
            |check, at, origin| {
                if !is_origin(origin) {
                    check.fail(
                        at,
                        format!(
                            "`{}` is not an origin: write scheme and host, and a port if not the default \
                             (`https://app.example.com`, `http://127.0.0.1:3000`), without a path",
                            origin.escape_debug()
                        ),
                    );
                }
            },
        );
        self.headers.check(&root.key("headers"), check);
        let client = root.key("client_address");
        check.ip_networks(&client.key("trusted_proxies"), &self.client_address.trusted_proxies);
        let header = &self.client_address.forwarded_header;
        if http::HeaderName::from_bytes(header.as_bytes()).is_err() {
            check.fail(
                client.key("forwarded_header"),
                format!("`{}` is not a valid HTTP header name", header.escape_debug()),
            );
        }
        for (key, length, range) in [
            ("ipv4_prefix_length", self.client_address.ipv4_prefix_length, 16..=32),
            ("ipv6_prefix_length", self.client_address.ipv6_prefix_length, 32..=128),
        ] {
            if !range.contains(&length) {
                check.fail(
                    client.key(key),
                    format!("must be between {} and {}, not {length}", range.start(), range.end()),
                );
            }
        }
        check.positive_at_most(
            root.key("security_events").key("max_events"),
            self.security_events.max_events,
            limits::MAX_TABLE_ENTRIES,
            "events",
        );
        self.http.check(&root.key("http"), check);
        self.backend.check(&root.key("backend"), check);
    }
}

impl InputValidation {
    fn check(&self, at: &KeyPath, check: &mut Checker) {
        check.positive_at_most(
            at.key("max_input_length"),
            self.max_input_length,
            limits::MAX_INPUT_LENGTH,
            "bytes",
        );
        check.positive_at_most(
            at.key("anomaly_threshold"),
            u64::from(self.anomaly_threshold),
            limits::MAX_ANOMALY_THRESHOLD,
            "points",
        );
        check.positive_at_most(at.key("level"), u64::from(self.level), limits::MAX_VALIDATION_LEVEL, "");
        check.each(
            &at.key("forbidden_patterns"),
            &self.forbidden_patterns,
            limits::MAX_FORBIDDEN_PATTERNS,
            |check, at, pattern| {
                if let Err(message) = compile_pattern(pattern) {
                    check.fail(at, message);
                }
            },
        );
    }
}

/// Compiles a forbidden pattern the way the validator will: case-insensitive, within the size cap.
pub fn compile_pattern(pattern: &str) -> Result<regex::Regex, String> {
    if pattern.is_empty() {
        return Err("an empty pattern would reject every input".into());
    }
    regex::RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(limits::MAX_PATTERN_COMPILED_BYTES)
        .build()
        .map_err(|error| match error {
            regex::Error::CompiledTooBig(limit) => {
                format!("the pattern compiles to more than the {limit}-byte limit; simplify it")
            }
            // The regex crate's syntax errors span several lines with a caret diagram; keep the last line.
            other => {
                let text = other.to_string();
                let reason = text.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or("invalid");
                format!("the pattern does not compile: {}", reason.trim().trim_start_matches("error: "))
            }
        })
}

impl RateLimiting {
    fn check(&self, at: &KeyPath, check: &mut Checker) {
        check.positive_at_most(
            at.key("default_limit"),
            self.default_limit.into(),
            u32::MAX.into(),
            "requests",
        );
        check.positive_at_most(at.key("window_seconds"), self.window_seconds, limits::MAX_SECONDS, "seconds");
        check.positive_at_most(at.key("burst_limit"), self.burst_limit.into(), u32::MAX.into(), "requests");
    }
}

impl IpBlocking {
    fn check(&self, at: &KeyPath, check: &mut Checker) {
        check.positive_at_most(
            at.key("block_duration_hours"),
            self.block_duration_hours,
            limits::MAX_BLOCK_HOURS,
            "hours",
        );
        check.positive_at_most(
            at.key("max_block_hours"),
            self.max_block_hours,
            limits::MAX_BLOCK_HOURS,
            "hours",
        );
        if self.max_block_hours < self.block_duration_hours {
            check.fail(
                at.key("max_block_hours"),
                format!(
                    "must be at least block_duration_hours ({}), not {}",
                    self.block_duration_hours, self.max_block_hours
                ),
            );
        }
        check.positive_at_most(
            at.key("max_blocked"),
            self.max_blocked,
            limits::MAX_TABLE_ENTRIES,
            "addresses",
        );
        check.ip_networks(&at.key("whitelist"), &self.whitelist);
        check.positive_at_most(
            at.key("auto_block_after"),
            self.auto_block_after.into(),
            limits::MAX_AUTO_BLOCK_AFTER,
            "refusals",
        );
        check.positive_at_most(
            at.key("auto_block_window_seconds"),
            self.auto_block_window_seconds,
            limits::MAX_SECONDS,
            "seconds",
        );
    }
}

impl Headers {
    pub(crate) fn check(&self, at: &KeyPath, check: &mut Checker) {
        let headers = at.key("security_headers");
        check.at_most_entries(headers.clone(), self.security_headers.len(), limits::MAX_SECURITY_HEADERS);
        let mut seen = std::collections::HashMap::new();
        for (name, value) in self.security_headers.iter().take(limits::MAX_SECURITY_HEADERS) {
            let path = headers.key(name.as_str());
            match http::HeaderName::from_bytes(name.as_bytes()) {
                Ok(canonical) => {
                    if let Some(first) = seen.insert(canonical, name) {
                        check.fail(
                            path.clone(),
                            format!("repeats header `{first}` (header names ignore case)"),
                        );
                    }
                }
                Err(_) => check
                    .fail(path.clone(), format!("`{}` is not a valid HTTP header name", name.escape_debug())),
            }
            if http::HeaderValue::from_str(value).is_err() {
                check
                    .fail(path, "the value is not a valid HTTP header value (visible ASCII and spaces only)");
            }
        }
    }
}

/// Whether `text` is a serialized origin (RFC 6454): `http` or `https`, `://`, a host, an optional port,
/// nothing after.
fn is_origin(text: &str) -> bool {
    let Some((scheme, authority)) = text.split_once("://") else { return false };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => (host, Some(port)),
        _ => (authority, None),
    };
    matches!(scheme, "http" | "https")
        && !host.is_empty()
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b))
        && port.is_none_or(|port| port.parse::<u16>().is_ok_and(|port| port > 0))
}
