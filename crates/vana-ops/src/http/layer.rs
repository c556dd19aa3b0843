//! `OpsLayer`: the tower middleware that runs the steps of the `http` section around a service. The steps
//! and their order are in `pipeline.rs`; this module is the tower plumbing.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response};
use tower::{Layer, Service};

use crate::error::OpsError;
use crate::http::pipeline::{BoxError, Pipeline};
use crate::ops::Ops;

/// The tower [`Layer`] of the `http` section: correlation id, client address, blocklist, rate limit, input
/// validation, CSRF, then the inner service, then security headers, the request log line and the
/// `response_time.<route>` metric. Build it with [`Ops::http_layer`].
///
/// It needs the peer address: serve with `into_make_service_with_connect_info::<SocketAddr>()` (axum) or
/// put the `SocketAddr` in the request extensions (hyper). Without it the address steps are skipped. It runs
/// on a Tokio runtime with timers enabled (`#[tokio::main]` has them): a body it reads has a deadline.
#[derive(Clone)]
pub struct OpsLayer {
    pipeline: Arc<Pipeline>,
}

/// The [`Service`] of [`OpsLayer`].
#[derive(Clone)]
pub struct OpsService<S> {
    inner: S,
    pipeline: Arc<Pipeline>,
}

impl OpsLayer {
    /// The layer of `ops`'s `http` section.
    pub fn new(ops: &Ops) -> Result<Self, OpsError> {
        Self::with_route_templates(ops, &[])
    }

    /// The same, naming requests by `templates` too (after those of `http.route_templates`): for a layer
    /// around a whole router, which runs before routing and so sees no matched route.
    pub fn with_route_templates(ops: &Ops, templates: &[&str]) -> Result<Self, OpsError> {
        Ok(Self { pipeline: Arc::new(Pipeline::new(ops, templates)?) })
    }

    /// The layer in front of the operational endpoints: see [`Ops::endpoints`].
    pub(crate) fn for_endpoints(ops: &Ops) -> Result<Self, OpsError> {
        Ok(Self { pipeline: Arc::new(Pipeline::for_endpoints(ops)?) })
    }
}

impl std::fmt::Debug for OpsLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpsLayer").finish_non_exhaustive()
    }
}

impl<S> std::fmt::Debug for OpsService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpsService").finish_non_exhaustive()
    }
}

impl<S> Layer<S> for OpsLayer {
    type Service = OpsService<S>;

    fn layer(&self, inner: S) -> OpsService<S> {
        OpsService { inner, pipeline: Arc::clone(&self.pipeline) }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for OpsService<S>
where
    S: Service<Request<Body>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: http_body::Body<Data = Bytes> + Send + 'static,
    ReqBody::Error: Into<BoxError>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The clone takes the place of the service that was polled ready, which serves this request.
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        let pipeline = Arc::clone(&self.pipeline);
        let (parts, body) = request.into_parts();
        let (id, route) = pipeline.identify(&parts);
        let span = pipeline.span(&parts, &id, &route);
        let handling = pipeline.handle(ready, (parts, Body::new(body)), (id, route));
        ResponseFuture { inner: Some(Box::pin(handling)), span }
    }
}

/// The future of [`OpsService`]: the request's handling, polled inside the request's span.
///
/// Unlike `tracing::Instrumented`, it drops the handling as soon as it completes, still inside the span, so
/// that dropping the finished future later needs no second entry into the span.
pub struct ResponseFuture<E> {
    span: tracing::Span,
    inner: Option<Handling<E>>,
}

/// The handling of one request, boxed.
type Handling<E> = Pin<Box<dyn Future<Output = Result<Response<Body>, E>> + Send>>;

impl<E> Future for ResponseFuture<E> {
    type Output = Result<Response<Body>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let _entered = this.span.enter();
        let Some(inner) = this.inner.as_mut() else {
            // Polled again after completion, against the `Future` contract: it stays pending.
            return Poll::Pending;
        };
        let output = std::task::ready!(inner.as_mut().poll(cx));
        this.inner = None;
        Poll::Ready(output)
    }
}

impl<E> Drop for ResponseFuture<E> {
    fn drop(&mut self) {
        // Cancelled before completion: what the handling drops may log, with the request's id.
        if let Some(inner) = self.inner.take() {
            let _entered = self.span.enter();
            drop(inner);
        }
    }
}

impl<E> std::fmt::Debug for ResponseFuture<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").field("done", &self.inner.is_none()).finish_non_exhaustive()
    }
}
