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
}

/// `input_validation`: what input is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct InputValidation {
    /// Longest accepted input in bytes (UTF-8), checked before any pattern.
    pub max_input_length: u64,
    /// Extra regular expressions that reject an input (matched case-insensitively).
    pub forbidden_patterns: Vec<String>,
}

impl Default for InputValidation {
    fn default() -> Self {
        Self {
            max_input_length: 10_000,
            forbidden_patterns: vec![
                r"<script[^>]*>.*?</script>".into(),
                r"(?-u:\b)union\s+select(?-u:\b)".into(),
                r"\.\.\/".into(),
                r"(?-u:\b)eval\s*\(".into(),
                r"(?-u:\b)exec\s*\(".into(),
            ],
        }
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
}

impl RateLimiting {
    /// The window as a duration.
    pub fn window(&self) -> Duration {
        Duration::from_secs(self.window_seconds)
    }
}

impl Default for RateLimiting {
    fn default() -> Self {
        Self {
            default_limit: 100,
            window_seconds: 60,
            burst_limit: 10,
        }
    }
}

/// `ip_blocking`: blocks, their length, and addresses that are never blocked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct IpBlocking {
    /// Block the source of a critical security event (never a whitelisted address).
    pub auto_block_on_critical: bool,
    /// How long a block lasts, in hours.
    pub block_duration_hours: u64,
    /// Addresses and CIDR networks, IPv4 or IPv6, that are never blocked.
    pub whitelist: Vec<String>,
}

impl IpBlocking {
    /// The block length as a duration.
    pub fn block_duration(&self) -> Duration {
        Duration::from_secs(self.block_duration_hours.saturating_mul(3600))
    }

    /// The whitelist as networks (a single address is a /32 or /128). Entries that do not parse are
    /// left out; [`validate`](crate::Config::validate) reports them.
    pub fn whitelist_networks(&self) -> Vec<ipnet::IpNet> {
        self.whitelist
            .iter()
            .filter_map(|entry| parse_ip_or_cidr(entry).ok())
            .collect()
    }
}

impl Default for IpBlocking {
    fn default() -> Self {
        Self {
            auto_block_on_critical: true,
            block_duration_hours: 24,
            whitelist: vec!["127.0.0.1".into(), "::1".into()],
        }
    }
}

/// `csrf_protection`: token lifetime and whether unsafe methods need a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct CsrfProtection {
    /// Oldest token accepted, in seconds.
    pub token_max_age: u64,
    /// Require a valid token on POST, PUT, PATCH and DELETE.
    pub require_csrf: bool,
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
        }
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
            ("Content-Security-Policy", "default-src 'self'"),
        ];
        Self {
            security_headers: headers
                .into_iter()
                .map(|(name, value)| (name.into(), value.into()))
                .collect(),
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
        self.headers.check(&root.key("headers"), check);
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
        let patterns = at.key("forbidden_patterns");
        check.at_most_entries(
            patterns.clone(),
            self.forbidden_patterns.len(),
            limits::MAX_FORBIDDEN_PATTERNS,
        );
        for (index, pattern) in self
            .forbidden_patterns
            .iter()
            .enumerate()
            .take(limits::MAX_FORBIDDEN_PATTERNS)
        {
            if let Err(message) = compile_pattern(pattern) {
                check.fail(patterns.index(index), message);
            }
        }
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
                let reason = text
                    .lines()
                    .rev()
                    .find(|line| !line.trim().is_empty())
                    .unwrap_or("invalid");
                format!(
                    "the pattern does not compile: {}",
                    reason.trim().trim_start_matches("error: ")
                )
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
        check.positive_at_most(
            at.key("window_seconds"),
            self.window_seconds,
            limits::MAX_SECONDS,
            "seconds",
        );
        check.positive_at_most(
            at.key("burst_limit"),
            self.burst_limit.into(),
            u32::MAX.into(),
            "requests",
        );
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
        let whitelist = at.key("whitelist");
        check.at_most_entries(
            whitelist.clone(),
            self.whitelist.len(),
            limits::MAX_WHITELIST_ENTRIES,
        );
        for (index, entry) in self
            .whitelist
            .iter()
            .enumerate()
            .take(limits::MAX_WHITELIST_ENTRIES)
        {
            if let Err(message) = parse_ip_or_cidr(entry) {
                check.fail(whitelist.index(index), message);
            }
        }
    }
}

impl Headers {
    fn check(&self, at: &KeyPath, check: &mut Checker) {
        let headers = at.key("security_headers");
        check.at_most_entries(
            headers.clone(),
            self.security_headers.len(),
            limits::MAX_SECURITY_HEADERS,
        );
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
                Err(_) => check.fail(
                    path.clone(),
                    format!("`{}` is not a valid HTTP header name", name.escape_debug()),
                ),
            }
            if http::HeaderValue::from_str(value).is_err() {
                check.fail(
                    path,
                    "the value is not a valid HTTP header value (visible ASCII and spaces only)",
                );
            }
        }
    }
}
