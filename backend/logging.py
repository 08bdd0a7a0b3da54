"""configure_logging(settings): one structured log format for web, worker and CLI."""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from backend.settings import Settings

# Celery's routine INFO lines: beat ticks, "Task … received/succeeded", "Connected to …", "ready."
CELERY_ROUTINE_LOGGERS = (
    "celery.beat",
    "celery.worker.strategy",
    "celery.app.trace",
    "celery.worker.consumer",
    "celery.apps.worker",
)

_context: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("log_context", default={})  # noqa: B039 - never mutated


@contextlib.contextmanager
def log_context(**fields: str) -> Iterator[None]:
    """Bind fields (job_id, task_id…) to every log line written inside the block."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.context = _context.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event and the bound context."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **getattr(record, "context", {}),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """Readable lines for development, with the bound context appended."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = getattr(record, "context", {})
        if context:
            line += " " + " ".join(f"{key}={value}" for key, value in context.items())
        return line


def configure_logging(settings: Settings, level: int = logging.INFO) -> None:
    """Route the root logger to stderr in the format the environment wants."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter())
    if settings.app_env == "production":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party chatter that would bury our own events (and may echo URLs with tokens).
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if settings.app_env == "development":
        # In a terminal, Celery's lines per task and per beat tick (every sweep, every 30 s) drown
        # the job's own events; production keeps them for the log store, tests wait for "ready.".
        for chatty in CELERY_ROUTINE_LOGGERS:
            logging.getLogger(chatty).setLevel(logging.WARNING)


def bind_log_context(**fields: str) -> contextvars.Token[dict[str, str]]:
    """Bind fields until `unbind_log_context(token)`; for hooks that cannot use a with-block (requests)."""
    return _context.set({**_context.get(), **fields})


def unbind_log_context(token: contextvars.Token[dict[str, str]]) -> None:
    """Undo the matching `bind_log_context`."""
    _context.reset(token)
