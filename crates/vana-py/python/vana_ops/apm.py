"""``APM``: the specification's decorators, timing with a monotonic clock."""

import functools
import time
from typing import Awaitable, Callable, Dict, Optional, ParamSpec, TypeVar

from ._native import PerformanceMonitor

# Error texts become tag values: keep them bounded.
_MAX_ERROR_CHARS = 200

P = ParamSpec("P")
R = TypeVar("R")


class APM:
    """Application performance monitoring: ``trace`` and ``trace_async`` record each call's duration as
    ``response_time.<operation>`` (tagged ``success``) and each failure as ``errors.<operation>`` (tagged with
    the error's type), then let the exception propagate. The decorated function keeps its signature."""

    def __init__(self, monitor: PerformanceMonitor) -> None:
        self.monitor = monitor

    def _record(
        self, op_name: str, started: float, error: Optional[BaseException], tags: Optional[Dict[str, object]]
    ) -> None:
        duration = time.perf_counter() - started
        self.monitor.record_response_time(op_name, duration, success=error is None, **(tags or {}))
        if error is not None:
            # The type, not the message: a message can carry user data and makes every error a new series.
            self.monitor.record_metric(
                f"errors.{op_name}", 1, "count", tags={"error": type(error).__name__[:_MAX_ERROR_CHARS]}
            )

    def trace(
        self, operation_name: Optional[str] = None, tags: Optional[Dict[str, object]] = None
    ) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """Decorator timing a function."""

        def decorator(func: Callable[P, R]) -> Callable[P, R]:
            op_name = operation_name or f"{func.__module__}.{func.__name__}"

            @functools.wraps(func)
            def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
                started = time.perf_counter()
                try:
                    result = func(*args, **kwargs)
                except Exception as error:
                    self._record(op_name, started, error, tags)
                    raise
                self._record(op_name, started, None, tags)
                return result

            return wrapper

        return decorator

    def trace_async(
        self, operation_name: Optional[str] = None, tags: Optional[Dict[str, object]] = None
    ) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
        """Decorator timing a coroutine function."""

        def decorator(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
            op_name = operation_name or f"{func.__module__}.{func.__name__}"

            @functools.wraps(func)
            async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
                started = time.perf_counter()
                try:
                    result = await func(*args, **kwargs)
                except Exception as error:
                    self._record(op_name, started, error, tags)
                    raise
                self._record(op_name, started, None, tags)
                return result

            return wrapper

        return decorator
