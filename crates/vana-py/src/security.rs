//! `SecurityManager` and `SecurityEvent`: the specification's security manager over `vana_security`.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PySet};
use vana_config::SecurityPolicies;
use vana_security::{EventQuery, Severity, Verdict};

use crate::monitor::epoch;

/// One security event, with the specification's fields.
#[pyclass(module = "vana_ops._native", frozen, get_all)]
pub(crate) struct SecurityEvent {
    /// When, in seconds since the epoch.
    timestamp: f64,
    /// What happened (`ip_blocked`, `input_rejected`, ...).
    event_type: String,
    /// `low`, `medium`, `high` or `critical`.
    severity: String,
    /// The address it concerns, or an empty string.
    source_ip: String,
    /// The client's `User-Agent`, or an empty string.
    user_agent: String,
    /// Details, as JSON values.
    details: Py<PyDict>,
}

#[pymethods]
impl SecurityEvent {
    fn __repr__(&self) -> String {
        format!(
            "SecurityEvent(event_type={:?}, severity={:?}, source_ip={:?})",
            self.event_type, self.severity, self.source_ip
        )
    }
}

fn severity(text: &str) -> PyResult<Severity> {
    text.parse().map_err(|error: vana_security::SecurityError| PyValueError::new_err(error.to_string()))
}

fn address(text: &str) -> PyResult<IpAddr> {
    text.trim().parse().map_err(|_| PyValueError::new_err(format!("not an IPv4 or IPv6 address: {text:?}")))
}

/// A JSON-able Python object as a JSON value (through Python's `json`, so any object it takes works).
pub(crate) fn json_value(py: Python<'_>, object: &Bound<'_, PyAny>) -> PyResult<serde_json::Value> {
    let text: String = py.import("json")?.call_method1("dumps", (object,))?.extract()?;
    serde_json::from_str(&text).map_err(|error| PyValueError::new_err(error.to_string()))
}

fn python_value<'py>(py: Python<'py>, value: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.call_method1("loads", (value.to_string(),))
}

/// The specification's `SecurityManager`, backed by `vana_security::SecurityManager` with the shipped
/// policies: the grammar and pattern validator instead of five regular expressions, GCRA rate limits per
/// identifier, blocks that expire and respect the whitelist, capped event and block tables.
#[pyclass(module = "vana_ops._native")]
pub(crate) struct SecurityManager {
    backing: Backing,
    max_input_length: u64,
}

/// The manager a `SecurityManager` speaks for: its own, or that of an `Ops` (the one its HTTP layer uses).
enum Backing {
    Own(Box<vana_security::SecurityManager>),
    Ops(vana_ops::Ops),
}

impl SecurityManager {
    /// A manager over `policies`.
    pub(crate) fn with_policies(policies: &SecurityPolicies) -> PyResult<Self> {
        let manager = vana_security::SecurityManager::from_config(policies)
            .map_err(|error| PyValueError::new_err(error.to_string()))?;
        Ok(Self {
            backing: Backing::Own(Box::new(manager)),
            max_input_length: policies.input_validation.max_input_length,
        })
    }

    /// The manager of `ops`.
    pub(crate) fn of_ops(ops: &vana_ops::Ops) -> Self {
        let max_input_length = ops.config().security.input_validation.max_input_length;
        Self { backing: Backing::Ops(ops.clone()), max_input_length }
    }

    fn manager(&self) -> &vana_security::SecurityManager {
        match &self.backing {
            Backing::Own(manager) => manager,
            Backing::Ops(ops) => ops.security(),
        }
    }
}

#[pymethods]
impl SecurityManager {
    /// A manager with the shipped security policies.
    #[new]
    fn new() -> PyResult<Self> {
        Self::with_policies(&SecurityPolicies::default())
    }

