"""configure_logging(settings): one structured log format for web, worker and CLI.

An event is a constant name plus fields: `logger.info("job.claimed", attempt=2)`. structlog builds
the event and hands it to the standard library's logging, as warehouse does, so our events and
third-party records (Celery, gunicorn, Alembic) go through one handler and one format: a JSON
object per line in production, `event key=value` text elsewhere. Context (request_id, job_id,
task_id) lives in contextvars and is merged into every line, ours and theirs.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Mapping
from contextvars import Token
from datetime import UTC, datetime
from typing import Any

import structlog
from structlog.contextvars import bind_contextvars, bound_contextvars, merge_contextvars, reset_contextvars
from structlog.stdlib import BoundLogger, ProcessorFormatter
from structlog.typing import EventDict, WrappedLogger

from backend.settings import Settings

# Fixed for the process, so a logger cached at its first use never misses it: the event goes to
# the stdlib logger of the module's name, whose handler (configure_logging's) renders it.
structlog.configure(
    processors=[
        structlog.stdlib.filter_by_level,
        merge_contextvars,
        ProcessorFormatter.wrap_for_formatter,
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=BoundLogger,
    cache_logger_on_first_use=True,
)

# Binds fields (job_id, task_id…) to every line written inside the with-block.
log_context = bound_contextvars

# Celery's routine INFO lines: beat ticks, "Task … received/succeeded", "Connected to …", "ready."
CELERY_ROUTINE_LOGGERS = (
    "celery.beat",
    "celery.worker.strategy",
    "celery.app.trace",
    "celery.worker.consumer",
    "celery.apps.worker",
)

TEXT_LAYOUT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# A text value is written bare when it has no space, quote or `=`, else JSON-quoted: a value with a
# newline (an exception message, a header) cannot forge a second line.
_BARE_VALUE = re.compile(r'[^\s"=]+')


def get_logger(name: str) -> BoundLogger:
    """The logger of module `name`: `get_logger(__name__).info("event.name", field=value)`."""
    return structlog.stdlib.get_logger(name)


def bind_log_context(**fields: object) -> Mapping[str, Token[Any]]:
    """Bind fields until `unbind_log_context(tokens)`; for hooks that cannot use a with-block (requests)."""
    return bind_contextvars(**fields)


def unbind_log_context(tokens: Mapping[str, Token[Any]]) -> None:
    """Undo the matching `bind_log_context`."""
    reset_contextvars(**tokens)


def _exception_text(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """exc_info (from logger.exception or exc_info=…) becomes the traceback text under `exc`."""
    event = structlog.processors.format_exc_info(logger, method, event)
    if "exception" in event:
        event["exc"] = event.pop("exception")
    return event


def _fields(event: EventDict) -> dict[str, Any]:
    return {key: value for key, value in event.items() if not key.startswith("_") and key != "event"}


def _json_line(_logger: WrappedLogger, _method: str, event: EventDict) -> str:
    record: logging.LogRecord = event["_record"]
    entry = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "event": event.get("event"),
        **_fields(event),
    }
    return json.dumps(entry, default=str)


def _text_value(value: object) -> str:
    text = str(value)
    return text if _BARE_VALUE.fullmatch(text) else json.dumps(text, ensure_ascii=False)


def _text_line(_logger: WrappedLogger, _method: str, event: EventDict) -> str:
    fields = _fields(event)
    traceback = fields.pop("exc", None)
    pairs = "".join(f" {key}={_text_value(value)}" for key, value in fields.items())
    line = f"{event.get('event')}{pairs}"
    return line if traceback is None else f"{line}\n{traceback}"


class JsonFormatter(ProcessorFormatter):
    """One JSON object per line: ts, level, logger, event, the event's fields and the bound context."""

    def __init__(self) -> None:
        super().__init__(foreign_pre_chain=[merge_contextvars], processors=[_exception_text, _json_line])


class TextFormatter(ProcessorFormatter):
    """Readable lines for development: the layout, then `event key=value…` and any traceback."""

    def __init__(self, layout: str = TEXT_LAYOUT) -> None:
        super().__init__(
            fmt=layout, foreign_pre_chain=[merge_contextvars], processors=[_exception_text, _text_line]
        )


def configure_logging(settings: Settings, level: int = logging.INFO) -> None:
    """Route the root logger to stderr as LOG_FORMAT says: by default JSON in production, text elsewhere."""
    handler = logging.StreamHandler(sys.stderr)
    json_lines = (settings.log_format or ("json" if settings.app_env == "production" else "text")) == "json"
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
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
