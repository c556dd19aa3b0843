//! `Feed`: a body that Python fills message by message (the client's request body from ASGI `receive`, the
//! application's response body from its `send`) and the layer reads as an `http_body::Body`. Nothing waits
//! inside: an empty feed says so (`asked`), and Python brings the next message.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use parking_lot::Mutex;

/// Most chunks a feed holds unread: Python adds one and drains it before the next, so a full feed is a
/// misuse, refused rather than grown.
const MAX_QUEUED_CHUNKS: usize = 64;

#[derive(Default)]
struct State {
    chunks: VecDeque<Bytes>,
    /// The last message was given (`more_body` false).
    ended: bool,
    /// The other side went away before the end (the client disconnected).
    gone: bool,
    /// The reader found it empty since the last push: Python must bring the next message.
    asked: bool,
    waker: Option<Waker>,
}

/// The shared end Python pushes into.
#[derive(Clone, Default)]
pub(crate) struct Feed {
    state: Arc<Mutex<State>>,
}

/// The end the layer reads.
pub(crate) struct FedBody {
    state: Arc<Mutex<State>>,
}

/// The body failed: the client went away before sending all of it.
#[derive(Debug, thiserror::Error)]
#[error("the client went away before the end of the body")]
pub(crate) struct ClientGone;

impl Feed {
    /// The body that reads this feed.
    pub(crate) fn body(&self) -> FedBody {
        FedBody { state: Arc::clone(&self.state) }
    }

    /// One message's bytes; `more` false ends the body. False when the feed is full or over already.
    pub(crate) fn push(&self, chunk: Bytes, more: bool) -> bool {
        let mut state = self.state.lock();
        if state.ended || state.gone || state.chunks.len() >= MAX_QUEUED_CHUNKS {
            return false;
        }
        if !chunk.is_empty() {
            state.chunks.push_back(chunk);
        }
        state.ended = !more;
        state.asked = false;
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
        true
    }

    /// The sender went away: the body fails where it stands.
    pub(crate) fn gone(&self) {
        let mut state = self.state.lock();
        state.gone = true;
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
    }

    /// Whether the reader waits for the next message.
    pub(crate) fn asked(&self) -> bool {
        self.state.lock().asked
    }
}

impl http_body::Body for FedBody {
    type Data = Bytes;
    type Error = ClientGone;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ClientGone>>> {
        let mut state = self.state.lock();
        if let Some(chunk) = state.chunks.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        if state.ended {
            return Poll::Ready(None);
        }
        if state.gone {
            return Poll::Ready(Some(Err(ClientGone)));
        }
        state.asked = true;
        state.waker = Some(cx.waker().clone());
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        let state = self.state.lock();
        state.ended && state.chunks.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        let state = self.state.lock();
        let queued = state.chunks.iter().map(|chunk| chunk.len() as u64).sum();
        if state.ended { SizeHint::with_exact(queued) } else { SizeHint::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body as _;

    fn poll(body: &mut FedBody) -> Poll<Option<Result<Frame<Bytes>, ClientGone>>> {
        Pin::new(body).poll_frame(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn chunks_come_out_as_they_went_in_then_the_end() {
        let feed = Feed::default();
        let mut body = feed.body();
        assert!(poll(&mut body).is_pending() && feed.asked());
        assert!(feed.push(Bytes::from_static(b"ab"), true) && !feed.asked());
        assert!(feed.push(Bytes::from_static(b"c"), false));
        let Poll::Ready(Some(Ok(frame))) = poll(&mut body) else { panic!("a frame") };
        assert_eq!(frame.into_data().unwrap(), "ab");
        assert!(!body.is_end_stream());
        assert!(matches!(poll(&mut body), Poll::Ready(Some(Ok(_)))));
        assert!(body.is_end_stream() && matches!(poll(&mut body), Poll::Ready(None)));
        assert!(!feed.push(Bytes::from_static(b"late"), true), "nothing after the end");
    }

    #[test]
    fn a_client_that_goes_fails_the_body_and_the_queue_is_capped() {
        let feed = Feed::default();
        let mut body = feed.body();
        for _ in 0..MAX_QUEUED_CHUNKS {
            assert!(feed.push(Bytes::from_static(b"x"), true));
        }
        assert!(!feed.push(Bytes::from_static(b"x"), true), "the cap holds");
        feed.gone();
        for _ in 0..MAX_QUEUED_CHUNKS {
            assert!(matches!(poll(&mut body), Poll::Ready(Some(Ok(_)))));
        }
        assert!(matches!(poll(&mut body), Poll::Ready(Some(Err(ClientGone)))));
    }
}
