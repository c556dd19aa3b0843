"""The vana_ops package against the specification's own Python classes (copied unchanged beside this file),
side by side in one run: record_metric, validate_input on a 10 KB text, get_summary over 1,000 samples, and
the middleware's added time per request against a bare FastAPI application (in process, over ASGI).

    cargo xtask pytest --bench

Prints the median time per call of each over seven repeats, and the ratios.
"""

import asyncio
import platform
import statistics
import sys
import tempfile
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import httpx  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from seed_performance_monitor import PerformanceMonitor as SeedMonitor  # noqa: E402
from seed_security_manager import SecurityManager as SeedSecurity  # noqa: E402

import vana_ops  # noqa: E402
from vana_ops.asgi import OpsMiddleware  # noqa: E402

REPEATS = 7
PARAGRAPH = (
    "The agents answered the question about the weather in Lisbon, then compared three itineraries for a "
    "week in Portugal, keeping the costs of trains and hotels in a small table for the user to review. "
)
TEXT_10KB = (PARAGRAPH * (10_240 // len(PARAGRAPH) + 1))[:10_000]


def per_call(statement, number):
    times = timeit.repeat(statement, number=number, repeat=REPEATS)
    return statistics.median(times) / number


def row(name, seed, ours, target):
    ratio = seed / ours
    verdict = "met" if ratio >= target else "MISSED"
    print(f"| {name} | {seed * 1e6:,.2f} µs | {ours * 1e6:,.2f} µs | {ratio:.1f}x | ≥ {target}x: {verdict} |")
    return ratio


def middleware_cost():
    def app():
        application = FastAPI()

        @application.get("/echo")
        async def echo(msg: str = ""):
            return {"msg": msg}

        return application

    async def measure(asgi_app, requests):
        transport = httpx.ASGITransport(app=asgi_app, client=("198.51.100.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for _ in range(50):
                await client.get("/echo", params={"msg": "hello"})
            loop = asyncio.get_running_loop()
            started = loop.time()
            for _ in range(requests):
                await client.get("/echo", params={"msg": "hello"})
            return (loop.time() - started) / requests

    bare = statistics.median(asyncio.run(measure(app(), 500)) for _ in range(5))
    with tempfile.TemporaryDirectory() as config:
        # The shipped configuration, with a rate limit the benchmark's one client stays under (still checked).
        (Path(config) / "security").mkdir()
        (Path(config) / "security" / "security_policies.yaml").write_text(
            "rate_limiting: {default_limit: 100000000, burst_limit: 100000000}\n"
        )
        wrapped_app = OpsMiddleware(app(), config_dir=config)
        wrapped = statistics.median(asyncio.run(measure(wrapped_app, 500)) for _ in range(5))
    return bare, wrapped


def main():
    print(f"python {platform.python_version()} on {platform.machine()}, {platform.platform()}")
    print()
    print("| operation | specification (Python) | vana_ops | ratio | target |")
    print("|---|---:|---:|---:|---|")
    seed_monitor, monitor = SeedMonitor(), vana_ops.PerformanceMonitor()
    tags = {"queue": "chat"}
    seed = per_call(lambda: seed_monitor.record_metric("queue.depth", 1.0, "jobs", tags=tags), 20_000)
    ours = per_call(lambda: monitor.record_metric("queue.depth", 1.0, "jobs", tags=tags), 20_000)
    row("record_metric", seed, ours, 3)
    seed_security, security = SeedSecurity(), vana_ops.SecurityManager()
    assert seed_security.validate_input(TEXT_10KB)[0] and security.validate_input(TEXT_10KB)[0]
    seed = per_call(lambda: seed_security.validate_input(TEXT_10KB), 200)
    ours = per_call(lambda: security.validate_input(TEXT_10KB), 200)
    row("validate_input, 10 KB of prose", seed, ours, 10)
    seed_monitor, monitor = SeedMonitor(), vana_ops.PerformanceMonitor()
    for value in range(1000):
        seed_monitor.record_metric("latency", value / 1000, "seconds")
        monitor.record_metric("latency", value / 1000, "seconds")
    seed = per_call(lambda: seed_monitor.get_summary("latency"), 2_000)
    ours = per_call(lambda: monitor.get_summary("latency"), 2_000)
    row("get_summary, 1,000 samples (vana_ops adds p50-p99)", seed, ours, 5)
    bare, wrapped = middleware_cost()
    print()
    print(f"FastAPI request in process (httpx ASGI transport): bare {bare * 1e6:,.0f} µs, "
          f"with OpsMiddleware {wrapped * 1e6:,.0f} µs: +{(wrapped - bare) * 1e6:,.0f} µs a request")


if __name__ == "__main__":
    main()
