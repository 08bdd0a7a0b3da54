"""/api/v1/analyze: a preview of one page's ranked images, run on the workers; nothing saved.

The API process never waits on a stranger's server. It sends the preview to the analyze
queue (consumed by the workers ahead of scrape jobs) and waits for the worker's reply
(backend.replies) for at most ANALYZE_TIMEOUT plus a short grace:

- the worker answered: 200 `{url, images_found, candidates, skipped}`, or the 422 problem
  of the error code that stopped it (`blocked_url`, `http_error`, `timeout`, …), as before;
- no answer in time (the workers are busy or down): 504 problem+json, `Retry-After`;
- ANALYZE_MAX_WAITING previews already wait in this API process: 503 problem+json at once,
  `Retry-After`, so previews can never hold every request thread (health checks and other
  keys keep answering);
- no reply channel (neither REDIS_URL nor the filesystem broker) or the broker is down: 503.

A URL the SSRF guard refuses without a DNS lookup is 422 before anything is queued.
"""

from __future__ import annotations

import contextlib
import threading
import uuid

from flask import Blueprint, Response, current_app, jsonify

from backend import errors
from backend.api import services
from backend.api.declare import declare, ok, problem
from backend.api.problems import ApiProblem, json_body, unavailable
from backend.api.schemas import AnalyzeRequest
from backend.api.security import require_api_key
from backend.broker import enqueue_analyze
from backend.errors import FetchFailedError
from backend.logging import get_logger
from backend.replies import ReplyBox, make_reply_box
from backend.settings import Settings
from backend.shapes import Analysis
from backend.urlguard import check_url

logger = get_logger(__name__)

bp = Blueprint("analyze", __name__)

RETRY_AFTER_SECONDS = 5
# The error codes a worker may answer with, to the JobFailedError subclass the API raises (422).
ERRORS_BY_CODE: dict[str, type[errors.JobFailedError]] = {
    cls.code: cls
    for cls in (
        errors.InvalidUrlError,
        errors.BlockedUrlError,
        errors.FetchFailedError,
        errors.HttpStatusError,
        errors.NotHtmlError,
        errors.PageTooLargeError,
        errors.FetchTimeoutError,
    )
}


class _Waiting:
    """This API process's reply box and its count of previews waiting, built on first use."""

    def __init__(self, box: ReplyBox | None, slots: int) -> None:
        self.box = box
        self.slots = threading.BoundedSemaphore(slots)


_build_lock = threading.Lock()


def _waiting() -> _Waiting:
    with _build_lock:
        waiting = current_app.extensions.get("analyze_waiting")
        if waiting is None:
            settings = services().settings
            waiting = _Waiting(make_reply_box(settings), settings.analyze_max_waiting)
            current_app.extensions["analyze_waiting"] = waiting
        return waiting


def _no_lookup(host: str) -> list[str]:
    raise OSError(f"{host} is not looked up by the API process")


def precheck(url: str, settings: Settings) -> None:
    """Refuse what the SSRF guard refuses without a DNS lookup (literal private addresses, internal
    names) before a worker is bothered; a name is resolved on the worker, never here (a stranger's
    DNS server could be as slow as their web server)."""
    with contextlib.suppress(FetchFailedError):  # a public-looking name: the worker resolves and vets it
        check_url(url, settings.allows_private(url), resolver=_no_lookup)


@bp.post("/analyze")
@declare(
    "analyze",
    "Preview the ranked images of a page, run on a worker; nothing is stored.",
    ok(200, Analysis, "The ranking."),
    problem(422, "Invalid fields, or the page failed: `code` names why (as a job's error)."),
    problem(
        503,
        "ANALYZE_MAX_WAITING previews already wait in this API process, or a backing service is down; "
        "retry later.",
        retry_after=True,
    ),
    problem(
        504, "No worker answered within ANALYZE_TIMEOUT plus a short grace; retry later.", retry_after=True
    ),
    body=AnalyzeRequest,
)
@require_api_key
def analyze() -> Response:
    body = json_body(AnalyzeRequest)
    app_services = services()
    settings = app_services.settings
    precheck(str(body.url), settings)
    waiting = _waiting()
    if waiting.box is None:
        raise unavailable(
            "Previews need REDIS_URL (or the embedded filesystem broker) to carry their answer."
        )
    if not waiting.slots.acquire(blocking=False):
        logger.info("analyze.busy")
        raise ApiProblem(
            503,
            f"{settings.analyze_max_waiting} previews are already waiting in this process; try again shortly.",
            slug="analyze-busy",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    try:
        reply_id = uuid.uuid4().hex
        enqueue_analyze(app_services.celery, reply_id, str(body.url), body.max_images, settings)
        reply = waiting.box.wait(reply_id, settings.analyze_wait_seconds)
    finally:
        waiting.slots.release()
    if reply is None:
        logger.warning("analyze.no_answer", wait_s=settings.analyze_wait_seconds)
        raise ApiProblem(
            504,
            f"No worker answered the preview within {settings.analyze_wait_seconds:g} s; try again shortly.",
            slug="analyze-timeout",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if "error" in reply:
        error = reply["error"]
        raise ERRORS_BY_CODE.get(error["code"], errors.JobFailedError)(error["message"])
    return jsonify(Analysis.model_validate(reply["analysis"]).model_dump(mode="json"))
