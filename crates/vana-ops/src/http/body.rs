//! Request bodies: how each content type is inspected, and reading one up to the size cap.

use std::ops::ControlFlow;

use axum::body::Body;
use bytes::Bytes;
use http_body::Body as _;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::http::reject::Refusal;

/// How a body is inspected, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    /// `application/x-www-form-urlencoded`: every field name and value.
    Form,
    /// `application/json` and `*+json`: every string value and object key.
    Json,
    /// Anything else textual (or untyped): the whole body, when it is UTF-8.
    Text,
    /// `multipart/form-data`: its text fields and text files (binary files are not inspected).
    Multipart,
    /// `multipart/*` and binary types (images, audio, video, octet streams): not inspected.
    Opaque,
}

impl BodyKind {
    pub(crate) fn of(headers: &http::HeaderMap) -> BodyKind {
        let Some(content_type) = headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
            return BodyKind::Text;
        };
        let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let (kind, subtype) = essence.split_once('/').unwrap_or((essence.as_str(), ""));
        match (kind, subtype) {
            ("application", "x-www-form-urlencoded") => BodyKind::Form,
            ("application", "json") => BodyKind::Json,
            ("application", subtype) if subtype.ends_with("+json") => BodyKind::Json,
            ("multipart", "form-data") => BodyKind::Multipart,
            ("multipart" | "image" | "audio" | "video" | "font", _) => BodyKind::Opaque,
            ("application", "octet-stream" | "zip" | "gzip" | "pdf" | "wasm" | "protobuf" | "x-protobuf") => {
                BodyKind::Opaque
            }
            _ => BodyKind::Text,
        }
    }
}

/// The body cap (`http.max_body_bytes`): a larger declared length is refused at once, a body that is read
/// is read up to it (within `http.body_read_timeout_ms`), and one passed on unread still ends in an error
/// past it.
pub(crate) struct BodyCap {
    max: u64,
    read_timeout: std::time::Duration,
}

impl BodyCap {
    pub(crate) fn new(max_body_bytes: u64, read_timeout: std::time::Duration) -> Self {
        Self { max: max_body_bytes, read_timeout }
    }

    fn max(&self) -> usize {
        usize::try_from(self.max).unwrap_or(usize::MAX)
    }

    /// A refusal when `Content-Length` says the body is over the cap.
    pub(crate) fn check_declared(&self, headers: &http::HeaderMap) -> Result<(), Refusal> {
        let declared = headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        match declared {
            Some(length) if length > self.max => Err(Refusal::BodyTooLarge),
            _ => Ok(()),
        }
    }

    /// `body` as it streams, failing past the cap.
    pub(crate) fn limit(&self, body: Body) -> Body {
        if body.is_end_stream() { body } else { Body::new(Limited::new(body, self.max())) }
    }

    /// `body` read whole, refused past the cap, past the read timeout (a client trickling its body holds
    /// a connection and a worker's attention) or when the client's stream fails.
    pub(crate) async fn read(&self, body: Body) -> Result<Bytes, Refusal> {
        let collected = tokio::time::timeout(self.read_timeout, Limited::new(body, self.max()).collect());
        match collected.await {
            Err(_elapsed) => Err(Refusal::BodyTimeout),
            Ok(Ok(collected)) => Ok(collected.to_bytes()),
            Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
                Err(Refusal::BodyTooLarge)
            }
            Ok(Err(_)) => Err(Refusal::BodyUnreadable),
        }
    }
}

/// Calls `visit` on every name and value of a urlencoded `query` or form body, still encoded (the
/// validator decodes, repeatedly, as an attacker's double encoding needs). Stops when `visit` breaks.
pub(crate) fn each_form_part<T>(
    query: &str,
    mut visit: impl FnMut(&str) -> ControlFlow<T>,
) -> ControlFlow<T> {
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        visit(name)?;
        if !value.is_empty() {
            visit(value)?;
        }
    }
    ControlFlow::Continue(())
}

/// The decoded value of form field `field` in a urlencoded body.
pub(crate) fn form_field(body: &[u8], field: &str) -> Option<String> {
    form_urlencoded::parse(body).find(|(name, _)| name == field).map(|(_, value)| value.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(content_type: &str) -> BodyKind {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::CONTENT_TYPE, content_type.parse().unwrap());
        BodyKind::of(&headers)
    }

    #[test]
    fn content_types_pick_the_inspection() {
        assert_eq!(kind("application/x-www-form-urlencoded; charset=utf-8"), BodyKind::Form);
        assert_eq!(kind("Application/JSON"), BodyKind::Json);
        assert_eq!(kind("application/vnd.api+json"), BodyKind::Json);
        assert_eq!(kind("text/plain"), BodyKind::Text);
        assert_eq!(kind("application/xml"), BodyKind::Text);
        assert_eq!(kind("multipart/form-data; boundary=x"), BodyKind::Multipart);
        assert_eq!(kind("multipart/mixed; boundary=x"), BodyKind::Opaque);
        assert_eq!(kind("image/png"), BodyKind::Opaque);
        assert_eq!(BodyKind::of(&http::HeaderMap::new()), BodyKind::Text);
    }

    fn collect_form(query: &str) -> Vec<String> {
        let mut seen = Vec::new();
        let flow = each_form_part::<()>(query, |part| {
            seen.push(part.to_owned());
            ControlFlow::Continue(())
        });
        assert_eq!(flow, ControlFlow::Continue(()));
        seen
    }

    #[test]
    fn form_parts_are_names_and_values() {
        assert_eq!(collect_form("a=1&b=%3Cx%3E&&flag"), ["a", "1", "b", "%3Cx%3E", "flag"]);
        assert_eq!(form_field(b"x=1&csrf_token=v1.ab%2Bc&y=2", "csrf_token").as_deref(), Some("v1.ab+c"));
    }

    #[tokio::test]
    async fn reading_stops_at_the_cap() {
        let cap = BodyCap::new(5, std::time::Duration::from_secs(30));
        assert_eq!(cap.read(Body::from("12345")).await.unwrap(), "12345");
        assert_eq!(cap.read(Body::from("123456")).await, Err(Refusal::BodyTooLarge));
        assert!(cap.limit(Body::from("123456")).collect().await.is_err());
        assert_eq!(cap.limit(Body::from("12345")).collect().await.unwrap().to_bytes(), "12345");
    }

    /// A body whose client never sends the rest.
    struct Trickle;

    impl http_body::Body for Trickle {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
            std::task::Poll::Pending
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_does_not_arrive_in_time_is_refused() {
        // Paused time: the timeout fires when nothing else can happen, whatever the machine's speed.
        let cap = BodyCap::new(1024, std::time::Duration::from_secs(30));
        assert_eq!(cap.read(Body::new(Trickle)).await, Err(Refusal::BodyTimeout));
        assert_eq!(Refusal::BodyTimeout.status(), http::StatusCode::REQUEST_TIMEOUT);
    }

    #[test]
    fn a_declared_length_over_the_cap_is_refused() {
        let cap = BodyCap::new(5, std::time::Duration::from_secs(30));
        let mut headers = http::HeaderMap::new();
        assert_eq!(cap.check_declared(&headers), Ok(()));
        headers.insert(http::header::CONTENT_LENGTH, "5".parse().unwrap());
        assert_eq!(cap.check_declared(&headers), Ok(()));
        headers.insert(http::header::CONTENT_LENGTH, "6".parse().unwrap());
        assert_eq!(cap.check_declared(&headers), Err(Refusal::BodyTooLarge));
    }
}
