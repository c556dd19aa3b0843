"""OpsMiddleware in front of a real FastAPI application under uvicorn on the loopback, driven by httpx."""

import asyncio
import json
import logging
import time

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from starlette.routing import Mount

from conftest import served
from vana_ops.asgi import OpsMiddleware, ops_app


def build_app():
    app = FastAPI()

    @app.get("/echo")
    async def echo(msg: str = ""):
        return {"msg": msg}

    @app.post("/chat")
    async def chat(body: dict):
        return {"answer": f"you said {len(body.get('message', ''))} characters"}

    @app.get("/items/{item_id}")
    async def item(item_id: str):
        return {"item": item_id}

    @app.get("/stream")
    async def stream():
        async def events():
            for index in range(3):
                yield f"data: {index}\n\n"
                await asyncio.sleep(0.2)

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.get("/broken")
    async def broken():
        async def events():
            yield "data: 0\n\n"
            raise RuntimeError("the model went away")

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.post("/run_sse")
    async def run_sse(body: dict):
        async def events():
            for index in range(5):
                await asyncio.sleep(0.05)
                yield f"data: {{\"index\": {index}, \"user\": \"{body.get('userId', '')}\"}}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    policies = {
        "default": {"action": "block"},
        "routes": {"/chat": {"json": {"/message": "detect"}}, "/items/{item_id}": {"query": {"note": "off"}}},
    }
    service = OpsMiddleware(app, input_policies=policies)
    app.router.routes.append(Mount("/_ops", app=ops_app(service.ops)))
    return service


@pytest.fixture(scope="module")
def server():
    service = build_app()
    with served(service) as base:
        yield base, service.monitor, service.security


def test_a_clean_request_gets_headers_a_correlation_id_a_metric_and_a_log_line(server, caplog):
    base, monitor, _ = server
    with caplog.at_level(logging.INFO, logger="vana_ops.access"):
        response = httpx.get(f"{base}/items/7", headers={"X-Correlation-ID": "req-123"})
    assert response.status_code == 200 and response.json() == {"item": "7"}
    assert response.headers["x-correlation-id"] == "req-123"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in response.headers
    # The middleware records and logs once the response is sent, which the client may see first: poll,
    # bounded, for the metric and the line both.
    def logged():
        lines = [json.loads(record.getMessage()) for record in caplog.records]
        return [line for line in lines if line["correlation_id"] == "req-123" and line["metadata"]["status"] == 200]

    deadline = time.time() + 5
    while not logged() and time.time() < deadline:
        time.sleep(0.01)
    assert logged(), [record.getMessage() for record in caplog.records]
    assert monitor.get_summary("response_time./items/{item_id}")["count"] >= 1, "named by the route template"
    generated = httpx.get(f"{base}/echo", headers={"X-Correlation-ID": "bad id\twith spaces"})
    assert generated.headers["x-correlation-id"] != "bad id\twith spaces"


def test_an_attack_is_refused_without_echo_and_a_detect_route_lets_it_through(server):
    base, _, security = server
    headers = {"X-Forwarded-For": "198.51.100.20"}
    refused = httpx.get(f"{base}/echo", params={"msg": "1' OR 1=1--"}, headers=headers)
    assert refused.status_code == 400
    assert refused.json()["error"] == "input_rejected" and "1=1" not in refused.text
    body = httpx.post(f"{base}/chat", json={"message": "How do I write 1' OR 1=1-- safely?"}, headers=headers)
    assert body.status_code == 200, "the chat message field only detects"
    other_field = httpx.post(f"{base}/chat", json={"message": "hi", "tool": "1' OR 1=1--"}, headers=headers)
    assert other_field.status_code == 400 and other_field.json()["location"] == "json", "other fields block"
    off = httpx.get(f"{base}/items/3", params={"note": "1' OR 1=1--"}, headers=headers)
    assert off.status_code == 200, "a field switched off is not validated"
    types = [event.event_type for event in security.security_events]
    assert "input_rejected" in types and "input_detected" in types


