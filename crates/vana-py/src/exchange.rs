//! `HttpLayer` and `Exchange`: the gateway's own tower layer (`vana_ops::http::OpsLayer`) around an ASGI
//! application, so a Python service and the gateway decide the same request the same way by construction:
//! the same address checks, rate limit, policies, body decoding, validation, CSRF, refusals, headers, request
//! line, route metrics, GenAI metrics and token budgets.
//!
//! An `Exchange` is one request. Python drives it; Rust calls into Python only to wake it:
//! 1. `decide` runs the layer to its verdict: `body` (a step reads the body: Python brings the client's next
//!    message to `feed_request`), `wait` (a check is away, on the backend: Python awaits its waker),
//!    `forward` (the application's turn, with the request headers as the layer passes them on), or `respond`
//!    (the layer answers itself: a refusal, or the CSRF token).
//! 2. `read_body`: what the application reads, the body as the layer passed it on (the bytes it read, once,
//!    or the client's messages as they come, under the route's cap).
//! 3. `start_response`: the application's status and headers through the layer; the final head comes back.
//! 4. `send_body`: the application's body through the layer's watch (timing to the last byte, events,
//!    tokens), the frames out exactly as they went in.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body::Body as _;
use parking_lot::Mutex;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyList, PyTuple};
use tower::{Layer, Service};
use vana_ops::{OpsLayer, OpsService, ResponseFuture};

use crate::feed::{FedBody, Feed};
use crate::runtime::runtime;

/// The application raised before it sent its response's head.
#[derive(Debug, thiserror::Error)]
#[error("the application failed before its response")]
pub(crate) struct AppFailed;

/// What passes between the layer's inner service and Python: the request the layer forwarded, and the
/// application's response head.
#[derive(Default)]
struct Handoff {
    forwarded: Option<Request<Body>>,
    head: Option<Result<(StatusCode, HeaderMap), AppFailed>>,
    waker: Option<Waker>,
}

/// The layer's inner service: hands the forwarded request to Python and answers with the application's
/// head once Python has it, the body fed as the application sends it.
#[derive(Clone)]
struct ToApplication {
    handoff: Arc<Mutex<Handoff>>,
    response: Feed,
}

impl Service<Request<Body>> for ToApplication {
    type Response = Response<FedBody>;
    type Error = AppFailed;
    type Future = ApplicationHead;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), AppFailed>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> ApplicationHead {
        self.handoff.lock().forwarded = Some(request);
        ApplicationHead { handoff: Arc::clone(&self.handoff), body: Some(self.response.body()) }
    }
}

/// The application's response, once its head is known.
struct ApplicationHead {
    handoff: Arc<Mutex<Handoff>>,
    body: Option<FedBody>,
}

