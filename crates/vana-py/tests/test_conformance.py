"""The conformance table (crates/vana-ops/tests/conformance/cases.json) against ``OpsMiddleware`` in front of
a real FastAPI application under uvicorn. The gateway's layer runs the same table
(crates/vana-ops/tests/conformance.rs): the two must answer every request alike."""

import gzip
import json
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request

from conftest import served
from vana_ops.asgi import OpsMiddleware

TABLE = Path(__file__).resolve().parents[2] / "vana-ops" / "tests" / "conformance"


def application() -> FastAPI:
    """The routes the table names, each answering plainly (as the Rust test's router does)."""
    app = FastAPI()

    @app.get("/echo")
    async def echo() -> str:
        return "echo"

    @app.post("/chat")
    async def chat(request: Request) -> str:
        return f"{len(await request.body())} bytes"

    @app.get("/items/{item_id}")
    async def item(item_id: str) -> str:
        return "item"

    @app.post("/upload")
    async def upload(request: Request) -> str:
        return f"{len(await request.body())} bytes"

    return app


@pytest.fixture(scope="module")
def base():
    with served(OpsMiddleware(application(), config_dir=str(TABLE / "config"))) as url:
        yield url


def differences(expect, response: httpx.Response):
    found = []
    if response.status_code != expect["status"]:
        found.append(f"status {response.status_code}, expected {expect['status']}")
    if "error" in expect:
        try:
            error = response.json().get("error")
        except ValueError:
            error = None
        if error != expect["error"]:
            found.append(f"error {error!r}, expected {expect['error']!r}")
    for name, value in (expect.get("headers") or {}).items():
        if response.headers.get(name) != value:
            found.append(f"{name}: {response.headers.get(name)!r}, expected {value!r}")
    for name in expect.get("present") or []:
        if name not in response.headers:
            found.append(f"{name} missing")
    return found


def test_the_middleware_answers_the_conformance_table(base):
    cases = json.loads((TABLE / "cases.json").read_text())["cases"]
    assert len(cases) >= 25, "the table's size"
    failures = []
    with httpx.Client(base_url=base, timeout=10) as client:
        for index, case in enumerate(cases):
            headers = {"x-forwarded-for": f"198.18.{index}.7", **(case.get("headers") or {})}
            body = case.get("body")
            content = None if body is None else body.encode()
            if content is not None and case.get("gzip"):
                content = gzip.compress(content)
            response = None
            for _ in range(case.get("repeat", 1)):
                request = client.build_request(case["method"], case["target"], headers=headers, content=content)
                # The target as the table writes it, percent-encoding and all (httpx would normalize it).
                request.url = request.url.copy_with(raw_path=case["target"].encode())
                response = client.send(request)
            found = differences(case["expect"], response)
            if found:
                failures.append(f"{case['name']}: {'; '.join(found)}")
    assert not failures, f"{len(failures)} of {len(cases)} cases differ:\n" + "\n".join(failures)
