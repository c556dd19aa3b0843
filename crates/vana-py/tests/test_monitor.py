"""PerformanceMonitor and PerformanceMetric, written from the specification as a porting user would."""

import time

import pytest

from vana_ops import PerformanceMetric, PerformanceMonitor


def test_record_metric_keeps_the_specification_fields():
    monitor = PerformanceMonitor()
    before = time.time()
    monitor.record_metric("queue.depth", 7, "jobs", tags={"queue": "chat"}, metadata={"note": "x"})
    [metric] = monitor.get_metrics("queue.depth")
    assert isinstance(metric, PerformanceMetric)
    assert (metric.metric_name, metric.name, metric.value, metric.unit) == ("queue.depth", "queue.depth", 7.0, "jobs")
    assert metric.tags == {"queue": "chat"}
    assert metric.metadata == {"note": "x"}
    assert before - 1 <= metric.timestamp <= time.time() + 1


def test_the_specifications_threshold_example_warns_at_15_and_is_critical_at_25():
    monitor = PerformanceMonitor()
    monitor.set_threshold("queue.depth", 10, 20)
    monitor.record_metric("queue.depth", 5)
    assert monitor.alerts == []
    monitor.record_metric("queue.depth", 15)
    monitor.record_metric("queue.depth", 25)
    levels = [alert["level"] for alert in monitor.alerts]
    assert levels == ["warning", "critical"]
    critical = monitor.alerts[-1]
    assert critical["metric"] == "queue.depth" and critical["value"] == 25 and critical["threshold"] == 20
    assert critical["message"] == "queue.depth greater 20 (25)"
    assert isinstance(critical["timestamp"], float)


def test_less_comparisons_and_globs_and_bad_comparisons():
    monitor = PerformanceMonitor()
    monitor.set_threshold("disk.*.free", 20, 10, comparison="less")
    monitor.record_metric("disk.root.free", 5, "percent")
    assert monitor.alerts[-1]["level"] == "critical"
    with pytest.raises(ValueError):
        monitor.set_threshold("x", 1, 2, comparison="sideways")


def test_alert_callbacks_are_called_with_each_new_alert_on_the_recording_thread():
    monitor = PerformanceMonitor()
    monitor.set_threshold("latency", 1.0, 2.0)
    seen = []
    monitor.alert_callbacks.append(seen.append)
    monitor.record_metric("latency", 1.5)
    assert [alert["level"] for alert in seen] == ["warning"]
    monitor.record_metric("latency", 1.6)
    assert len(seen) == 1, "a firing alert is not raised again on every sample"


def test_a_callback_that_raises_reaches_the_caller():
    monitor = PerformanceMonitor()
    monitor.set_threshold("latency", 1.0, 2.0)

    def broken(alert):
        raise RuntimeError("callback failed")

    monitor.alert_callbacks.append(broken)
    with pytest.raises(RuntimeError, match="callback failed"):
        monitor.record_metric("latency", 3.0)


def test_record_response_time_tags_success_and_keywords():
    monitor = PerformanceMonitor()
    monitor.record_response_time("checkout", 0.25, success=False, region="eu", cached=True)
    [metric] = monitor.get_metrics("response_time.checkout")
    assert metric.unit == "seconds" and metric.value == 0.25
    # As the specification's `str(success)` and `str(value)` write them; Prometheus keeps `success="false"`.
    assert metric.tags == {"success": "False", "region": "eu", "cached": "True"}
    assert 'success="false"' in monitor.prometheus()


def test_summary_has_the_specification_keys_and_percentiles():
    monitor = PerformanceMonitor()
    assert monitor.get_summary("nothing") == {"count": 0}
    for value in range(1, 101):
        monitor.record_metric("v", value)
    summary = monitor.get_summary("v")
    assert summary["count"] == 100 and summary["min"] == 1 and summary["max"] == 100
    assert summary["avg"] == 50.5 and summary["latest"] == 100
    assert 49 <= summary["p50"] <= 51 and 98 <= summary["p99"] <= 100
    assert monitor.get_summary("v", since=time.time() + 3600) == {"count": 0}


def test_samples_are_capped_per_series():
    monitor = PerformanceMonitor()
    for value in range(1500):
        monitor.record_metric("many", value)
    metrics = monitor.get_metrics("many")
    assert len(metrics) == 1000, "the specification's deque(maxlen=1000), kept"
    assert metrics[-1].value == 1499


def test_memory_and_cpu_are_recorded_without_sleeping():
    monitor = PerformanceMonitor()
    assert monitor.record_memory_usage() is True
    assert monitor.get_summary("memory.system.rss")["latest"] > 1, "more than a megabyte resident"
    assert monitor.get_summary("memory.system.vms")["count"] == 1
    assert monitor.record_cpu_usage() is True, "the first call records the use since the process started"
    assert monitor.record_cpu_usage() is True, "the second call the use since the first"
    assert monitor.get_summary("cpu.system.usage")["count"] == 2


def test_bad_arguments_raise_python_errors_not_crashes():
    monitor = PerformanceMonitor()
    with pytest.raises(TypeError):
        monitor.record_metric("x", "not a number")
    with pytest.raises(ValueError):
        monitor.set_threshold("x", float("nan"), 1)
    monitor.record_metric("x", float("inf"))
    monitor.record_response_time("op", -1.0)
    assert monitor.get_metrics("response_time.op")[0].value == 0.0


def test_prometheus_export_and_from_config(tmp_path):
    monitor = PerformanceMonitor.from_config()
    monitor.record_response_time("/chat", 0.03)
    text = monitor.prometheus()
    assert 'vana_response_time_seconds_count{operation="/chat",success="true"} 1' in text
    monitor.record_response_time("/slow", 2.5)
    assert not monitor.firing("warning"), "pending: a response-time threshold holds for two minutes by default"
    # A threshold that fires at once, as the configuration says.
    (tmp_path / "monitoring").mkdir()
    (tmp_path / "monitoring" / "monitoring.yaml").write_text("thresholds:\n  response_time:\n    warning: 2.0\n    critical: 5.0\n    for_seconds: 0\n")
    monitor = PerformanceMonitor.from_config(str(tmp_path))
    monitor.record_response_time("/slow", 2.5)
    assert monitor.firing("warning"), "the configuration's thresholds apply"