    /// A manager with `security/security_policies.yaml` in `dir` (or the embedded defaults); raises
    /// `ConfigError`.
    #[staticmethod]
    #[pyo3(signature = (dir = None))]
    fn from_config(py: Python<'_>, dir: Option<std::path::PathBuf>) -> PyResult<Self> {
        let config = crate::config::load(py, dir, true)?;
        Self::with_policies(&config.security)
    }

    /// `(True, "Input validation passed")`, `(False, "Input exceeds maximum length of N")` or
    /// `(False, "Suspicious pattern detected: <category> (rule <id>)")`. The work runs without the GIL.
    #[pyo3(signature = (input_data, max_length = 10000))]
    fn validate_input(&self, py: Python<'_>, input_data: &str, max_length: usize) -> (bool, String) {
        // Bytes are at least as many as characters: count characters only when the bytes are too many.
        if input_data.len() > max_length && input_data.chars().count() > max_length {
            return (false, format!("Input exceeds maximum length of {max_length}"));
        }
        match py.detach(|| self.manager().validate_input(input_data)) {
            Verdict::Rejected(rejection) if rejection.category == vana_security::Category::TooLong => {
                (false, format!("Input exceeds maximum length of {}", self.max_input_length))
            }
            Verdict::Rejected(rejection) => (
                false,
                format!("Suspicious pattern detected: {} (rule {})", rejection.category, rejection.rule_id),
            ),
            _ => (true, "Input validation passed".to_owned()),
        }
    }

    /// Whether `identifier` may make one more request: at most `limit` a `window_seconds`, spread as GCRA
    /// spreads them (no burst of the whole window at its edge).
    #[pyo3(signature = (identifier, limit = 100, window_seconds = 60))]
    fn check_rate_limit(&self, identifier: &str, limit: u32, window_seconds: u64) -> bool {
        let Some(limit) = NonZeroU32::new(limit) else { return false };
        let window = Duration::from_secs(window_seconds.max(1));
        self.manager().rate_limiter().check_rate_limit(identifier, limit, window).allowed
    }

    /// The same check with its answer: `(allowed, retry_after_seconds)`, the seconds to wait before the next
    /// request is admitted (0.0 when allowed), for a `Retry-After` header.
    #[pyo3(signature = (identifier, limit = 100, window_seconds = 60))]
    fn rate_limit_decision(&self, identifier: &str, limit: u32, window_seconds: u64) -> (bool, f64) {
        let Some(limit) = NonZeroU32::new(limit) else { return (false, window_seconds as f64) };
        let window = Duration::from_secs(window_seconds.max(1));
        let decision = self.manager().rate_limiter().check_rate_limit(identifier, limit, window);
        (decision.allowed, decision.retry_after.map_or(0.0, |wait| wait.as_secs_f64()))
    }

    /// Whether `ip_address` (or its network) is blocked now; False for text that is no address.
    fn is_ip_blocked(&self, ip_address: &str) -> bool {
        ip_address.trim().parse().is_ok_and(|address| self.manager().blocklist().is_blocked(address))
    }

    /// Blocks `ip_address` for the configured time, unless it is whitelisted; records `ip_blocked`.
    /// Returns whether it is blocked now.
    #[pyo3(signature = (ip_address, reason = "Security violation"))]
    fn block_ip(&self, ip_address: &str, reason: &str) -> PyResult<bool> {
        let address = address(ip_address)?;
        Ok(matches!(self.manager().block_ip(address, reason), vana_security::BlockOutcome::Blocked { .. }))
    }

    /// The client's address: the peer, or the address a trusted proxy names in `forwarded_for` (an
    /// `X-Forwarded-For` value), as the configured `client_address` section says.
    #[pyo3(signature = (peer, forwarded_for = None))]
    fn client_address(&self, peer: &str, forwarded_for: Option<&str>) -> PyResult<String> {
        let peer = address(peer)?;
        let mut headers = http::HeaderMap::new();
        if let Some(value) = forwarded_for.and_then(|value| http::HeaderValue::from_str(value).ok()) {
            headers.insert("x-forwarded-for", value);
        }
        Ok(self.manager().client_addresses().resolve(peer, &headers).to_string())
    }

