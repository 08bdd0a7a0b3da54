"""safe_commit: run a unit of work in a fresh session and retry it on transient database errors."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from backend.logging import get_logger

logger = get_logger(__name__)

T = TypeVar("T")

# SQLSTATEs a retry can cure: serialization failure, deadlock, and the
# connection-exception class (08xxx) and admin shutdown (57P01..57P03).
TRANSIENT_SQLSTATES = {"40001", "40P01", "57P01", "57P02", "57P03"}


def is_transient_db_error(exc: BaseException) -> bool:
    """True for errors where the same unit of work may succeed on a new connection."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    sqlstate = getattr(exc.orig, "pgcode", None)
    if sqlstate and (sqlstate in TRANSIENT_SQLSTATES or sqlstate.startswith("08")):
        return True
    if isinstance(exc, OperationalError):
        text = str(exc.orig).lower()
        return any(
            marker in text
            for marker in (
                "server closed the connection",
                "connection refused",
                "could not connect",
                "terminating connection",
                "connection already closed",
                "ssl syscall error",
                "database is locked",
                "timeout expired",
                "no more connections allowed",
            )
        )
    return False


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    logger.warning(
        "safe_commit.retry", attempt=state.attempt_number, error=type(exc).__name__ if exc else "?"
    )


def safe_commit(
    session_factory: Callable[[], Session],
    unit_of_work: Callable[[Session], T],
    *,
    attempts: int = 6,
    max_seconds: float = 60.0,
    initial_wait: float = 0.2,
) -> T:
    """Run `unit_of_work` in a new session and commit; on a transient error start over.

    The unit of work is re-applied from scratch on a fresh session, so it must be
    written to be repeatable: read state, then write (upserts, guarded updates).
    Anything else (integrity errors, bugs) is raised at once.
    """
    retrying = Retrying(
        retry=retry_if_exception(is_transient_db_error),
        stop=stop_after_attempt(attempts) | stop_after_delay(max_seconds),
        wait=wait_exponential_jitter(multiplier=initial_wait, max=5.0, jitter=initial_wait),
        before_sleep=_log_retry,
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            session = session_factory()
            try:
                result = unit_of_work(session)
                session.commit()
                return result
            except BaseException:
                # The connection may already be gone; the original error matters.
                with contextlib.suppress(Exception):
                    session.rollback()
                raise
            finally:
                session.close()
    raise AssertionError("unreachable: tenacity either returns or reraises")
