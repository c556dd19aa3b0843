"""``OpsMiddleware`` for Starlette and FastAPI, and ``ops_app``, an ASGI app for ``/metrics`` and ``/health``.

The middleware runs the gateway's own HTTP layer (the Rust ``OpsLayer`` of ``vana_ops.Ops``) around the
application, so a Python service and the gateway decide every request the same way, by the same code: the
correlation id, the client address, the blocklist, the rate limit, the policies by route and location, body
decoding and validation, cross-origin and CSRF checks, the refusal's status, body and headers, the headers
every response gets, the request line, the route metrics (``http_server_request_duration_seconds`` by route
template, method and status code), an AI route's GenAI metrics and token budgets. Python only carries
messages: the body is read when a step of the layer must see it and replayed to the application once; the
response passes message by message, never buffered, timed to its last byte.
"""

import asyncio
import logging
import re
from typing import Any, Awaitable, Callable, Dict, List, MutableMapping, Optional, Tuple, Union
from urllib.parse import quote

from ._native import Exchange, HttpLayer, Ops, PerformanceMonitor, SecurityManager, drain_log_lines

# The ASGI types, as Starlette names them.
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_PARAMETER = re.compile(r"\{([^}:]+)(?::([^}]+))?\}")
_loggers: Dict[str, logging.Logger] = {}


def forward_log_lines() -> None:
    """Hands the layer's log lines to ``logging`` (loggers ``vana_ops.<component>``: ``access``, ``security``,
    ...), each the JSON line the gateway writes. The middleware calls it after every request; call it
    yourself to see lines written between requests (alert deliveries, say)."""
    for component, level, line in drain_log_lines():
        logger = _loggers.get(component)
        if logger is None:
            logger = _loggers.setdefault(component, logging.getLogger(f"vana_ops.{component}"))
        if logger.isEnabledFor(level):
            logger.log(level, line)


def route_templates(app: Any, prefix: str = "") -> List[str]:
    """The route templates of a Starlette or FastAPI application (mounts followed), in the layer's syntax:
    ``/items/{item_id}``; a ``{name:path}`` parameter is ``{*name}``, the rest of the path."""
    templates: List[str] = []
    for route in getattr(app, "routes", None) or ():
        path = getattr(route, "path", None)
        if not isinstance(path, str):
            continue
        template = _PARAMETER.sub(lambda m: "{*" + m.group(1) + "}" if m.group(2) == "path" else "{" + m.group(1) + "}", path)
        inner = getattr(route, "routes", None)
        if inner:
            templates.extend(route_templates(route, prefix + template.rstrip("/")))
        elif template.startswith("/"):
            templates.append(prefix + template)
    return templates


def _target(scope: Scope) -> bytes:
    """The request target as the client sent it: the raw path and the query string."""
    raw = scope.get("raw_path") or quote(scope.get("path", "/")).encode()
    query = scope.get("query_string") or b""
    return raw + b"?" + query if query else raw


class _Wake:
    """The waker of one request: a check away on the backend calls it from another thread."""

    __slots__ = ("_loop", "_event")

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    def __call__(self) -> None:
        self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self) -> None:
        await self._event.wait()
        self._event.clear()


async def _settle(poll: Callable[[Optional[_Wake]], Tuple[Any, ...]], exchange: Exchange, receive: Receive) -> Tuple[Any, ...]:
    """``poll`` (``exchange.decide`` or ``exchange.read_body``) until it answers: a ``body`` step brings the layer
    the client's next message, a ``wait`` step waits for the waker (made at the first one and polled again
    with at once, so what finished meanwhile is seen)."""
    wake: Optional[_Wake] = None
    while True:
        step = poll(wake)
        if step[0] == "body":
            message = await receive()
            if message["type"] == "http.request":
                exchange.feed_request(message.get("body", b""), bool(message.get("more_body", False)))
            else:
                exchange.client_gone()
        elif step[0] == "wait":
            if wake is None:
                wake = _Wake()
                continue
            await wake.wait()
        else:
            return step


