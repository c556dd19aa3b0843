"""vana-ops for Python: the specification's monitoring, APM, security and logging classes, backed by the
vana-ops Rust crates, ``Ops`` (all of them configured together), and an ASGI middleware running the gateway's
own HTTP layer (``vana_ops.asgi``).

    from vana_ops import PerformanceMonitor, APM, SecurityManager, StructuredLogger

The names, constructors, methods, arguments and return shapes are the specification's; the differences (its
bugs, fixed) are in the package README.
"""

from ._native import (
    ConfigError,
    Ops,
    PerformanceMetric,
    PerformanceMonitor,
    SecurityEvent,
    SecurityManager,
    __version__,
    load_config,
)
from .apm import APM
from .structured_logging import LogEntry, StructuredLogger, install_logging

__all__ = [
    "APM",
    "ConfigError",
    "LogEntry",
    "Ops",
    "PerformanceMetric",
    "PerformanceMonitor",
    "SecurityEvent",
    "SecurityManager",
    "StructuredLogger",
    "__version__",
    "install_logging",
    "load_config",
]
