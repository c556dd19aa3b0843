//! Completion: a response is timed to its last body byte (or the client's going away), with the time to its
//! first body byte beside it; a `text/event-stream` response also counts its events, is ended when it sends
//! nothing for `http.stream_idle_timeout_ms`, and says how it ended; an AI route's answer is read as it
//! passes (`gen_ai`). The body passes frame by frame as it comes, nothing is buffered; what is recorded at
//! the end is the access log line, the route metric and the GenAI metrics (`access_log.rs`,
//! `route_metrics.rs`, `gen_ai/metrics.rs`).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};
use http_body::{Body as _, Frame, SizeHint};

use crate::http::step::Exchange;
use crate::http::step::gen_ai::{AnswerWatch, GenAi};

/// How a streamed response ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamOutcome {
    /// The body ended.
    Completed,
    /// The client went away before the end.
    ClientClosed,
    /// The body failed (the upstream reset it, say).
    UpstreamError,
    /// The stream sent nothing for `http.stream_idle_timeout_ms`: the gateway ended it.
    IdleTimeout,
}

impl StreamOutcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StreamOutcome::Completed => "completed",
            StreamOutcome::ClientClosed => "client_closed",
            StreamOutcome::UpstreamError => "upstream_error",
            StreamOutcome::IdleTimeout => "idle_timeout",
        }
    }

    /// Whether the stream failed (the client's leaving is its own choice, not a failure).
    pub(crate) fn failed(self) -> bool {
        matches!(self, StreamOutcome::UpstreamError | StreamOutcome::IdleTimeout)
    }
}

/// What the body's watch does besides timing: read an AI route's answer, and end a stream that goes
/// quiet.
pub(crate) struct BodyWatch {
    /// The response is a server-sent event stream.
    streamed: bool,
    answer: Option<Box<AnswerWatch>>,
    stream_idle_timeout: Duration,
}

impl BodyWatch {
    /// The watch of `response` on `route`: its answer read when `gen_ai` names the route.
    pub(crate) fn of(
        response: &http::Response<Body>,
        route: &str,
        gen_ai: Option<&GenAi>,
        stream_idle_timeout: Duration,
    ) -> Self {
        let headers = response.headers();
        let streamed = is_event_stream(headers);
        let answer = gen_ai.and_then(|gen_ai| {
            gen_ai.watch(route, streamed, is_media_type(headers, b"application/json")).map(Box::new)
        });
        Self { streamed, answer, stream_idle_timeout }
    }
}

/// What one response did, once it is over.
pub(crate) struct Completed {
    pub(crate) status: StatusCode,
    /// From the request's arrival to the last byte, or to the client's going away.
    pub(crate) duration: Duration,
    /// From the request's arrival to the body's first byte, when it had one.
    pub(crate) first_byte: Option<Duration>,
    /// A server-sent event stream's events and end.
    pub(crate) stream: Option<(u64, StreamOutcome)>,
    /// Whether the layer answered the request itself (a refusal).
    pub(crate) refused: bool,
    /// An AI route's answer, as read.
    pub(crate) answer: Option<Box<AnswerWatch>>,
}

/// Called once a response is over, with what it did.
pub(crate) trait Finisher: Send + Sync + 'static {
    fn finish(&self, exchange: &Exchange, completed: &Completed);
}

/// A server-sent event stream's count: events end at a blank line (`\n\n`, or `\r\n\r\n`, a lone `\r`
/// ending lines too), which may fall across frames.
#[derive(Default)]
struct EventCount {
    events: u64,
    /// Whether the bytes so far end with a line break, and so a further one ends an event.
    after_line_break: bool,
    /// The bytes so far end with `\r`: a `\n` next belongs to the same line break.
    after_carriage_return: bool,
}

impl EventCount {
    fn feed(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            match byte {
                b'\n' if self.after_carriage_return => self.after_carriage_return = false,
                b'\n' | b'\r' => {
                    if self.after_line_break {
                        self.events += 1;
                        self.after_line_break = false;
                    } else {
                        self.after_line_break = true;
                    }
                    self.after_carriage_return = byte == b'\r';
                }
                _ => {
                    self.after_line_break = false;
                    self.after_carriage_return = false;
                }
            }
        }
    }
}

/// Wraps a response's body so that `finisher` learns, once, how the response went.
pub(crate) fn time_to_the_end(
    mut response: http::Response<Body>,
    exchange: Box<Exchange>,
    refused: bool,
    finisher: std::sync::Arc<dyn Finisher>,
    settings: BodyWatch,
) -> http::Response<Body> {
    let status = response.status();
    let BodyWatch { streamed, answer, stream_idle_timeout } = settings;
    let idle = streamed.then(|| Idle::new(stream_idle_timeout));
    // The body is swapped in place: the response's head is not moved.
    let body = std::mem::replace(response.body_mut(), Body::empty());
    let stream = streamed.then(EventCount::default);
    let watch = Watch { exchange, finisher, status, refused, first_byte: None, stream, answer, idle };
    *response.body_mut() = Body::new(Timed { body, watch: Some(watch) });
    response
}

/// Whether the response is a server-sent event stream.
pub(crate) fn is_event_stream(headers: &HeaderMap) -> bool {
    is_media_type(headers, b"text/event-stream")
}