class OpsMiddleware:
    """ASGI middleware around ``app``: the gateway's HTTP layer, in process.

    ``ops``: a ``vana_ops.Ops`` to share (its ``monitor`` and ``security`` are what the layer records into
    and decides with). Without it the middleware makes one from ``config_dir`` (default: the embedded
    defaults, with ``VANA_*`` overrides) and ``input_policies`` (in the shape of ``http.input_policies``),
    available as ``middleware.ops``. Routes are named by the application's route templates, read at its
    first request.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        ops: Optional[Ops] = None,
        config_dir: Optional[str] = None,
        input_policies: Optional[Dict[str, Any]] = None,
    ) -> None:
        if ops is not None and (config_dir is not None or input_policies is not None):
            raise ValueError("give ops, or config_dir and input_policies to make one, not both")
        self.app = app
        self.ops = ops if ops is not None else Ops(config_dir, input_policies=input_policies)
        self._layer: Optional[HttpLayer] = None

    @property
    def monitor(self) -> PerformanceMonitor:
        """The monitor the layer records into."""
        return self.ops.monitor

    @property
    def security(self) -> SecurityManager:
        """The security manager the layer decides with."""
        return self.ops.security

    def _http_layer(self) -> HttpLayer:
        if self._layer is None:
            self._layer = HttpLayer(self.ops, route_templates(self.app))
        return self._layer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        exchange = self._http_layer().exchange(
            scope.get("method", "GET"),
            _target(scope),
            scope.get("headers") or [],
            (str(client[0]), int(client[1])) if client else None,
            scope.get("scheme", "http"),
            scope.get("http_version", "1.1"),
        )
        try:
            verdict = await _settle(exchange.decide, exchange, receive)
            if verdict[0] == "respond":
                start = {"type": "http.response.start", "status": verdict[1], "headers": verdict[2]}
                await _to_client(exchange, send, start)
                await _send_body(exchange, send, b"", False)
            else:
                await self._run_app(exchange, {**scope, "headers": verdict[1]}, receive, send)
        except BaseException:
            exchange.client_gone()
            raise
        finally:
            forward_log_lines()

    async def _run_app(self, exchange: Exchange, scope: Scope, receive: Receive, send: Send) -> None:
        """The application, reading the body as the layer passed it on and answering through the layer."""
        body_done = False
        started = False

        async def app_receive() -> Message:
            nonlocal body_done
            if not body_done:
                step = await _settle(exchange.read_body, exchange, receive)
                if step[0] == "data":
                    body_done = bool(step[2])
                    return {"type": "http.request", "body": step[1], "more_body": not step[2]}
                body_done = True
                if step[0] == "end":
                    return {"type": "http.request", "body": b"", "more_body": False}
                # The client went away, or the body passed the route's cap.
                return {"type": "http.disconnect"}
            # After the body, the client's own messages: `http.disconnect` only when it really goes. A body
            # message now is the server's empty one for a request without a body, which the layer took as
            # ended already.
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return message

        async def app_send(message: Message) -> None:
            nonlocal started
            kind = message["type"]
            if kind == "http.response.start":
                status, headers = exchange.start_response(int(message["status"]), message.get("headers") or [])
                started = True
                await _to_client(exchange, send, {**message, "status": status, "headers": headers})
            elif kind == "http.response.body":
                await _send_body(exchange, send, message.get("body", b""), bool(message.get("more_body", False)))
            else:
                await send(message)

        try:
            await self.app(scope, app_receive, app_send)
        except BaseException:
            exchange.app_failed()
            raise
        if not started:
            exchange.app_failed()


async def _send_body(exchange: Exchange, send: Send, chunk: bytes, more_body: bool) -> None:
    """One body message through the layer's watch, and what comes out to the client, as it went in."""
    chunks, ended = exchange.send_body(chunk, more_body)
    for index, data in enumerate(chunks):
        last = ended and index == len(chunks) - 1
        await _to_client(exchange, send, {"type": "http.response.body", "body": data, "more_body": not last})
    if ended and not chunks:
        await _to_client(exchange, send, {"type": "http.response.body", "body": b"", "more_body": False})


async def _to_client(exchange: Exchange, send: Send, message: Message) -> None:
    """``message`` to the client; a send that fails is the client's going, recorded as such before the
    error goes on (so the application's failing on it is not counted as the stream's)."""
    try:
        await send(message)
    except BaseException:
        exchange.client_gone()
        raise


def ops_app(source: Union[Ops, PerformanceMonitor]) -> ASGIApp:
    """An ASGI app answering ``GET /metrics`` (Prometheus text) and ``GET /health`` (JSON: ``ok``,
    ``degraded`` while a warning fires, ``critical`` while a critical alert fires); mount it beside the
    application. Given an ``Ops`` (``middleware.ops``), ``/metrics`` says what the gateway's says."""

    def metrics() -> str:
        return source.metrics_text() if isinstance(source, Ops) else source.prometheus()

    def health() -> str:
        if isinstance(source, Ops):
            return source.health_status()
        return "critical" if source.firing("critical") else "degraded" if source.firing("warning") else "ok"

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope.get("path", "").rstrip("/").rsplit("/", 1)[-1]
        if path == "metrics":
            status, content_type, body = 200, b"text/plain; version=0.0.4; charset=utf-8", metrics().encode()
        elif path == "health":
            status, content_type, body = 200, b"application/json", b'{"status": "%s"}' % health().encode()
        else:
            status, content_type, body = 404, b"application/json", b'{"error": "not_found"}'
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return app
