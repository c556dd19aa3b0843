//! The layer's own responses: short JSON documents that say what was refused, never echoing the input.

use std::time::Duration;

use axum::body::Body;
use http::{HeaderValue, Response, StatusCode, header};
use vana_security::Severity;

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
