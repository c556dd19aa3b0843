//! Correlation ids: taken from a request header when well-formed, generated otherwise, and carried by a
//! request span so every line logged inside it (across `.await`s and instrumented tasks) carries the id.

use std::fmt;
use std::sync::Arc;

/// The span field that carries a correlation id; the layer looks for it on the enclosing spans.
pub const CORRELATION_ID_FIELD: &str = "correlation_id";

/// Longest incoming id accepted.
pub const MAX_CORRELATION_ID_LEN: usize = 128;

/// A request's correlation id: 1 to 128 characters of `A-Z a-z 0-9 - _ . :`, or a fresh UUID v4.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CorrelationId(Arc<str>);

impl CorrelationId {
    /// A fresh random id (UUID v4), as the specification's logger makes.
    pub fn new() -> Self {
        // Encoded on the stack: one allocation, the `Arc`'s.
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        Self(Arc::from(&*uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text)))
    }

    /// `incoming` when it is well-formed, else `None`. Anything else from a client (too long, spaces,
    /// quotes, control characters) is refused rather than cleaned, so an id is never a carrier.
    pub fn parse(incoming: &str) -> Option<Self> {
        let well_formed = !incoming.is_empty()
            && incoming.len() <= MAX_CORRELATION_ID_LEN
            && incoming.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        well_formed.then(|| Self(Arc::from(incoming)))
    }

    /// The incoming header value when well-formed, else a fresh id.
    pub fn from_header_or_new(header_value: Option<&[u8]>) -> Self {
        header_value
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .and_then(Self::parse)
            .unwrap_or_default()
    }

    /// The id from the header named by `logging.correlation_id_header` when well-formed, else a fresh
    /// id. Only the first value of a repeated header is considered.
    pub fn from_headers(headers: &http::HeaderMap, header_name: &str) -> Self {
        Self::from_header_or_new(headers.get(header_name).map(http::HeaderValue::as_bytes))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for CorrelationId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CorrelationId({})", self.0)
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