    /// Counts a request from `ip_address` refused for its input; returns whether that blocked it.
    fn record_refused_attack(&self, ip_address: &str) -> PyResult<bool> {
        let outcome = self.manager().record_refused_attack(address(ip_address)?);
        Ok(matches!(outcome, Some(vana_security::BlockOutcome::Blocked { .. })))
    }

    /// Lifts the block of `ip_address`; whether there was one.
    fn unblock_ip(&self, ip_address: &str) -> PyResult<bool> {
        Ok(self.manager().blocklist().unblock(address(ip_address)?))
    }

    /// Records an event; a `critical` one blocks its source when `auto_block_on_critical` is on (never a
    /// whitelisted address).
    #[pyo3(signature = (event_type, severity, source_ip = "", user_agent = "", details = None))]
    fn log_security_event(
        &self,
        py: Python<'_>,
        event_type: &str,
        severity: &str,
        source_ip: &str,
        user_agent: &str,
        details: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let source = source_ip.trim().parse::<IpAddr>().ok();
        let mut event = vana_security::SecurityEvent::new(event_type, self::severity(severity)?, source)
            .user_agent(user_agent);
        if let Some(details) = details
            && let serde_json::Value::Object(map) = json_value(py, details.as_any())?
        {
            for (key, value) in map {
                event = event.detail(&key, value);
            }
        }
        self.manager().log_security_event(event);
        Ok(())
    }

    /// The kept events, oldest first (at most `security_events.max_events`).
    #[getter]
    fn security_events(&self, py: Python<'_>) -> PyResult<Vec<SecurityEvent>> {
        let query = EventQuery { min_severity: None, event_type: None, since: None, limit: None };
        let mut events = self.manager().events().query(&query);
        events.reverse();
        events
            .iter()
            .map(|event| {
                let details = PyDict::new(py);
                for (key, value) in &event.details {
                    details.set_item(key, python_value(py, value)?)?;
                }
                Ok(SecurityEvent {
                    timestamp: epoch(event.timestamp),
                    event_type: event.event_type.clone(),
                    severity: event.severity.as_str().to_owned(),
                    source_ip: event.source_ip.map(|ip| ip.to_string()).unwrap_or_default(),
                    user_agent: event.user_agent.clone(),
                    details: details.unbind(),
                })
            })
            .collect()
    }

    /// The blocked addresses and networks now.
    #[getter]
    fn blocked_ips<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PySet>> {
        let blocked: Vec<String> = self
            .manager()
            .blocklist()
            .blocked(usize::MAX)
            .into_iter()
            .map(|block| {
                let network = block.network;
                if network.prefix_len() == network.max_prefix_len() {
                    network.addr().to_string()
                } else {
                    network.to_string()
                }
            })
            .collect();
        PySet::new(py, blocked)
    }

    /// A token `"<timestamp>:<hex HMAC-SHA256(secret_key, "<session_id>:<timestamp>")>"`, the specification's
    /// format.
    fn generate_csrf_token(&self, session_id: &str, secret_key: &str) -> String {
        vana_security::generate_legacy_token(secret_key.as_bytes(), session_id, unix_now())
    }

    /// Whether `token` was made for `session_id` with `secret_key` at most `max_age` seconds ago (and not in
    /// the future); compared in constant time.
    #[pyo3(signature = (token, session_id, secret_key, max_age = 3600))]
    fn validate_csrf_token(&self, token: &str, session_id: &str, secret_key: &str, max_age: u64) -> bool {
        vana_security::validate_legacy(
            secret_key.as_bytes(),
            token,
            session_id,
            unix_now(),
            Duration::from_secs(max_age),
        )
    }

    /// The configured security headers, name to value.
    fn get_security_headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let headers = PyDict::new(py);
        for (name, value) in self.manager().headers().iter() {
            headers.set_item(name.as_str(), value.to_str().unwrap_or_default())?;
        }
        Ok(headers)
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs())
}
