"""``OpsMiddleware`` for Starlette and FastAPI, and ``ops_app``, an ASGI app for ``/metrics`` and ``/health``.

The middleware takes the steps of the vana-ops HTTP layer, in process and in this order: correlation id,
client address (trusted proxies from the configuration), blocklist, rate limit, input validation (path,
query values, form, JSON and text bodies up to a size cap) with an action per route prefix, then the
application; on the way out the security headers and the correlation id, an access log line, and the
response time of the route. Responses are never buffered: a streaming response (Server-Sent Events) passes
through message by message.
"""

import json
import logging
import re
import time
import uuid
from typing import Dict, Iterable, Optional, Tuple
from urllib.parse import parse_qsl, unquote

from ._native import PerformanceMonitor, SecurityManager, load_config

_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_ACTIONS = ("block", "detect", "off")
_access_log = logging.getLogger("vana_ops.access")


def _json_response(status: int, body: dict, headers: Iterable[Tuple[bytes, bytes]] = ()):
    payload = json.dumps(body).encode()
    return status, [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *headers], payload


def _strings_of(value, depth: int = 0):
    """Every string of a JSON document (keys and values), depth-capped."""
    if depth > 32:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings_of(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _strings_of(item, depth + 1)


class OpsMiddleware:
    """ASGI middleware around ``app``.

    ``config_dir``: the directory of ``security/security_policies.yaml`` and ``monitoring/monitoring.yaml``
    (default: the embedded defaults, with ``VANA_*`` overrides). ``policies``: an action (``block``, ``detect``
    or ``off``) per route path prefix, the longest prefix winning, ``default_action`` elsewhere.
    ``monitor`` and ``security`` may be shared with ``ops_app`` and the application.
    """

    def __init__(
        self,
        app,
        *,
        config_dir: Optional[str] = None,
        monitor: Optional[PerformanceMonitor] = None,
        security: Optional[SecurityManager] = None,
        policies: Optional[Dict[str, str]] = None,
        default_action: str = "block",
        max_body_bytes: Optional[int] = None,
        correlation_header: Optional[str] = None,
    ):
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
        for action in [default_action, *(policies or {}).values()]:
            if action not in _ACTIONS:
                raise ValueError(f"an action is block, detect or off, not {action!r}")
        self.default_action = default_action
        self.policies = sorted((policies or {}).items(), key=lambda item: len(item[0]), reverse=True)
        self.security_headers = [
            (name.lower().encode(), value.encode()) for name, value in self.security.get_security_headers().items()
        ]

    def action_for(self, path: str) -> str:
        for prefix, action in self.policies:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return action
        return self.default_action

    async def __call__(self, scope, receive, send):
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
        if self.block_addresses and self.security.is_ip_blocked(client):
            return _json_response(403, {"error": "address_blocked", "correlation_id": correlation_id}), receive
        if self.rate_limit is not None and not self.security.check_rate_limit(client, *self.rate_limit):
            return _json_response(429, {"error": "rate_limited", "correlation_id": correlation_id}, [(b"retry-after", b"1")]), receive
        path = scope.get("path", "")
        action = self.action_for(path) if self.validate else "off"
        if action == "off":
            return None, receive
        texts = [unquote(path)]
        texts.extend(value for _, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        if scope.get("method") in ("POST", "PUT", "PATCH") and content_type.split(";")[0].strip() in (
            "application/json", "application/x-www-form-urlencoded", "text/plain",
        ):
            body, too_large = await self._read_body(receive)
            if too_large:
                return _json_response(413, {"error": "body_too_large", "correlation_id": correlation_id}), receive
            texts.extend(self._body_texts(content_type, body))
            receive = _replay(body)
        for location, text in enumerate(texts):
            passed, message = self.security.validate_input(text, max_length=len(text) + 1)
            if passed:
                continue
            where = "path" if location == 0 else "input"
            if action == "detect":
                self.security.log_security_event("input_detected", "low", client, headers.get(b"user-agent", b"").decode("latin-1"), {
                    "finding": message, "location": where, "route": path, "correlation_id": correlation_id,
                })
                continue
            self.security.log_security_event("input_rejected", "medium", client, headers.get(b"user-agent", b"").decode("latin-1"), {
                "finding": message, "location": where, "route": path, "correlation_id": correlation_id,
            })
            self.security.record_refused_attack(client)
            return _json_response(400, {"error": "input_rejected", "finding": message, "correlation_id": correlation_id}), receive
        return None, receive

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

    @staticmethod
    def _body_texts(content_type: str, body: bytes):
        text = body.decode("utf-8", errors="replace")
        if content_type.startswith("application/json"):
            try:
                return list(_strings_of(json.loads(text)))
            except ValueError:
                return [text]
        if content_type.startswith("application/x-www-form-urlencoded"):
            return [value for pair in parse_qsl(text, keep_blank_values=True) for value in pair]
        return [text]

    def _finish(self, scope, client, correlation_id, status, started):
        elapsed = time.perf_counter() - started
        route = getattr(scope.get("route"), "path", None) or "other"
        method = scope.get("method", "GET")
        self.monitor.record_response_time(route, elapsed, success=status < 500, method=method, status_code=str(status))
        if _access_log.isEnabledFor(logging.INFO):
            _access_log.info(json.dumps({
                "timestamp": time.time(), "level": "info", "component": "access", "correlation_id": correlation_id,
                "message": f"{method} {route} {status}",
                "metadata": {"method": method, "route": route, "status": status, "client": client,
                             "duration_ms": round(elapsed * 1000, 3)},
            }))


def _replay(body: bytes):
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def ops_app(monitor: PerformanceMonitor):
    """An ASGI app answering ``GET /metrics`` (Prometheus text) and ``GET /health`` (JSON: ``ok``, ``degraded``
    while a warning fires, ``critical`` while a critical alert fires); mount it beside the application."""

    async def app(scope, receive, send):
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