def test_the_rate_limit_answers_429_with_retry_after(server):
    base, _, _ = server
    responses = []
    for _ in range(40):
        responses.append(httpx.get(f"{base}/echo", headers={"X-Forwarded-For": "198.51.100.30"}))
        if responses[-1].status_code == 429:
            break
    assert responses[0].status_code == 200
    limited = responses[-1]
    assert limited.status_code == 429, [response.status_code for response in responses]
    assert limited.json()["error"] == "rate_limited"
    # The limiter's own wait, rounded up: 100 a minute frees one request every 0.6 s.
    assert limited.headers["retry-after"] == str(limited.json()["retry_after_seconds"]) == "1"


def test_repeated_attacks_block_the_address(server):
    base, _, security = server
    headers = {"X-Forwarded-For": "198.51.100.40"}
    for _ in range(5):
        httpx.get(f"{base}/echo", params={"msg": "<script>alert(1)</script>"}, headers=headers)
    assert security.is_ip_blocked("198.51.100.40")
    assert httpx.get(f"{base}/echo", headers=headers).status_code == 403


def test_a_streaming_response_is_not_buffered(server):
    base, _, _ = server
    arrivals = []
    with httpx.stream("GET", f"{base}/stream", headers={"X-Forwarded-For": "198.51.100.50"}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "x-correlation-id" in response.headers
        for chunk in response.iter_text():
            if chunk.strip():
                arrivals.append(chunk)
    # Three events written 0.2 s apart arrive as three chunks: a buffering middleware would deliver one.
    assert len(arrivals) == 3, arrivals
    assert [chunk.strip() for chunk in arrivals] == ["data: 0", "data: 1", "data: 2"]


def test_a_stream_answering_a_json_post_passes_whole(server):
    """The body is read for validation and replayed; the app still hears of the client only when it goes."""
    base, _, _ = server
    body = {"userId": "ana", "newMessage": {"parts": [{"text": "hello"}]}}
    with httpx.stream("POST", f"{base}/run_sse", json=body, headers={"X-Forwarded-For": "198.51.100.51"}) as response:
        assert response.status_code == 200
        text = "".join(response.iter_text())
    events = [line for line in text.splitlines() if line.startswith("data: ")]
    assert len(events) == 5, text
    assert '"user": "ana"' in events[-1]


def test_metrics_and_health_are_served(server):
    base, _, _ = server
    metrics = httpx.get(f"{base}/_ops/metrics")
    assert metrics.status_code == 200
    # The gateway's family and labels: the shipped dashboard's latency panels and rules read it unchanged.
    served = 'http_server_request_duration_seconds_count{http_route="/echo",http_request_method="GET",http_response_status_code="200"}'
    assert served in metrics.text, metrics.text
    # A refused request counts under its route too, not `other`.
    refused = httpx.get(f"{base}/items/7?q=1%27%20OR%201%3D1--", headers={"X-Forwarded-For": "198.51.100.52"})
    assert refused.status_code == 400
    metrics = httpx.get(f"{base}/_ops/metrics")
    assert 'http_route="/items/{item_id}",http_request_method="GET",http_response_status_code="400"' in metrics.text
    assert httpx.get(f"{base}/_ops/health").json()["status"] in ("ok", "degraded", "critical")


def test_the_middleware_builds_from_the_configuration_alone():
    middleware = OpsMiddleware(FastAPI())
    assert middleware.security.validate_input("1' OR 1=1--")[0] is False
    with pytest.raises(ValueError, match="not both"):
        OpsMiddleware(FastAPI(), ops=middleware.ops, input_policies={})


def test_a_stream_the_application_breaks_counts_as_failed_not_as_the_client_s_going(server):
    base, monitor, _ = server
    try:
        with httpx.stream("GET", f"{base}/broken", headers={"X-Forwarded-For": "198.51.100.53"}) as response:
            assert response.status_code == 200
            for _ in response.iter_bytes():
                pass
    except httpx.HTTPError:
        pass  # the server cut the response: what the client sees of a broken stream
    deadline = time.time() + 5
    failed = 'http_route="/broken",outcome="upstream_error"'
    while failed not in monitor.prometheus() and time.time() < deadline:
        time.sleep(0.05)
    assert failed in monitor.prometheus(), [line for line in monitor.prometheus().splitlines() if "streams" in line]
