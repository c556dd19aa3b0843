//! The layer's own responses: short JSON documents that say what was refused, never echoing the input.

use std::net::IpAddr;
use std::time::Duration;

use axum::body::Body;
use http::request::Parts;
use http::{HeaderValue, Response, StatusCode, header};
use vana_security::{Rejection, SecurityEvent, Severity};

/// Why the layer answered itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Blocked,
    RateLimited(Duration),
    InvalidInput(Finding),
    BodyTooLarge,
    BodyUnreadable,
    /// The body did not arrive within `http.body_read_timeout_ms`.
    BodyTimeout,
    /// A body in a coding or charset validation cannot read (`Content-Encoding: zstd`, stacked codings,
    /// UTF-32 JSON).
    UnsupportedEncoding,
    /// Token mode: no valid token.
    Csrf,
    /// Origin mode: a browser's request from another origin.
    CrossOrigin,
    /// The request carries no peer address and `client_address.without_peer` gives no other source.
    ClientUnknown,
    /// An identity spent its token budget.
    TokenBudget(BudgetSpent),
}

/// A token budget that is spent: which, how large, and when it has room again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BudgetSpent {
    pub(crate) budget: &'static str,
    pub(crate) tokens: u64,
    pub(crate) window_seconds: u64,
    pub(crate) retry_after: Duration,
}

/// What was done about a finding (the `action` of its counter and event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FindingAction {
    /// The request was refused (`block`).
    Refuse,
    /// Recorded, and the request went on (`detect`).
    Detect,
    /// A score under the threshold: recorded only.
    BelowThreshold,
}

impl FindingAction {
    pub(crate) const ALL: [FindingAction; 3] =
        [FindingAction::Refuse, FindingAction::Detect, FindingAction::BelowThreshold];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FindingAction::Refuse => "refuse",
            FindingAction::Detect => "detect",
            FindingAction::BelowThreshold => "below_threshold",
        }
    }
}

/// Most rule ids a finding names (the most severe first).
const MAX_NAMED_RULES: usize = 8;

/// What validation found in one location of a request: refused, or recorded by a `detect` policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Finding {
    pub(crate) category: &'static str,
    pub(crate) rule_id: u16,
    pub(crate) severity: Severity,
    /// `path`, `query`, `header`, `cookie`, `form`, `json` or `body`.
    pub(crate) location: &'static str,
    pub(crate) score: u16,
    rules: [u16; MAX_NAMED_RULES],
    rule_count: u8,
}

impl Finding {
    /// A finding of nothing, standing for the kind in lists of refusals.
    const PLACEHOLDER: Finding = Finding {
        category: "",
        rule_id: 0,
        severity: Severity::Low,
        location: "",
        score: 0,
        rules: [0; MAX_NAMED_RULES],
        rule_count: 0,
    };

    pub(crate) fn new(rejection: &Rejection, location: &'static str) -> Self {
        let mut rules = [0; MAX_NAMED_RULES];
        let count = rejection.rules.len().min(MAX_NAMED_RULES);
        rules[..count].copy_from_slice(&rejection.rules[..count]);
        Self {
            category: rejection.category.as_str(),
            rule_id: rejection.rule_id,
            severity: rejection.severity,
            location,
            score: rejection.score,
            rules,
            rule_count: u8::try_from(count).unwrap_or(u8::MAX),
        }
    }

    /// The rules that fired, most severe first.
    pub(crate) fn rules(&self) -> &[u16] {
        &self.rules[..usize::from(self.rule_count)]
    }

    /// Its details in a security event.
    fn describe(&self, event: SecurityEvent) -> SecurityEvent {
        event
            .detail("category", self.category)
            .detail("rule_id", self.rule_id)
            .detail("rules", self.rules())
            .detail("score", self.score)
            .detail("location", self.location)
    }

