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
    InvalidInput { category: &'static str, rule_id: u16, severity: Severity, location: &'static str },
    BodyTooLarge,
    BodyUnreadable,
    Csrf,
}

impl Refusal {
    /// The refusal of input the validator rejected, found at `location` (`path`, `query`, `header`, `body`).
    pub(crate) fn invalid_input(rejection: &Rejection, location: &'static str) -> Self {
        Refusal::InvalidInput {
            category: rejection.category.as_str(),
            rule_id: rejection.rule_id,
            severity: rejection.severity,
            location,
        }
    }

    fn severity(self) -> Severity {
        match self {
            Refusal::InvalidInput { severity, .. } => severity,
            Refusal::Csrf => Severity::Medium,
            Refusal::Blocked | Refusal::RateLimited(_) | Refusal::BodyTooLarge | Refusal::BodyUnreadable => {
                Severity::Low
            }
        }
    }

    /// The security event of this refusal of a request from `client`, named by `route`.
    pub(crate) fn event(self, client: Option<IpAddr>, parts: &Parts, route: &str) -> SecurityEvent {
        let mut event = SecurityEvent::new(self.code(), self.severity(), client)
            .detail("method", parts.method.as_str())
            .detail("route", route);
        if let Some(agent) = parts.headers.get(header::USER_AGENT).and_then(|value| value.to_str().ok()) {
            event = event.user_agent(agent);
        }
        if let Refusal::InvalidInput { category, rule_id, location, .. } = self {
            event =
                event.detail("category", category).detail("rule_id", rule_id).detail("location", location);
        }
        event
    }

    pub(crate) fn status(self) -> StatusCode {
        match self {
            Refusal::Blocked | Refusal::Csrf => StatusCode::FORBIDDEN,
            Refusal::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Refusal::InvalidInput { .. } | Refusal::BodyUnreadable => StatusCode::BAD_REQUEST,
            Refusal::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }

    /// The `error` code of the body and the `event_type` of the security event.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Refusal::Blocked => "address_blocked",
            Refusal::RateLimited(_) => "rate_limited",
            Refusal::InvalidInput { .. } => "input_rejected",
            Refusal::BodyTooLarge => "body_too_large",
            Refusal::BodyUnreadable => "body_unreadable",
            Refusal::Csrf => "csrf_token_invalid",
        }
    }

    pub(crate) fn response(self, correlation_id: &str) -> Response<Body> {
        let mut body = serde_json::json!({ "error": self.code(), "correlation_id": correlation_id });
        match self {
            Refusal::InvalidInput { category, rule_id, location, .. } => {
                body["category"] = category.into();
                body["rule_id"] = rule_id.into();
                body["location"] = location.into();
            }
            Refusal::RateLimited(retry_after) => {
                body["retry_after_seconds"] = retry_after_secs(retry_after).into()
            }
            _ => {}
        }
        let mut response = Response::new(Body::from(body.to_string()));
        *response.status_mut() = self.status();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Refusal::RateLimited(retry_after) = self {
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