impl Future for ApplicationHead {
    type Output = Result<Response<FedBody>, AppFailed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut handoff = self.handoff.lock();
        match handoff.head.take() {
            Some(Ok((status, headers))) => {
                drop(handoff);
                let Some(body) = self.body.take() else { return Poll::Ready(Err(AppFailed)) };
                let mut response = Response::new(body);
                *response.status_mut() = status;
                *response.headers_mut() = headers;
                Poll::Ready(Ok(response))
            }
            Some(Err(failed)) => Poll::Ready(Err(failed)),
            None => {
                handoff.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// A waker that calls a Python callable (the middleware's: it resolves the future its task awaits).
struct PythonWaker(Py<PyAny>);

impl Wake for PythonWaker {
    fn wake(self: Arc<Self>) {
        // From a runtime thread; once the interpreter is gone there is nobody left to wake.
        Python::try_attach(|py| {
            if let Err(error) = self.0.call0(py) {
                error.write_unraisable(py, None);
            }
        });
    }
}

fn waker(callable: Option<Py<PyAny>>) -> Waker {
    match callable {
        Some(callable) => Waker::from(Arc::new(PythonWaker(callable))),
        None => Waker::noop().clone(),
    }
}

/// The layer of a configuration, around the application.
#[pyclass(module = "vana_ops._native", frozen)]
pub(crate) struct HttpLayer {
    layer: OpsLayer,
}

#[pymethods]
impl HttpLayer {
    /// The `http` layer of `ops`, naming requests by `route_templates` (the application's routes, in
    /// matchit's syntax: `/items/{id}`, `/files/{*path}`) after those of `http.route_templates`.
    #[new]
    #[pyo3(signature = (ops, route_templates = Vec::new()))]
    fn new(ops: &crate::ops::Ops, route_templates: Vec<String>) -> PyResult<Self> {
        let templates: Vec<&str> = route_templates.iter().map(String::as_str).collect();
        if let Ok(layer) = OpsLayer::with_route_templates(ops.inner(), &templates) {
            return Ok(Self { layer });
        }
        // Two of the application's templates conflict for the layer's router (`/a/{id}` beside `/a/{key}`):
        // the first of them names the route, the other is left out, and said so.
        let mut accepted: Vec<&str> = Vec::with_capacity(templates.len());
        for template in templates {
            accepted.push(template);
            if let Err(error) = OpsLayer::with_route_templates(ops.inner(), &accepted) {
                accepted.pop();
                tracing::warn!(target: "vana_ops", %error, "a route template is left out: requests it matches are named by another, or `other`");
            }
        }
        let layer = OpsLayer::with_route_templates(ops.inner(), &accepted)
            .map_err(|error| PyValueError::new_err(error.to_string()))?;
        Ok(Self { layer })
    }

    /// One request, from the ASGI scope's parts: `method`, `target` (the raw path and `?query`), `headers`
    /// as ASGI gives them, `client` (host, port) or None, `scheme` (`http`, `https`), `http_version`.
    #[pyo3(signature = (method, target, headers, client, scheme = "http", http_version = "1.1"))]
    fn exchange(
        &self,
        method: &str,
        target: &[u8],
        headers: Vec<(PyBackedBytes, PyBackedBytes)>,
        client: Option<(String, u16)>,
        scheme: &str,
        http_version: &str,
    ) -> PyResult<Exchange> {
        let parts =
            crate::request::RequestParts { method, target, headers: &headers, client, scheme, http_version };
        let request = parts.build()?;
        let request_feed = Feed::default();
        if crate::request::has_no_body(&request) {
            // As a server reads HTTP/1: no length and no chunking is no body; the layer sees its end at once.
            request_feed.push(Bytes::new(), false);
        }
        let handoff = Arc::new(Mutex::new(Handoff::default()));
        let response_feed = Feed::default();
        let mut service: OpsService<ToApplication> = self
            .layer
            .layer(ToApplication { handoff: Arc::clone(&handoff), response: response_feed.clone() });
        let request = request.map(|()| request_feed.body());
        let _runtime = runtime()?.enter();
        let handling = service.call(request);
        Ok(Exchange {
            state: Mutex::new(State {
                handling: Some(Box::pin(handling)),
                request: request_feed,
                response: response_feed,
                handoff,
                app_body: None,
                answer: None,
            }),
        })
    }
}

/// One request through the layer; see the module's documentation for the steps.
#[pyclass(module = "vana_ops._native", frozen)]
pub(crate) struct Exchange {
    state: Mutex<State>,
}

struct State {
    /// The layer's handling, until it gave the response's head.
    handling: Option<Pin<Box<ResponseFuture<AppFailed>>>>,
    /// The client's body, as Python receives it.
    request: Feed,
    /// The application's body, as it sends it.
    response: Feed,
    handoff: Arc<Mutex<Handoff>>,
    /// The request body the layer passed on, which the application reads.
    app_body: Option<Body>,
    /// The response body the layer passes on, which the client gets.
    answer: Option<Body>,
}

impl Drop for State {
    fn drop(&mut self) {
        // Dropping the watch of an unfinished response records the client's going; its timers belong to
        // the runtime.
        let _runtime = runtime().ok().map(tokio::runtime::Runtime::enter);
        self.answer = None;
        self.handling = None;
    }
}

/// Headers for Python, as ASGI writes them: `[(name, value), ...]` of bytes.
fn headers_list<'py>(py: Python<'py>, headers: &HeaderMap) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for (name, value) in headers {
        list.append((PyBytes::new(py, name.as_str().as_bytes()), PyBytes::new(py, value.as_bytes())))?;
    }
    Ok(list)
}

/// ASGI headers as a header map; names and values HTTP forbids are left out (the server refused them
/// already).
pub(crate) fn header_map(headers: &[(impl AsRef<[u8]>, impl AsRef<[u8]>)]) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name.as_ref()), HeaderValue::from_bytes(value.as_ref()))
        {
            map.append(name, value);
        }
    }
    map
}