    /// The `input_detected` event of a finding a `detect` policy (or a score under the threshold) let
    /// through: it never blocks anyone.
    pub(crate) fn detected_event(
        &self,
        action: FindingAction,
        client: Option<IpAddr>,
        parts: &Parts,
        route: &str,
    ) -> SecurityEvent {
        // A `detect` finding is an attack-shaped input let through on purpose: Medium, so its line is written
        // at the security component's default level (WARNING). A score under the threshold is a record: Low.
        let severity = if action == FindingAction::Detect { Severity::Medium } else { Severity::Low };
        let event = SecurityEvent::new("input_detected", severity, client)
            .detail("method", parts.method.as_str())
            .detail("route", route)
            .detail("action", action.as_str());
        with_user_agent(self.describe(event), parts)
    }
}

fn with_user_agent(event: SecurityEvent, parts: &Parts) -> SecurityEvent {
    match parts.headers.get(header::USER_AGENT).and_then(|value| value.to_str().ok()) {
        Some(agent) => event.user_agent(agent),
        None => event,
    }
}

impl Refusal {
    /// One refusal of each kind (their payloads placeholders), for the counters made before the first
    /// refusal: [`code`](Self::code) is the one table of their names.
    const EACH: [Refusal; 11] = [
        Refusal::Blocked,
        Refusal::RateLimited(Duration::ZERO),
        Refusal::InvalidInput(Finding::PLACEHOLDER),
        Refusal::BodyTooLarge,
        Refusal::BodyUnreadable,
        Refusal::BodyTimeout,
        Refusal::UnsupportedEncoding,
        Refusal::Csrf,
        Refusal::CrossOrigin,
        Refusal::ClientUnknown,
        Refusal::TokenBudget(BudgetSpent {
            budget: "",
            tokens: 0,
            window_seconds: 0,
            retry_after: Duration::ZERO,
        }),
    ];

