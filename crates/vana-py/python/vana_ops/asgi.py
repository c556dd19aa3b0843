"""``OpsMiddleware`` for Starlette and FastAPI, and ``ops_app``, an ASGI app for ``/metrics`` and ``/health``.

The middleware takes the steps of the vana-ops HTTP layer, in process and in this order: correlation id,
client address (trusted proxies from the configuration), blocklist, rate limit, input validation (path,
query values, form, JSON and text bodies up to a size cap) with an action per route prefix, then the
application; on the way out the security headers and the correlation id, an access log line, and the
request's duration under its route template, in the gateway's family (``http_server_request_duration_seconds``). Responses are never buffered: a streaming response (Server-Sent Events) passes
through message by message.
"""

import json
import logging
import math
import re
import time
import uuid
from typing import Any, Awaitable, Callable, Dict, Iterable, MutableMapping, Optional, Tuple
from urllib.parse import parse_qsl, unquote

from ._native import PerformanceMonitor, SecurityManager, load_config
from .policies import Policies, RoutePolicy

# The ASGI types, as Starlette names them.
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_access_log = logging.getLogger("vana_ops.access")
_security_log = logging.getLogger("vana_ops.security")


def _security_line(level: int, event_type: str, client: str, correlation_id: str, details: Dict[str, Any]) -> None:
    """The security event as a JSON line of component ``security`` (``vana_ops.install_logging`` shows it)."""
    if _security_log.isEnabledFor(level):
        _security_log.log(level, json.dumps({
            "timestamp": time.time(), "level": logging.getLevelName(level).lower(), "component": "security",
            "correlation_id": correlation_id, "message": event_type,
            "metadata": {"event_type": event_type, "client": client, **details},
        }))


def _json_response(status: int, body: dict, headers: Iterable[Tuple[bytes, bytes]] = ()):
    payload = json.dumps(body).encode()
    return status, [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *headers], payload


