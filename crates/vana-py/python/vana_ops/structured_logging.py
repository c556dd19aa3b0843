"""``StructuredLogger`` and ``LogEntry``: the specification's JSON lines through Python's ``logging``."""

import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any, Dict

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
# Metadata keys whose values never reach a log line (the vana-ops logging crate's default list).
_SECRET_KEYS = frozenset(
    "password passwords passwd secret secrets token authorization cookie cookies api_key apikey csrf session "
    "private_key credential credentials".split()
)
_MAX_MESSAGE_CHARS = 8192
_MAX_FIELD_CHARS = 2048


def _redacted(value: Any, depth: int = 0) -> Any:
    if depth > 8:
        return "[too deep]"
    if isinstance(value, dict):
        return {
            str(key): "[REDACTED]" if str(key).lower() in _SECRET_KEYS else _redacted(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_redacted(item, depth + 1) for item in value]
    if isinstance(value, str) and len(value) > _MAX_FIELD_CHARS:
        return value[:_MAX_FIELD_CHARS] + "…"
    return value


@dataclass
class LogEntry:
    """One structured log line, with the specification's fields."""

    timestamp: float
    level: str
    message: str
    correlation_id: str
    component: str
    metadata: Dict[str, Any] = None

    def to_json(self) -> str:
        """The line as JSON: the specification's field names, secrets redacted, long values cut."""
        entry = asdict(self)
        if len(entry["message"]) > _MAX_MESSAGE_CHARS:
            entry["message"] = entry["message"][:_MAX_MESSAGE_CHARS] + "…"
        entry["metadata"] = _redacted(entry["metadata"] or {})
        return json.dumps(entry, default=str)


class StructuredLogger:
    """Structured logging with a correlation id, through ``logging.getLogger(component)``."""

    def __init__(self, component: str, correlation_id: str = None):
        self.component = component
        self.correlation_id = correlation_id or str(uuid.uuid4())
        self.logger = logging.getLogger(component)

    def _log(self, level: str, message: str, **metadata):
        number = _LEVELS[level]
        # The specification built the line even when the level was off.
        if not self.logger.isEnabledFor(number):
            return
        entry = LogEntry(
            timestamp=time.time(),
            level=level,
            message=message,
            correlation_id=self.correlation_id,
            component=self.component,
            metadata=metadata,
        )
        self.logger.log(number, entry.to_json())

    def debug(self, message: str, **metadata):
        self._log("debug", message, **metadata)

    def info(self, message: str, **metadata):
        self._log("info", message, **metadata)

    def warning(self, message: str, **metadata):
        self._log("warning", message, **metadata)

    def error(self, message: str, **metadata):
        self._log("error", message, **metadata)

    def critical(self, message: str, **metadata):
        self._log("critical", message, **metadata)

    def with_correlation_id(self, correlation_id: str) -> "StructuredLogger":
        """The same logger with another correlation id."""
        return StructuredLogger(self.component, correlation_id)


def install_logging(level: str = "info", stream: Any = None) -> logging.Handler:
    """Writes vana-ops' lines (loggers ``vana_ops.*``: the middleware's ``access`` and ``security`` lines) to
    ``stream`` (default: standard error) from ``level`` up, one JSON object a
    line, as the gateway writes them; they stop propagating to the root logger, so an application's own
    logging setup never prints them twice. Under plain ``uvicorn main:app`` the one line to add is
    ``vana_ops.install_logging()``. Calling it again replaces the handler. Returns the handler."""
    logger = logging.getLogger("vana_ops")
    for handler in [handler for handler in logger.handlers if getattr(handler, "_vana_ops", False)]:
        logger.removeHandler(handler)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler._vana_ops = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(_LEVELS.get(level.lower(), logging.INFO))
    logger.propagate = False
    return handler