    /// The code of every kind of refusal.
    pub(crate) fn codes() -> impl Iterator<Item = &'static str> {
        Self::EACH.into_iter().map(Refusal::code)
    }

    /// What to do when requests carry no peer address: the body's hint and the log line's `fix`.
    pub(crate) const CLIENT_UNKNOWN_FIX: &'static str = "The server passes no peer address, so rate limits and blocks cannot work: serve with axum's into_make_service_with_connect_info::<SocketAddr>() (or put the SocketAddr in the request's extensions), or, behind a proxy that is the only way in, set client_address.without_peer: forwarded_header (docs/gateway.md#in-an-axum-application).";

    /// The refusal of input the validator rejected, found at `location`.
    pub(crate) fn invalid_input(rejection: &Rejection, location: &'static str) -> Self {
        Refusal::InvalidInput(Finding::new(rejection, location))
    }

    /// One sentence on what to do, and where the docs say more.
    fn hint(self) -> Option<&'static str> {
        match self {
            Refusal::Blocked => Some(
                "This address is blocked after repeated refused requests; the block ends by itself, or an operator lifts it (docs/security.md#blocking).",
            ),
            Refusal::InvalidInput(_) => Some(
                "Part of the request looks like an attack; if it is legitimate, the operator can set this route and location to detect (docs/security.md#policies).",
            ),
            Refusal::Csrf => Some(
                "Send a token from the CSRF token route (http.csrf_token_path) in the http.csrf_header header, with its session cookie (docs/security.md#csrf).",
            ),
            Refusal::CrossOrigin => Some(
                "A browser sent this request from another origin; send it from this site, or have the operator add the origin to csrf_protection.trusted_origins (docs/security.md#csrf).",
            ),
            Refusal::UnsupportedEncoding => Some(
                "Send the body uncompressed or as gzip, deflate or br, and JSON as UTF-8 or UTF-16 (docs/gateway.md#bodies).",
            ),
            Refusal::ClientUnknown => Some(Self::CLIENT_UNKNOWN_FIX),
            Refusal::TokenBudget(_) => Some(
                "This identity used its token budget; it has room again after retry_after_seconds (docs/gateway.md#token-budgets).",
            ),
            Refusal::RateLimited(_)
            | Refusal::BodyTooLarge
            | Refusal::BodyUnreadable
            | Refusal::BodyTimeout => None,
        }
    }

    fn severity(self) -> Severity {
        match self {
            Refusal::InvalidInput(finding) => finding.severity,
            Refusal::Csrf | Refusal::CrossOrigin => Severity::Medium,
            Refusal::Blocked
            | Refusal::RateLimited(_)
            | Refusal::BodyTooLarge
            | Refusal::BodyUnreadable
            | Refusal::BodyTimeout
            | Refusal::UnsupportedEncoding
            | Refusal::ClientUnknown
            | Refusal::TokenBudget(_) => Severity::Low,
        }
    }

    /// The security event of this refusal of a request from `client`, named by `route`.
    pub(crate) fn event(self, client: Option<IpAddr>, parts: &Parts, route: &str) -> SecurityEvent {
        let event = SecurityEvent::new(self.code(), self.severity(), client)
            .detail("method", parts.method.as_str())
            .detail("route", route);
        let event = with_user_agent(event, parts);
        match self {
            Refusal::InvalidInput(finding) => finding.describe(event),
            Refusal::TokenBudget(spent) => event.detail("budget", spent.budget),
            _ => event,
        }
    }

    pub(crate) fn status(self) -> StatusCode {
        match self {
            Refusal::Blocked | Refusal::Csrf | Refusal::CrossOrigin => StatusCode::FORBIDDEN,
            Refusal::RateLimited(_) | Refusal::TokenBudget(_) => StatusCode::TOO_MANY_REQUESTS,
            Refusal::InvalidInput(_) | Refusal::BodyUnreadable => StatusCode::BAD_REQUEST,
            Refusal::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Refusal::UnsupportedEncoding => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Refusal::ClientUnknown => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `error` code of the body and the `event_type` of the security event.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Refusal::Blocked => "address_blocked",
            Refusal::RateLimited(_) => "rate_limited",
            Refusal::InvalidInput(_) => "input_rejected",
            Refusal::BodyTooLarge => "body_too_large",
            Refusal::BodyUnreadable => "body_unreadable",
            Refusal::BodyTimeout => "body_timeout",
            Refusal::UnsupportedEncoding => "unsupported_encoding",
            Refusal::Csrf => "csrf_token_invalid",
            Refusal::CrossOrigin => "cross_origin_request",
            Refusal::ClientUnknown => "client_address_unknown",
            Refusal::TokenBudget(_) => "token_budget_exhausted",
        }
    }

    pub(crate) fn response(self, correlation_id: &str) -> Response<Body> {
        let mut body = serde_json::json!({ "error": self.code(), "correlation_id": correlation_id });
        match self {
            Refusal::InvalidInput(finding) => {
                body["category"] = finding.category.into();
                body["rule_id"] = finding.rule_id.into();
                body["rules"] = finding.rules().into();
                body["score"] = finding.score.into();
                body["location"] = finding.location.into();
            }
            Refusal::RateLimited(retry_after) => {
                body["retry_after_seconds"] = retry_after_secs(retry_after).into()
            }
            Refusal::TokenBudget(spent) => {
                body["budget"] = spent.budget.into();
                body["budget_tokens"] = spent.tokens.into();
                body["budget_window_seconds"] = spent.window_seconds.into();
                body["retry_after_seconds"] = retry_after_secs(spent.retry_after).into();
            }
            _ => {}
        }
        if let Some(hint) = self.hint() {
            body["hint"] = hint.into();
        }
        let mut response = Response::new(Body::from(body.to_string()));
        *response.status_mut() = self.status();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Refusal::RateLimited(retry_after) | Refusal::TokenBudget(BudgetSpent { retry_after, .. }) =
            self
        {
            response.headers_mut().insert(header::RETRY_AFTER, retry_after_secs(retry_after).into());
        }
        response
    }
}

/// Whole seconds, rounded up: a client that waits this long is admitted.
pub(crate) fn retry_after_secs(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limited_responses_say_when_to_retry() {
        let response = Refusal::RateLimited(Duration::from_millis(1500)).response("id-1");
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
    }
}
