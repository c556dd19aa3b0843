//! Correlation ids: taken from a request header when well-formed, generated otherwise, and carried by a
//! request span so every line logged inside it (across `.await`s and instrumented tasks) carries the id.

use std::fmt;

use bytes::Bytes;
use http::HeaderValue;

/// The span field that carries a correlation id; the layer looks for it on the enclosing spans.
pub const CORRELATION_ID_FIELD: &str = "correlation_id";

/// Longest incoming id accepted.
pub const MAX_CORRELATION_ID_LEN: usize = 128;

/// A request's correlation id: 1 to 128 characters of `A-Z a-z 0-9 - _ . :`, or a fresh UUID v4.
///
/// It is kept as a header value: echoing it in a response or passing it upstream copies nothing, and an
/// incoming id shares the request's buffer.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CorrelationId(HeaderValue);

impl CorrelationId {
    /// A fresh random id (UUID v4), as the specification's logger makes.
    pub fn new() -> Self {
        // Encoded on the stack, then owned by the value: one allocation, shared by every clone.
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
        Self(
            HeaderValue::from_maybe_shared(Bytes::from_owner(text))
                // A hyphenated UUID is always a valid header value.
                .unwrap_or_else(|_| HeaderValue::from_static("00000000-0000-4000-8000-000000000000")),
        )
    }

    /// `incoming` when it is well-formed, else `None`. Anything else from a client (too long, spaces,
    /// quotes, control characters) is refused rather than cleaned, so an id is never a carrier.
    pub fn parse(incoming: &str) -> Option<Self> {
        if !is_well_formed(incoming.as_bytes()) {
            return None;
        }
        HeaderValue::from_str(incoming).ok().map(Self)
    }

    /// The incoming header value when well-formed, else a fresh id.
    pub fn from_header_or_new(header_value: Option<&[u8]>) -> Self {
        header_value
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .and_then(Self::parse)
            .unwrap_or_default()
    }

    /// The id in `value` when well-formed (sharing its bytes), else a fresh id.
    pub fn from_header_value(value: Option<&HeaderValue>) -> Self {
        match value {
            Some(value) if is_well_formed(value.as_bytes()) => Self(value.clone()),
            _ => Self::new(),
        }
    }

    /// The id from the header named by `logging.correlation_id_header` when well-formed, else a fresh
    /// id. Only the first value of a repeated header is considered.
    pub fn from_headers(headers: &http::HeaderMap, header_name: impl http::header::AsHeaderName) -> Self {
        Self::from_header_value(headers.get(header_name))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only the characters of `is_well_formed` (or a UUID) get in, so the value is always text; checking it
        // as UTF-8 goes a word at a time, where `HeaderValue::to_str` goes a byte at a time.
        std::str::from_utf8(self.0.as_bytes()).unwrap_or_default()
    }

    /// The id as a header value, to echo in a response or pass upstream.
    pub fn header_value(&self) -> &HeaderValue {
        &self.0
    }
}

fn is_well_formed(incoming: &[u8]) -> bool {
    !incoming.is_empty()
        && incoming.len() <= MAX_CORRELATION_ID_LEN
        && incoming.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// A well-formed id, or [`LoggingError::InvalidCorrelationId`](crate::LoggingError::InvalidCorrelationId).
impl std::str::FromStr for CorrelationId {
    type Err = crate::LoggingError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text).ok_or(crate::LoggingError::InvalidCorrelationId)
    }
}

impl Default for CorrelationId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CorrelationId({})", self.as_str())
    }
}

/// Opens the span of one request, carrying its correlation id: enter it (or `.instrument(span)` a future)
/// and every line logged inside carries the id.
///
/// ```
/// use vana_logging::{CorrelationId, request_span};
///
/// let id = CorrelationId::from_header_or_new(Some(b"req-42"));
/// let span = request_span(&id, "GET", "/echo");
/// let _entered = span.enter();
/// tracing::info!("handled"); // carries "correlation_id":"req-42"
/// ```
pub fn request_span(id: &CorrelationId, method: &str, route: &str) -> tracing::Span {
    tracing::info_span!("request", correlation_id = id.as_str(), method = method, route = route)
}

/// The leanest request span: the correlation id alone. For servers that log the method and route in their
/// request line anyway (as the vana-ops HTTP layer does), it saves recording two fields per request.
///
/// ```
/// use vana_logging::{CorrelationId, correlation_span};
///
/// let id = CorrelationId::from_header_or_new(Some(b"req-42"));
/// let _entered = correlation_span(&id).entered();
/// tracing::info!("handled"); // carries "correlation_id":"req-42"
/// ```
pub fn correlation_span(id: &CorrelationId) -> tracing::Span {
    tracing::info_span!("request", correlation_id = id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_well_formed_ids_only() {
        assert_eq!(
            CorrelationId::parse("abc-123_x.y:z").map(|id| id.to_string()).as_deref(),
            Some("abc-123_x.y:z")
        );
        for bad in ["", "has space", "quote\"", "new\nline", "ünï", &"a".repeat(129)] {
            assert!(CorrelationId::parse(bad).is_none(), "{bad:?}");
        }
        assert!(CorrelationId::parse(&"a".repeat(128)).is_some());
    }

    #[test]
    fn header_values_are_shared_when_well_formed_and_replaced_otherwise() {
        let incoming = http::HeaderValue::from_static("req-77");
        let id = CorrelationId::from_header_value(Some(&incoming));
        assert_eq!(id.as_str(), "req-77");
        assert_eq!(id.header_value().as_bytes().as_ptr(), incoming.as_bytes().as_ptr());
        let long = "a".repeat(MAX_CORRELATION_ID_LEN + 1);
        for bad in [&b"has space"[..], b"caf\xc3\xa9", b"", long.as_bytes()] {
            let value = http::HeaderValue::from_bytes(bad).unwrap();
            let id = CorrelationId::from_header_value(Some(&value));
            assert!(uuid::Uuid::parse_str(id.as_str()).is_ok(), "{bad:?}");
        }
        let mut headers = http::HeaderMap::new();
        headers.insert("x-correlation-id", incoming.clone());
        assert_eq!(CorrelationId::from_headers(&headers, "x-correlation-id").as_str(), "req-77");
        assert_eq!(CorrelationId::from_headers(&headers, "x-request-id").as_str().len(), 36);
    }

    #[test]
    fn generates_uuids_when_absent_or_malformed() {
        let generated = CorrelationId::from_header_or_new(Some(b"\xff\xfe"));
        assert_eq!(generated.as_str().len(), 36);
        assert!(uuid::Uuid::parse_str(generated.as_str()).is_ok());
        assert_ne!(CorrelationId::new(), CorrelationId::new());
        assert_eq!(CorrelationId::from_header_or_new(Some(b"ok-1")).as_str(), "ok-1");
        assert_eq!(CorrelationId::from_header_or_new(None).as_str().len(), 36);
    }

    #[test]
    fn reads_the_configured_header() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-correlation-id", http::HeaderValue::from_static("edge-7"));
        assert_eq!(CorrelationId::from_headers(&headers, "X-Correlation-ID").as_str(), "edge-7");
        headers.insert("x-correlation-id", http::HeaderValue::from_static("bad value"));
        assert_ne!(CorrelationId::from_headers(&headers, "X-Correlation-ID").as_str(), "bad value");
        assert_eq!(CorrelationId::from_headers(&headers, "X-Request-ID").as_str().len(), 36);
    }
}
