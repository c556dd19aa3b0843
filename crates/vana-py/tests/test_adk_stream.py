"""The real ADK server's FastAPI app (``google-adk``, the offline app of crates/vana-testkit/adk) under uvicorn
behind ``OpsMiddleware``: ``/run_sse`` with its JSON body arrives whole, event by event, as ADK sends it."""

import time
from pathlib import Path

import httpx
import pytest

from conftest import served
from vana_ops.asgi import OpsMiddleware

APPS = Path(__file__).resolve().parents[2] / "vana-testkit" / "adk"


@pytest.fixture(scope="module")
def adk_behind_the_middleware():
    try:
        from google.adk.cli.fast_api import get_fast_api_app
    except ImportError as error:  # pragma: no cover - the environment says what to install
        pytest.fail(f"google-adk is missing: run `cargo xtask python-env` (pip install google-adk==2.13.0): {error}")
    app = get_fast_api_app(
        agents_dir=str(APPS), session_service_uri="memory://", artifact_service_uri="memory://", web=False,
    )
    # ADK's messages are chat: the JSON text is recorded, not refused (the VANA recipe's choice).
    policies = {"default": {"action": "block"}, "routes": {"/run_sse": {"json": {"/newMessage": "detect"}}}}
    with served(OpsMiddleware(app, input_policies=policies), lifespan="auto", within=60) as base:
        yield base


def run_sse(base: str, text: str):
    """(events, seconds from the first event to the last) of one ``/run_sse``."""
    message = {
        "appName": "vana", "userId": "user-1", "sessionId": "s-1", "streaming": True,
        "newMessage": {"role": "user", "parts": [{"text": text}]},
    }
    arrivals = []
    with httpx.stream("POST", f"{base}/run_sse", json=message, timeout=30) as response:
        assert response.status_code == 200, response.read()
        buffered = ""
        for chunk in response.iter_text():
            buffered += chunk
            while "\n\n" in buffered:
                event, buffered = buffered.split("\n\n", 1)
                if event.startswith("data: "):
                    arrivals.append((time.perf_counter(), event))
    return arrivals


def test_adk_s_run_sse_passes_every_event_as_it_is_sent(adk_behind_the_middleware):
    base = adk_behind_the_middleware
    created = httpx.post(f"{base}/apps/vana/users/user-1/sessions/s-1", json={})
    assert created.status_code == 200, created.text
    arrivals = run_sse(base, "how do I DROP TABLE users in SQL?")
    # The offline model streams three partial events 50 ms apart, then the whole answer.
    assert len(arrivals) == 4, [event for _, event in arrivals]
    assert "echo: how do I DROP TABLE users in SQL?" in arrivals[-1][1]
    assert arrivals[-1][0] - arrivals[0][0] >= 0.1, "events arrived as sent, not all at once"
