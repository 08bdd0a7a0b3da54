"""configure_logging: JSON lines in production, readable text elsewhere, bound context on every line."""

from __future__ import annotations

import json
import logging

from backend.logging import (
    CELERY_ROUTINE_LOGGERS,
    JsonFormatter,
    TextFormatter,
    _ContextFilter,
    bind_log_context,
    configure_logging,
    log_context,
    unbind_log_context,
)
from backend.settings import load_settings


def render(formatter: logging.Formatter, message: str, *args: object) -> str:
    record = logging.LogRecord("worker.runner", logging.INFO, __file__, 1, message, args, None)
    _ContextFilter().filter(record)
    return formatter.format(record)


def test_json_line_carries_the_bound_job_id():
    """Inside log_context every JSON line has the job and task ids as fields."""
    with log_context(job_id="j-1", task_id="t-1"):
        line = render(JsonFormatter(), "job.claimed attempt=%d", 2)
    entry = json.loads(line)
    assert (entry["event"], entry["job_id"], entry["task_id"], entry["level"]) == (
        "job.claimed attempt=2",
        "j-1",
        "t-1",
        "info",
    )


def test_context_ends_with_the_block():
    """After the block (or unbind) lines no longer carry the ids."""
    with log_context(job_id="j-1"):
        pass
    token = bind_log_context(request_id="r-1")
    bound = render(TextFormatter("%(message)s"), "http.request")
    unbind_log_context(token)
    assert bound == "http.request request_id=r-1"
    assert "job_id" not in json.loads(render(JsonFormatter(), "later"))


def test_production_logs_json_development_logs_text():
    """configure_logging picks JSON for APP_ENV=production and text otherwise."""
    production = load_settings(
        app_env="production",
        database_url="postgresql://app@db.internal:5432/scraper",
        redis_url="redis://redis.internal:6379/0",
        storage_backend="s3",
        r2_account_id="acct",
        r2_access_key_id="id",
        r2_secret_access_key="secret",
        r2_bucket="bucket",
    )
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging(production)
        production_formatter = root.handlers[0].formatter
        configure_logging(load_settings(app_env="development"))
        development_formatter = root.handlers[0].formatter
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    assert isinstance(production_formatter, JsonFormatter)
    assert isinstance(development_formatter, TextFormatter)


def test_celery_routine_lines_are_quiet_outside_production():
    """Beat ticks and per-task lines stay out of a developer's terminal; production (and test) keep them."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging(load_settings(app_env="development"))
        development = {name: logging.getLogger(name).level for name in CELERY_ROUTINE_LOGGERS}
        for name in CELERY_ROUTINE_LOGGERS:
            logging.getLogger(name).setLevel(logging.NOTSET)
        configure_logging(
            load_settings(
                app_env="production",
                database_url="postgresql://app@db.internal:5432/scraper",
                redis_url="redis://redis.internal:6379/0",
                storage_backend="s3",
                r2_account_id="acct",
                r2_access_key_id="id",
                r2_secret_access_key="secret",
                r2_bucket="bucket",
            )
        )
        production = {name: logging.getLogger(name).getEffectiveLevel() for name in CELERY_ROUTINE_LOGGERS}
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    assert set(development.values()) == {logging.WARNING}
    assert set(production.values()) == {logging.INFO}