fn poll_body(body: &mut Body, waker: &Waker) -> Poll<Option<Result<Bytes, axum::Error>>> {
    let mut cx = Context::from_waker(waker);
    loop {
        match Pin::new(&mut *body).poll_frame(&mut cx) {
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => return Poll::Ready(Some(Ok(data))),
                // Trailers: not part of what the application reads or the client gets here.
                Err(_) => continue,
            },
            Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        }
    }
}

#[pymethods]
impl Exchange {
    /// The layer's verdict: `("body",)`, `("wait",)`, `("forward", headers)` or `("respond", status,
    /// headers)`; `wake` is called when a `wait` is over.
    #[pyo3(signature = (wake = None))]
    fn decide<'py>(&self, py: Python<'py>, wake: Option<Py<PyAny>>) -> PyResult<Bound<'py, PyTuple>> {
        let mut state = self.state.lock();
        let state = &mut *state;
        let Some(handling) = state.handling.as_mut() else {
            return Err(PyRuntimeError::new_err("the exchange is decided already"));
        };
        let waker = waker(wake);
        let polled = {
            let _runtime = runtime()?.enter();
            handling.as_mut().poll(&mut Context::from_waker(&waker))
        };
        match polled {
            Poll::Ready(Ok(response)) => {
                state.handling = None;
                let (parts, body) = response.into_parts();
                state.answer = Some(body);
                let headers = headers_list(py, &parts.headers)?;
                ("respond", parts.status.as_u16(), headers).into_pyobject(py)
            }
            Poll::Ready(Err(_)) => Err(PyRuntimeError::new_err("the layer ended before the application ran")),
            Poll::Pending => {
                if let Some(forwarded) = state.handoff.lock().forwarded.take() {
                    let (parts, body) = forwarded.into_parts();
                    state.app_body = Some(body);
                    return ("forward", headers_list(py, &parts.headers)?).into_pyobject(py);
                }
                (if state.request.asked() { "body" } else { "wait" },).into_pyobject(py)
            }
        }
    }

    /// The client's next body message; False when the body was over already (or Python fed too far ahead).
    fn feed_request(&self, chunk: &[u8], more_body: bool) -> bool {
        self.state.lock().request.push(Bytes::copy_from_slice(chunk), more_body)
    }

    /// The client disconnected: a body still being read fails, a response still being sent ends as the
    /// client's going.
    fn client_gone(&self) {
        let mut state = self.state.lock();
        state.request.gone();
        let _runtime = runtime().ok().map(tokio::runtime::Runtime::enter);
        state.answer = None;
    }

    /// What the application reads next: `("data", bytes, last)`, `("end",)`, `("body",)` (feed the client's
    /// next message first), `("wait",)` or `("gone",)` (the client went away, or the body passed the route's
    /// cap).
    #[pyo3(signature = (wake = None))]
    fn read_body<'py>(&self, py: Python<'py>, wake: Option<Py<PyAny>>) -> PyResult<Bound<'py, PyTuple>> {
        let mut state = self.state.lock();
        let state = &mut *state;
        let Some(body) = state.app_body.as_mut() else { return ("end",).into_pyobject(py) };
        let polled = {
            let _runtime = runtime()?.enter();
            poll_body(body, &waker(wake))
        };
        match polled {
            Poll::Ready(Some(Ok(data))) => {
                let last = body.is_end_stream();
                ("data", PyBytes::new(py, &data), last).into_pyobject(py)
            }
            Poll::Ready(Some(Err(_))) => {
                state.app_body = None;
                ("gone",).into_pyobject(py)
            }
            Poll::Ready(None) => {
                state.app_body = None;
                ("end",).into_pyobject(py)
            }
            Poll::Pending => (if state.request.asked() { "body" } else { "wait" },).into_pyobject(py),
        }
    }

    /// The application's response head through the layer: the head the client gets, `(status, headers)`.
    fn start_response<'py>(
        &self,
        py: Python<'py>,
        status: u16,
        headers: Vec<(PyBackedBytes, PyBackedBytes)>,
    ) -> PyResult<(u16, Bound<'py, PyList>)> {
        let status =
            StatusCode::from_u16(status).map_err(|error| PyValueError::new_err(error.to_string()))?;
        let mut state = self.state.lock();
        let state = &mut *state;
        {
            let mut handoff = state.handoff.lock();
            handoff.head = Some(Ok((status, header_map(&headers))));
            if let Some(waker) = handoff.waker.take() {
                waker.wake();
            }
        }
        let Some(handling) = state.handling.as_mut() else {
            return Err(PyRuntimeError::new_err("the response has started already"));
        };
        let polled = {
            let _runtime = runtime()?.enter();
            handling.as_mut().poll(&mut Context::from_waker(Waker::noop()))
        };
        match polled {
            Poll::Ready(Ok(response)) => {
                state.handling = None;
                let (parts, body) = response.into_parts();
                state.answer = Some(body);
                Ok((parts.status.as_u16(), headers_list(py, &parts.headers)?))
            }
            _ => Err(PyRuntimeError::new_err("the layer did not pass the application's response on")),
        }
    }

    /// The application raised (or returned without a response): before its head, the layer logs and
    /// times the failure as a 500; after it, the response ends as a failed stream does.
    fn app_failed(&self) {
        let mut state = self.state.lock();
        let state = &mut *state;
        state.handoff.lock().head = Some(Err(AppFailed));
        let Ok(runtime) = runtime() else { return };
        let _runtime = runtime.enter();
        if let Some(handling) = state.handling.as_mut() {
            let _ = handling.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        }
        state.handling = None;
        state.response.gone();
        if let Some(body) = state.answer.as_mut() {
            // The body fails where it stands: the watch records the end.
            while let Poll::Ready(Some(Ok(_))) = poll_body(body, Waker::noop()) {}
        }
        state.answer = None;
    }

    /// One body message of the application (ignored for the layer's own answer, whose body is whole), and
    /// what the client gets now: `([chunks], ended)`, the chunks as they went in.
    #[pyo3(signature = (chunk = b"".as_slice(), more_body = false))]
    fn send_body<'py>(
        &self,
        py: Python<'py>,
        chunk: &[u8],
        more_body: bool,
    ) -> PyResult<(Bound<'py, PyList>, bool)> {
        let mut state = self.state.lock();
        let state = &mut *state;
        state.response.push(Bytes::copy_from_slice(chunk), more_body);
        let out = PyList::empty(py);
        let Some(body) = state.answer.as_mut() else { return Ok((out, true)) };
        let _runtime = runtime()?.enter();
        let ended = loop {
            match poll_body(body, Waker::noop()) {
                Poll::Ready(Some(Ok(data))) => out.append(PyBytes::new(py, &data))?,
                Poll::Ready(Some(Err(_)) | None) => break true,
                Poll::Pending => break false,
            }
        };
        if ended {
            // The watch records the end as it sees it; the body is done.
            state.answer = None;
        }
        Ok((out, ended))
    }
}
