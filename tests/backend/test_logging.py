"""configure_logging: JSON lines in production, readable text elsewhere, bound context on every line."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

import pytest

from backend.logging import (
    CELERY_ROUTINE_LOGGERS,
    JsonFormatter,
    TextFormatter,
    bind_log_context,
    configure_logging,
    get_logger,
    log_context,
    unbind_log_context,
)
from backend.settings import load_settings
from tests.logcapture import Captured, capture_log

LOGGER = "tests.logging"


@pytest.fixture
def capture() -> Iterator[Callable[[logging.Formatter], Captured]]:
    """capture(formatter) routes the `tests.logging` logger to a string through that formatter."""
    with contextlib.ExitStack() as stack:
        yield lambda formatter: stack.enter_context(capture_log(LOGGER, formatter))


def test_json_line_is_the_event_name_plus_fields_and_the_bound_context(capture):
    """The event stays a constant name; its data and the bound job and task ids are fields."""
    captured = capture(JsonFormatter())
    with log_context(job_id="j-1", task_id="t-1"):
        get_logger(LOGGER).info("job.claimed", attempt=2, duration_ms=12.5)
    [entry] = captured.entries()
    assert {key: entry[key] for key in ("event", "attempt", "duration_ms", "job_id", "task_id", "level")} == {
        "event": "job.claimed",
        "attempt": 2,
        "duration_ms": 12.5,
        "job_id": "j-1",
        "task_id": "t-1",
        "level": "info",
    }
    assert entry["logger"] == LOGGER and entry["ts"].endswith("+00:00")


def test_third_party_records_carry_the_bound_context_too(capture):
    """A plain stdlib record (Celery's, gunicorn's) is a JSON line with the same context fields."""
    captured = capture(JsonFormatter())
    with log_context(job_id="j-1"):
        logging.getLogger(LOGGER).warning("Task %s succeeded", "scraper.run_job")
    [entry] = captured.entries()
    assert (entry["event"], entry["job_id"], entry["level"]) == (
        "Task scraper.run_job succeeded",
        "j-1",
        "warning",
    )


def test_context_ends_with_the_block(capture):
    """After the block (or unbind) lines no longer carry the ids."""
    captured = capture(TextFormatter("%(message)s"))
    logger = get_logger(LOGGER)
    with log_context(job_id="j-1"):
        pass
    tokens = bind_log_context(request_id="r-1")
    logger.info("http.request", status=200)
    unbind_log_context(tokens)
    logger.info("later")
    assert captured.lines() == ["http.request status=200 request_id=r-1", "later"]


def test_text_values_cannot_forge_a_line(capture):
    """A value with a space or a newline is quoted on its one line; plain values stay bare."""
    captured = capture(TextFormatter("%(message)s"))
    get_logger(LOGGER).warning("callback.failed", attempt=1, error='bad\nINFO forged line "x"')
    assert captured.lines() == ['callback.failed attempt=1 error="bad\\nINFO forged line \\"x\\""']


def test_exception_traceback_is_a_field(capture):
    """logger.exception puts the traceback under `exc` (JSON) or after the line (text)."""
    json_lines = capture(JsonFormatter())
    try:
        raise ValueError("boom")
    except ValueError:
        get_logger(LOGGER).exception("pipeline.image_error", url="http://shop.test/a.jpg")
    [entry] = json_lines.entries()
    assert entry["event"] == "pipeline.image_error" and entry["level"] == "error"
    assert entry["exc"].startswith("Traceback") and entry["exc"].endswith("ValueError: boom")

    text_lines = capture(TextFormatter("%(message)s"))
    get_logger(LOGGER).warning("job.heartbeat_failed", exc_info=ValueError("lost"))
    assert text_lines.lines() == ["job.heartbeat_failed", "ValueError: lost"]


def test_levels_below_the_logger_level_are_dropped(capture):
    """A debug event costs nothing and writes nothing at INFO."""
    captured = capture(JsonFormatter())
    get_logger(LOGGER).debug("pipeline.candidate", url="x")
    assert captured.lines() == []


def production_settings():
    """Settings that pass the production checks (nothing here connects to them)."""
    return load_settings(
        app_env="production",
        database_url="postgresql://app@db.internal:5432/scraper",
        redis_url="redis://redis.internal:6379/0",
        storage_backend="s3",
        r2_account_id="acct",
        r2_access_key_id="id",
        r2_secret_access_key="secret",
        r2_bucket="bucket",
    )


def test_production_logs_json_development_logs_text():
    """configure_logging picks JSON for APP_ENV=production and text otherwise, unless LOG_FORMAT says."""
    production = production_settings()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging(production)
        production_formatter = root.handlers[0].formatter
        configure_logging(load_settings(app_env="development"))
        development_formatter = root.handlers[0].formatter
        configure_logging(load_settings(app_env="development", log_format="json"))
        chosen_formatter = root.handlers[0].formatter
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    assert isinstance(production_formatter, JsonFormatter)
    assert isinstance(development_formatter, TextFormatter)
    assert isinstance(chosen_formatter, JsonFormatter)


def test_celery_routine_lines_are_quiet_outside_production():
    """Beat ticks and per-task lines stay out of a developer's terminal; production (and test) keep them."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging(load_settings(app_env="development"))
        development = {name: logging.getLogger(name).level for name in CELERY_ROUTINE_LOGGERS}
        for name in CELERY_ROUTINE_LOGGERS:
            logging.getLogger(name).setLevel(logging.NOTSET)
        configure_logging(production_settings())
        production = {name: logging.getLogger(name).getEffectiveLevel() for name in CELERY_ROUTINE_LOGGERS}
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    assert set(development.values()) == {logging.WARNING}
    assert set(production.values()) == {logging.INFO}
