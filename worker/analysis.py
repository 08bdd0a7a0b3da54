"""The /analyze preview as the workers run it: the pipeline under the caller's deadline, answered as a reply.

The API process never fetches a stranger's page: it sends `scraper.analyze` to the analyze
queue and waits for the reply (backend.replies). The reply is `{"analysis": {...}}`, the
body POST /analyze answers 200 with, or `{"error": {"code", "message"}}`, a JobFailedError
the API turns back into the same 422 problem.
"""

from __future__ import annotations

import os
import time
from typing import Any

from backend.errors import FetchTimeoutError, JobCancelledError, JobFailedError
from backend.logging import get_logger
from backend.replies import ReplyBox, make_reply_box
from backend.settings import Settings
from backend.shapes import Analysis
from worker.pipeline import run_pipeline

logger = get_logger(__name__)


def run_analysis(url: str, max_images: int, settings: Settings, *, seconds: float) -> dict[str, Any]:
    """The reply to one preview: the ranked analysis, or the error that stopped it within `seconds`."""
    if seconds <= 0:
        return _error(FetchTimeoutError(f"The preview did not finish within {settings.analyze_timeout:g} s."))
    bounded = settings.model_copy(update={"scraper_timeout": min(settings.scraper_timeout, seconds)})
    deadline = time.monotonic() + seconds
    try:
        result = run_pipeline(
            url,
            bounded,
            max_images=max_images,
            should_stop=lambda: time.monotonic() > deadline,
            stop_at=deadline,
        )
    except JobCancelledError:
        return _error(FetchTimeoutError(f"The preview did not finish within {settings.analyze_timeout:g} s."))
    except JobFailedError as exc:
        logger.info("analyze.failed", code=exc.code)
        return _error(exc)
    logger.info("analyze.done", kept=len(result.kept), skipped=len(result.skipped))
    return {"analysis": Analysis.of(url, result).model_dump(mode="json")}


def _error(exc: JobFailedError) -> dict[str, Any]:
    return {"error": {"code": exc.code, "message": exc.message}}


_box: tuple[int, ReplyBox | None] | None = None


def reply_box(settings: Settings) -> ReplyBox | None:
    """This process's reply box (a forked pool process makes its own connection)."""
    global _box  # noqa: PLW0603 - one client per process
    if _box is None or _box[0] != os.getpid():
        _box = (os.getpid(), make_reply_box(settings))
    return _box[1]