/// Whether the response's `Content-Type` is `media_type` (any case, parameters after it).
fn is_media_type(headers: &HeaderMap, media_type: &[u8]) -> bool {
    headers.get(header::CONTENT_TYPE).is_some_and(|value| {
        let value = value.as_bytes();
        value.len() >= media_type.len()
            && value[..media_type.len()].eq_ignore_ascii_case(media_type)
            && value[media_type.len()..].first().is_none_or(|next| matches!(next, b';' | b' ' | b'\t'))
    })
}

/// A stream's idle timeout: armed once, and re-armed from the last frame only when it fires, so a busy
/// stream pays a clock read a frame, not a timer reset. On tokio's clock, so a test can pause it.
struct Idle {
    timeout: Duration,
    last_frame: tokio::time::Instant,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl Idle {
    fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            last_frame: tokio::time::Instant::now(),
            timer: Box::pin(tokio::time::sleep(timeout)),
        }
    }

    /// Whether the stream has been idle past the timeout (the timer wakes the task when it may have).
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            if self.timer.as_mut().poll(cx).is_pending() {
                return false;
            }
            let deadline = self.last_frame + self.timeout;
            if tokio::time::Instant::now() >= deadline {
                return true;
            }
            self.timer.as_mut().reset(deadline);
        }
    }
}

/// The error a stream ended for idleness ends its body with, so the client sees it cut, not complete.
#[derive(Debug)]
struct StreamIdle(Duration);

impl std::fmt::Display for StreamIdle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the stream sent nothing for {} ms", self.0.as_millis())
    }
}

impl std::error::Error for StreamIdle {}

/// What is watched until the end.
struct Watch {
    exchange: Box<Exchange>,
    finisher: std::sync::Arc<dyn Finisher>,
    status: StatusCode,
    refused: bool,
    first_byte: Option<Instant>,
    stream: Option<EventCount>,
    answer: Option<Box<AnswerWatch>>,
    idle: Option<Idle>,
}

impl Watch {
    /// A frame of the body passed.
    fn saw(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        if self.first_byte.is_none() {
            self.first_byte = Some(Instant::now());
        }
        if let Some(count) = self.stream.as_mut() {
            count.feed(data);
        }
        if let Some(idle) = self.idle.as_mut() {
            idle.last_frame = tokio::time::Instant::now();
        }
        if let Some(answer) = self.answer.as_mut() {
            answer.feed(data, Instant::now());
        }
    }

    fn end(self, outcome: StreamOutcome) {
        let started = self.exchange.started;
        let duration = started.elapsed();
        let mut answer = self.answer;
        if let Some(answer) = answer.as_mut() {
            answer.end(started + duration);
        }
        let completed = Completed {
            status: self.status,
            duration,
            first_byte: self.first_byte.map(|at| at.saturating_duration_since(started)),
            stream: self.stream.map(|count| (count.events, outcome)),
            refused: self.refused,
            answer,
        };
        self.finisher.finish(&self.exchange, &completed);
    }
}

/// The response body, passed on frame by frame, watched until it ends or is dropped.
struct Timed {
    body: Body,
    watch: Option<Watch>,
}

impl http_body::Body for Timed {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(watch), Some(data)) = (self.watch.as_mut(), frame.data_ref()) {
                    watch.saw(data);
                }
            }
            Poll::Ready(Some(Err(_))) => self.end(StreamOutcome::UpstreamError),
            Poll::Ready(None) => self.end(StreamOutcome::Completed),
            Poll::Pending => {
                let idle = self.watch.as_mut().and_then(|watch| watch.idle.as_mut());
                if let Some(idle) = idle
                    && idle.expired(cx)
                {
                    let timeout = idle.timeout;
                    self.end(StreamOutcome::IdleTimeout);
                    return Poll::Ready(Some(Err(axum::Error::new(StreamIdle(timeout)))));
                }
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Timed {
    fn end(&mut self, outcome: StreamOutcome) {
        if let Some(watch) = self.watch.take() {
            watch.end(outcome);
        }
    }
}

impl Drop for Timed {
    fn drop(&mut self) {
        // Dropped before its end: the client went away (a body that ended has already been recorded), or
        // the server never polled an empty body.
        if self.watch.is_some() {
            let ended = self.body.is_end_stream();
            self.end(if ended { StreamOutcome::Completed } else { StreamOutcome::ClientClosed });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(frames: &[&[u8]]) -> u64 {
        let mut count = EventCount::default();
        for frame in frames {
            count.feed(frame);
        }
        count.events
    }

    #[test]
    fn events_end_at_blank_lines_in_any_line_ending_and_across_frames() {
        assert_eq!(count(&[b"data: one\n\ndata: two\n\n"]), 2);
        assert_eq!(count(&[b"data: one\n", b"\ndata: two\r\n\r\n"]), 2);
        assert_eq!(count(&[b"data: a\r", b"\n", b"\r\n"]), 1);
        assert_eq!(count(&[b"data: a\r\rdata: b\n\n"]), 2);
        assert_eq!(count(&[b": comment\n\n"]), 1, "a comment block is an event block too");
        assert_eq!(count(&[b"data: half"]), 0);
    }
}
