"""StructuredLogger, LogEntry and the configuration."""

import json
import logging
from pathlib import Path

import pytest

from vana_ops import ConfigError, LogEntry, StructuredLogger, load_config


def test_log_lines_are_the_specifications_json_through_logging(caplog):
    logger = StructuredLogger("agent_execution", correlation_id="req-42")
    with caplog.at_level(logging.DEBUG, logger="agent_execution"):
        logger.info("agent started", agent="planner", password="hunter2")
        logger.with_correlation_id("req-43").error("agent failed")
    first, second = (json.loads(record.getMessage()) for record in caplog.records)
    assert list(first) == ["timestamp", "level", "message", "correlation_id", "component", "metadata"]
    assert first["level"] == "info" and first["message"] == "agent started"
    assert first["correlation_id"] == "req-42" and first["component"] == "agent_execution"
    assert first["metadata"] == {"agent": "planner", "password": "[REDACTED]"}
    assert caplog.records[1].levelno == logging.ERROR and second["correlation_id"] == "req-43"


def test_a_logger_without_an_id_makes_one_and_log_entry_to_json():
    assert len(StructuredLogger("x").correlation_id) == 36
    entry = LogEntry(timestamp=1.0, level="info", message="hi", correlation_id="c", component="x", metadata={"n": 1})
    assert json.loads(entry.to_json()) == {
        "timestamp": 1.0, "level": "info", "message": "hi", "correlation_id": "c", "component": "x", "metadata": {"n": 1},
    }


def test_load_config_reads_both_documents_and_reports_every_problem(tmp_path: Path):
    config = load_config()
    assert config["security"]["rate_limiting"]["default_limit"] == 100
    assert config["monitoring"]["thresholds"]["response_time"]["warning"] == 2.0
    (tmp_path / "monitoring").mkdir()
    (tmp_path / "monitoring" / "monitoring.yaml").write_text("alerting:\n  enabled: maybe\nthresholds:\n  cpu_usage:\n    warning: 90\n    critical: 80\n")
    with pytest.raises(ConfigError) as raised:
        load_config(str(tmp_path))
    problems = raised.value.problems
    assert len(problems) >= 2, problems
    assert all("monitoring.yaml:" in problem for problem in problems), problems