def _json_strings(value, pointer, depth: int = 0):
    """Every string of a JSON document (keys and values) with its JSON Pointer steps, depth-capped."""
    if depth > 32:
        return
    if isinstance(value, str):
        yield pointer, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield [*pointer, key], key
            yield from _json_strings(item, [*pointer, key], depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_strings(item, [*pointer, str(index)], depth + 1)


class OpsMiddleware:
    """ASGI middleware around ``app``.

    ``config_dir``: the directory of ``security/security_policies.yaml`` and ``monitoring/monitoring.yaml``
    (default: the embedded defaults, with ``VANA_*`` overrides). ``input_policies``: the actions by route and
    location, in the shape of ``http.input_policies`` (default: the configuration's; see
    ``vana_ops.policies``). ``monitor`` and ``security`` may be shared with ``ops_app`` and the application.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        config_dir: Optional[str] = None,
        monitor: Optional[PerformanceMonitor] = None,
        security: Optional[SecurityManager] = None,
        input_policies: Optional[Dict] = None,
        max_body_bytes: Optional[int] = None,
        correlation_header: Optional[str] = None,
    ) -> None:
        config = load_config(config_dir)
        self.app = app
        self.monitor = monitor if monitor is not None else PerformanceMonitor.from_config(config_dir)
        self.security = security if security is not None else SecurityManager.from_config(config_dir)
        http = config["security"]["http"]
        limits = config["security"]["rate_limiting"]
        self.rate_limit = (limits["default_limit"], limits["window_seconds"]) if http["rate_limit"] else None
        self.block_addresses = http["block_addresses"]
        self.validate = http["validate_input"]
        self.max_body_bytes = max_body_bytes if max_body_bytes is not None else http["max_body_bytes"]
        header = correlation_header or config["monitoring"]["logging"]["correlation_id_header"]
        self.correlation_header = header.lower().encode()
        self.policies = Policies(input_policies if input_policies is not None else http["input_policies"])
        self.exempt_paths = [path.rstrip("/") for path in http["validation_exempt_paths"]]
        self.validated_headers = [name.lower().encode() for name in http["validated_headers"]]
        self.security_headers = [
            (name.lower().encode(), value.encode()) for name, value in self.security.get_security_headers().items()
        ]

    def _exempt(self, path: str) -> bool:
        return any(path == prefix or path.startswith(prefix + "/") for prefix in self.exempt_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        given = headers.get(self.correlation_header, b"").decode("latin-1")
        correlation_id = given if _CORRELATION_ID.match(given) else str(uuid.uuid4())
        peer = (scope.get("client") or ("127.0.0.1", 0))[0]
        forwarded = headers.get(b"x-forwarded-for")
        try:
            client = self.security.client_address(peer, forwarded.decode("latin-1") if forwarded else None)
        except ValueError:
            client = "0.0.0.0"
        status_holder = {"status": 500}

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in self.security_headers if name not in present]
                extra.append((self.correlation_header, correlation_id.encode()))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        refusal, receive = await self._admit(scope, receive, client, headers, correlation_id)
        if refusal is not None:
            status, response_headers, payload = refusal
            await send_with_headers({"type": "http.response.start", "status": status, "headers": response_headers})
            await send({"type": "http.response.body", "body": payload})
        else:
            try:
                await self.app(scope, receive, send_with_headers)
            except Exception:
                status_holder["status"] = 500
                raise
            finally:
                self._finish(scope, client, correlation_id, status_holder["status"], started)
            return
        self._finish(scope, client, correlation_id, refusal[0], started)

    async def _admit(self, scope, receive, client, headers, correlation_id):
        """A refusal ``(status, headers, body)`` or None, and the ``receive`` the application gets."""
        route = {"route": scope.get("path", "")}
        if self.block_addresses and self.security.is_ip_blocked(client):
            _security_line(logging.WARNING, "address_blocked", client, correlation_id, route)
            return _json_response(403, {"error": "address_blocked", "correlation_id": correlation_id}), receive
        if self.rate_limit is not None:
            allowed, wait = self.security.rate_limit_decision(client, *self.rate_limit)
            if not allowed:
                _security_line(logging.WARNING, "rate_limited", client, correlation_id, route)
                retry_after = max(1, math.ceil(wait))
                body = {"error": "rate_limited", "correlation_id": correlation_id, "retry_after_seconds": retry_after}
                return _json_response(429, body, [(b"retry-after", str(retry_after).encode())]), receive
        path = scope.get("path", "")
        if not self.validate or self._exempt(path):
            return None, receive
        policy = self.policies.for_path(path)
        checks = [("path", policy.action("path"), unquote(path))]
        for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
            checks.append(("query", policy.action("query", name), value))
        for name in self.validated_headers:
            if name in headers:
                checks.append(("header", policy.action("headers", name.decode()), headers[name].decode("latin-1")))
        named_cookies = policy.cookies_named()
        if named_cookies and b"cookie" in headers:
            for pair in headers[b"cookie"].decode("latin-1").split(";"):
                name, _, value = pair.strip().partition("=")
                if name in named_cookies:
                    checks.append(("cookie", policy.action("cookies", name), value))
        kind = headers.get(b"content-type", b"").decode("latin-1").lower().split(";")[0].strip()
        if scope.get("method") in ("POST", "PUT", "PATCH", "DELETE") and kind in (
            "application/json", "application/x-www-form-urlencoded", "text/plain",
        ):
            body, too_large = await self._read_body(receive)
            if too_large:
                return _json_response(413, {"error": "body_too_large", "correlation_id": correlation_id}), receive
            checks.extend(self._body_checks(policy, kind, body))
            receive = _replay(body, receive)
        agent = headers.get(b"user-agent", b"").decode("latin-1")
        for location, action, text in checks:
            if action == "off":
                continue
            passed, message = self.security.validate_input(text, max_length=len(text) + 1)
            if passed:
                continue
            details = {"finding": message, "location": location, "route": path, "action": action,
                       "correlation_id": correlation_id}
            if action == "detect":
                self.security.log_security_event("input_detected", "low", client, agent, details)
                _security_line(logging.WARNING, "input_detected", client, correlation_id, details)
                continue
            self.security.log_security_event("input_rejected", "medium", client, agent, details)
            _security_line(logging.WARNING, "input_rejected", client, correlation_id, details)
            self.security.record_refused_attack(client)
            body = {"error": "input_rejected", "finding": message, "location": location, "correlation_id": correlation_id}
            return _json_response(400, body), receive
        return None, receive

    @staticmethod
    def _body_checks(policy: RoutePolicy, kind: str, body: bytes):
        text = body.decode("utf-8", errors="replace")
        if kind == "application/json":
            try:
                document = json.loads(text)
            except ValueError:
                return [("body", policy.action("body"), text)]
            return [("json", policy.json_action(pointer), value) for pointer, value in _json_strings(document, [])]
        if kind == "application/x-www-form-urlencoded":
            return [("form", policy.action("form", name), value) for name, value in parse_qsl(text, keep_blank_values=True)]
        return [("body", policy.action("body"), text)]

    async def _read_body(self, receive):
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return b"", True
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks), False

    def _route(self, scope: Scope) -> str:
        """The request's route template: the one the application matched, else the first of its routes that
        matches (a refused request never reached the router), else ``other``."""
        matched = getattr(scope.get("route"), "path", None)
        if matched:
            return str(matched)
        try:
            from starlette.routing import Match
        except ImportError:
            return "other"
        for route in getattr(self.app, "routes", None) or ():
            if route.matches(scope)[0] == Match.FULL:
                return str(getattr(route, "path", "other"))
        return "other"

    def _finish(self, scope, client, correlation_id, status, started):
        elapsed = time.perf_counter() - started
        route = self._route(scope)
        method = scope.get("method", "GET")
        # As the gateway records it: http_server_request_duration_seconds{http_route, method, status code}.
        self.monitor.record_http_request(route, method, status, elapsed)
        if _access_log.isEnabledFor(logging.INFO):
            _access_log.info(json.dumps({
                "timestamp": time.time(), "level": "info", "component": "access", "correlation_id": correlation_id,
                "message": f"{method} {route} {status}",
                "metadata": {"method": method, "route": route, "status": status, "client": client,
                             "duration_ms": round(elapsed * 1000, 3)},
            }))


def _replay(body: bytes, receive):
    """``receive`` for the application once the middleware has read the body: the body once, then the
    client's own messages, so ``http.disconnect`` comes only when the client really goes (a streaming
    response listens for it and would stop at once)."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def ops_app(monitor: PerformanceMonitor) -> ASGIApp:
    """An ASGI app answering ``GET /metrics`` (Prometheus text) and ``GET /health`` (JSON: ``ok``, ``degraded``
    while a warning fires, ``critical`` while a critical alert fires); mount it beside the application."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope.get("path", "").rstrip("/").rsplit("/", 1)[-1]
        if path == "metrics":
            status, content_type, body = 200, b"text/plain; version=0.0.4; charset=utf-8", monitor.prometheus().encode()
        elif path == "health":
            state = "critical" if monitor.firing("critical") else "degraded" if monitor.firing("warning") else "ok"
            status, content_type, body = 200, b"application/json", json.dumps({"status": state}).encode()
        else:
            status, content_type, body = 404, b"application/json", b'{"error": "not_found"}'
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return app
