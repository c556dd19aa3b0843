"""APM's decorators, as the specification uses them."""

import asyncio

import pytest

from vana_ops import APM, PerformanceMonitor


def test_trace_records_success_and_names_by_module_and_function():
    monitor = PerformanceMonitor()
    apm = APM(monitor)

    @apm.trace()
    def handler(x):
        return x * 2

    assert handler(21) == 42
    assert handler.__name__ == "handler"
    [metric] = monitor.get_metrics(f"response_time.{__name__}.handler")
    assert metric.tags == {"success": "True"} and metric.value >= 0


def test_trace_records_failure_and_lets_the_exception_propagate():
    monitor = PerformanceMonitor()
    apm = APM(monitor)

    @apm.trace("llm.call", tags={"model": "big"})
    def call():
        raise TimeoutError("no answer")

    with pytest.raises(TimeoutError, match="no answer"):
        call()
    [metric] = monitor.get_metrics("response_time.llm.call")
    assert metric.tags == {"success": "False", "model": "big"}
    [error] = monitor.get_metrics("errors.llm.call")
    assert error.value == 1 and error.unit == "count" and error.tags == {"error": "TimeoutError"}


def test_trace_async_records_both_outcomes():
    monitor = PerformanceMonitor()
    apm = APM(monitor)

    @apm.trace_async("agent.step")
    async def step(fail):
        await asyncio.sleep(0)
        if fail:
            raise ValueError("bad step")
        return "done"

    assert asyncio.run(step(False)) == "done"
    with pytest.raises(ValueError):
        asyncio.run(step(True))
    tags = [metric.tags["success"] for metric in monitor.get_metrics("response_time.agent.step")]
    assert tags == ["True", "False"]
    assert monitor.get_summary("errors.agent.step")["count"] == 1
