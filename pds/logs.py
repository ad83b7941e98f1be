"""Structured JSON logs with the request id on every line.

Logs must never carry personal data: callers log ids, codes and counts, never
claims, emails or bodies. The request id ties every line of one request
together and is echoed to the client in ``X-Request-ID``.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "pds_request_id", default=None
)

RecordFactory = Callable[..., logging.LogRecord]

_RESERVED = frozenset(vars(logging.makeLogRecord({})).keys()) | {
    "message",
    "asctime",
    "request_id",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            line["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, separators=(",", ":"))


def _stamp_request_id(
    factory: Callable[..., logging.LogRecord],
) -> Callable[..., logging.LogRecord]:
    """Records carry the request id from the moment they are made, so a handler that
    formats later (a queue, a test's capture) still sees it."""

    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.request_id = request_id_var.get()
        return record

    make.pds_stamps_request_id = True  # type: ignore[attr-defined]
    return make


def configure_logging(level: int) -> None:
    """Send JSON lines to stderr; replaces handlers so repeated calls stay idempotent."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "pds_stamps_request_id", False):
        logging.setLogRecordFactory(_stamp_request_id(factory))
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "granian"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Our own access log replaces uvicorn's, which would print client addresses
    # and full paths in plain text.
    logging.getLogger("uvicorn.access").disabled = True
