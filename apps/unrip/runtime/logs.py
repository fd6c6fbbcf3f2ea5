"""JSON-lines logging (one object per line, on stderr), via python-json-logger.

Timestamps are UTC ISO 8601 with milliseconds: the pipeline's stages are milliseconds apart,
so whole seconds cannot order a command's lines across services. Lines about a command carry
its ids (``runtime.log_context``).
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

from pythonjsonlogger.json import JsonFormatter

from unrip.runtime.log_context import ContextFilter


class _MillisecondFormatter(JsonFormatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        moment = datetime.fromtimestamp(record.created, UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_formatter(service: str, instance_id: str) -> logging.Formatter:
    return _MillisecondFormatter(
        "{asctime}{levelname}{name}{message}",
        style="{",
        rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
        static_fields={"service": service, "instance": instance_id},
    )


def configure_logging(service: str, instance_id: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter(service, instance_id))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party chatter at INFO drowns the service's own lines.
    for noisy in ("aiokafka", "uvicorn.access", "uvicorn.error", "httpx", "websockets"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
