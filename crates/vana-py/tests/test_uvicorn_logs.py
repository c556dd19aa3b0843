"""Under plain ``uvicorn main:service`` with the documented one line (``vana_ops.install_logging()``), the
middleware's access and security lines reach standard error as the gateway's JSON lines, with the correlation
id."""

import json
import subprocess
import sys
import time

import httpx

from conftest import free_port

APP = '''
import vana_ops
from fastapi import FastAPI
from vana_ops.asgi import OpsMiddleware

vana_ops.install_logging()
app = FastAPI()

@app.get("/echo")
async def echo(msg: str = ""):
    return {"msg": msg}

service = OpsMiddleware(app)
'''


def test_access_and_security_lines_reach_stderr_under_plain_uvicorn(tmp_path):
    (tmp_path / "main.py").write_text(APP)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "main:service", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.time() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/echo", timeout=1)
                break
            except httpx.TransportError:
                assert time.time() < deadline and server.poll() is None, "uvicorn started"
                time.sleep(0.1)
        clean = httpx.get(f"http://127.0.0.1:{port}/echo?msg=hi", headers={"X-Correlation-ID": "req-clean"})
        assert clean.status_code == 200
        attack = httpx.get(f"http://127.0.0.1:{port}/echo", params={"msg": "1' OR 1=1--"},
                           headers={"X-Correlation-ID": "req-attack"})
        assert attack.status_code == 400
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=15)
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["component"] == "access" and line["correlation_id"] == "req-clean"]
    assert access and access[0]["metadata"]["status"] == 200, stderr
    security = [line for line in lines if line["component"] == "security" and line["correlation_id"] == "req-attack"]
    assert security and security[0]["metadata"]["event_type"] == "input_rejected", stderr
    assert security[0]["level"] == "CRITICAL", "the gateway's line: an injection refused is critical"
    assert "1=1" not in json.dumps(security), "the payload is never echoed"
