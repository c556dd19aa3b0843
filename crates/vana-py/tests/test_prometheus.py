"""The shipped Grafana dashboard and alert rules read a Python service as they read the gateway: Debian's
``prometheus`` scrapes ``OpsMiddleware``'s ``/_ops/metrics`` (a FastAPI application under uvicorn) with the
rules ``vana-ops export-rules`` writes, every panel's and rule's query returns data but the gateway's proxy
panel, and the response-time and time-to-first-token rules fire for the routes that earned them."""

import asyncio
import json
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from starlette.routing import Mount

from conftest import free_port, served
from vana_ops.asgi import OpsMiddleware, ops_app

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "deploy" / "grafana" / "vana-ops-dashboard.json"
# Upstream errors are the gateway's own (a 502 when the upstream fails): a service in process has none.
GATEWAY_ONLY = {"vana_upstream_errors_total"}

SECURITY = """
http:
  route_templates: ["/echo", "/slow", "/chat"]
  route_settings:
    "/chat": {ai_operation: {}}
"""

MONITORING = """
thresholds:
  response_time: {warning: 0.2, critical: 120, for_seconds: 1}
  time_to_first_token: {metric: gen_ai.server.time_to_first_token, warning: 0.1, critical: 60, for_seconds: 0}
alerting:
  channels:
    - {type: alertmanager, level: warning, urls: ["http://127.0.0.1:9/api/v2/alerts"]}
"""

EVENTS = [
    (0.0, '{"author":"demo","actions":{"stateDelta":{"turn":1}}}'),
    (0.3, '{"author":"demo","modelVersion":"demo-model","partial":true,"content":{"parts":[{"text":"Hello"}]}}'),
    (0.05, '{"author":"demo","modelVersion":"demo-model","content":{"parts":[{"text":"Hello there"}]},'
           '"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":4}}'),
]


def application(config_dir: Path) -> OpsMiddleware:
    app = FastAPI()

    @app.get("/echo")
    async def echo() -> str:
        return "echo"

    @app.get("/slow")
    async def slow(ms: int = 100) -> str:
        await asyncio.sleep(ms / 1000)
        return "slow"

    @app.get("/chat")
    async def chat() -> StreamingResponse:
        async def events():
            for pause, event in EVENTS:
                await asyncio.sleep(pause)
                yield f"data: {event}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    service = OpsMiddleware(app, config_dir=str(config_dir))
    app.router.routes.append(Mount("/_ops", app=ops_app(service.ops)))
    return service


def tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: install Debian's `{package}` package (cargo xtask ci does)")
    return found


def export_rules(config_dir: Path) -> str:
    binary = ROOT / "target" / "debug" / "vana-ops"
    if not binary.exists():
        pytest.fail(f"{binary} is missing: build it with `cargo build -p vana-ops-cli` (cargo xtask ci does)")
    out = config_dir / "rules.yml"
    subprocess.run([str(binary), "export-rules", "--config", str(config_dir), "--output", str(out)], check=True)
    return out.read_text()


class Prometheus:
    def __init__(self, target: str, rules: str, workdir: Path) -> None:
        (workdir / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n"
            "rule_files: [rules.yml]\n"
            "scrape_configs:\n"
            f"  - {{job_name: vana-ops, metrics_path: /_ops/metrics, static_configs: [{{targets: ['{target}']}}]}}\n"
        )
        (workdir / "rules.yml").write_text(rules)
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [tool("prometheus", "prometheus"), f"--config.file={workdir / 'prometheus.yml'}",
             f"--storage.tsdb.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        assert eventually(30, lambda: self.ready()), "prometheus started"

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.base}/-/ready", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def query(self, promql: str) -> list:
        answer = httpx.get(f"{self.base}/api/v1/query", params={"query": promql}, timeout=5).json()
        return answer.get("data", {}).get("result", [])

    def firing(self, alertname: str, route: str) -> bool:
        alerts = httpx.get(f"{self.base}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
        return any(alert["state"] == "firing" and alert["labels"].get("alertname") == alertname
                   and alert["labels"].get("http_route") == route for alert in alerts)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def eventually(within: float, done) -> bool:
    deadline = time.time() + within
    while time.time() < deadline:
        if done():
            return True
        time.sleep(0.25)
    return False


def dashboard_queries() -> list:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    queries = [target["expr"].replace("$job", "vana-ops").replace("$instance", ".*").replace("$__rate_interval", "1m")
               for panel in panels for target in panel.get("targets", [])]
    assert len(queries) >= 20
    return queries


def rule_queries(rules: str) -> list:
    """The query part of every rule (before its comparison with the line)."""
    queries = []
    for group in yaml.safe_load(rules)["groups"]:
        for rule in group["rules"]:
            expr = rule["expr"]
            cuts = [expr.find(op) for op in (" >= ", " <= ", " == ") if op in expr]
            queries.append(expr[: min(cuts)] if cuts else expr)
    assert queries, "the rules have expressions"
    return queries


def send_traffic(base: str, prometheus: Prometheus) -> None:
    with httpx.Client(base_url=base, timeout=10) as client:
        for index in range(10):
            assert client.get("/echo", headers={"x-forwarded-for": f"198.51.100.{index + 1}"}).status_code == 200
        assert client.get("/slow?ms=300").status_code == 200
        # The rest once Prometheus holds the route's first count, so the rule sees them as an increase.
        assert eventually(60, lambda: prometheus.query(
            'http_server_request_duration_seconds_count{http_route="/slow"} >= 1')), "scraped /slow"
        for _ in range(5):
            assert client.get("/slow?ms=300").status_code == 200
        for _ in range(3):
            answer = client.get("/chat")
            assert answer.status_code == 200 and "Hello there" in answer.text
            time.sleep(0.5)
        assert client.get("/echo", params={"msg": "1' OR 1=1--"}).status_code == 400


def test_the_dashboard_and_rules_read_a_python_service(tmp_path):
    (tmp_path / "security").mkdir()
    (tmp_path / "monitoring").mkdir()
    (tmp_path / "security" / "security_policies.yaml").write_text(SECURITY)
    (tmp_path / "monitoring" / "monitoring.yaml").write_text(MONITORING)
    rules = export_rules(tmp_path)
    with served(application(tmp_path)) as base:
        prometheus = Prometheus(base.removeprefix("http://"), rules, tmp_path)
        try:
            assert eventually(60, lambda: prometheus.query('up{job="vana-ops"} == 1')), "Prometheus scrapes the service"
            send_traffic(base, prometheus)
            empty = [query for query in dashboard_queries() + rule_queries(rules)]
            deadline = time.time() + 40
            while time.time() < deadline:
                empty = [query for query in empty if not prometheus.query(query)]
                if all(any(family in query for family in GATEWAY_ONLY) for query in empty):
                    break
                time.sleep(0.5)
            assert all(any(family in query for family in GATEWAY_ONLY) for query in empty), \
                "queries without data:\n" + "\n".join(empty)
            assert eventually(30, lambda: prometheus.firing("response_time", "/slow")), "the slow route's rule fired"
            assert eventually(30, lambda: prometheus.firing("time_to_first_token", "/chat")), \
                "the time-to-first-token rule fired for /chat's 300 ms first token"
        finally:
            prometheus.stop()
