"""execute_job: one job from claim to commit: scrape, upload, then rows and status in one transaction."""

from __future__ import annotations

import contextlib
import enum
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import requests
from sqlalchemy.exc import ProgrammingError

from backend import object_deletes
from backend.errors import JobCancelledError, JobFailedError
from backend.logging import get_logger
from backend.models import JobStatus
from backend.runtime import Runtime
from worker import lifecycle
from worker.lifecycle import Claim, JobTicket
from worker.pipeline import run_pipeline
from worker.pipeline.store import StoredImage, image_row, upload_images
from worker.pipeline.types import PipelineResult, Progress, RankedImage

logger = get_logger(__name__)

PROGRESS_INTERVAL_SECONDS = 1.0


class Outcome(enum.Enum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"  # already finished, or gone
    BUSY = "busy"  # another worker is on it: look again later
    GAVE_UP = "gave_up"


class _ProgressReporter:
    """Writes the pipeline's counters to the job row at most once a second, and notices cancellation."""

    def __init__(self, runtime: Runtime, job_id: uuid.UUID) -> None:
        self.runtime = runtime
        self.job_id = job_id
        self.cancelled = False
        self._last_write = 0.0

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        if now - self._last_write < PROGRESS_INTERVAL_SECONDS:
            return
        self._last_write = now
        status = lifecycle.record_progress(self.runtime.db, self.job_id, progress)
        self.cancelled = status != JobStatus.RUNNING


@contextlib.contextmanager
def _heartbeat(runtime: Runtime, job_id: uuid.UUID) -> Iterator[None]:
    """Refresh the job's heartbeat from a thread, so a long download never looks like a dead worker."""
    stop = threading.Event()
    interval = max(1.0, runtime.settings.job_stale_seconds / 4)

    def loop() -> None:
        while not stop.wait(interval):
            try:
                lifecycle.beat(runtime.db, job_id)
            except Exception:
                # A thread of its own: no bound context, so the job id is given.
                logger.warning("job.heartbeat_failed", job_id=str(job_id), exc_info=True)

    thread = threading.Thread(target=loop, name=f"heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def execute_job(runtime: Runtime, job_id: uuid.UUID, *, http: requests.Session | None = None) -> Outcome:
    """Run one job: claim it, scrape, upload, commit rows and status together.

    Raises TransientError (storage) or a database error after safe_commit's own
    retries; the caller decides whether to retry the whole job.
    """
    settings = runtime.settings
    claim, ticket = lifecycle.claim_job(
        runtime.db,
        job_id,
        max_attempts=settings.job_max_attempts,
        stale_after=timedelta(seconds=settings.job_stale_seconds),
    )
    if ticket is None:
        return {Claim.FINISHED: Outcome.SKIPPED, Claim.BUSY: Outcome.BUSY}.get(claim, Outcome.GAVE_UP)
    logger.info("job.claimed", attempt=ticket.attempts)
    reporter = _ProgressReporter(runtime, job_id)
    try:
        with _heartbeat(runtime, job_id):
            result = run_pipeline(
                ticket.sales_page_url,
                settings,
                max_images=ticket.max_images,
                http=http,
                on_progress=reporter,
                should_stop=lambda: reporter.cancelled,
            )
            return _store_and_commit(runtime, ticket, result)
    except JobFailedError as exc:
        logger.info("job.failed", code=exc.code)
        lifecycle.fail_job(runtime.db, job_id, exc.code, exc.message)
        return Outcome.FAILED
    except JobCancelledError:
        logger.info("job.cancelled")
        return Outcome.CANCELLED


def _store_and_commit(runtime: Runtime, ticket: JobTicket, result: PipelineResult) -> Outcome:
    fresh, progress = _drop_campaign_duplicates(runtime, ticket, result)
    stored: list[StoredImage] = []
    try:
        stored = upload_images(runtime.store, ticket.campaign_id, fresh)
        # Each row keeps its place in the pipeline's ranking, gaps left by campaign duplicates included.
        rank_of = {id(image): rank for rank, image in enumerate(result.kept)}
        rows = [
            image_row(item, campaign_id=ticket.campaign_id, job_id=ticket.id, rank=rank_of[id(item.image)])
            for item in stored
        ]
        status = lifecycle.finish_job(runtime.db, ticket.id, rows, progress)
    except BaseException:
        _remove_orphans(runtime, [key for item in stored for key in item.keys])
        raise
    if status != JobStatus.SUCCEEDED:
        _remove_orphans(runtime, [key for item in stored for key in item.keys])
        return Outcome.CANCELLED
    logger.info("job.succeeded", saved=len(stored))
    return Outcome.SUCCEEDED


def _drop_campaign_duplicates(
    runtime: Runtime, ticket: JobTicket, result: PipelineResult
) -> tuple[list[RankedImage], Progress]:
    """Images the campaign already holds from another job count as skipped, not saved again."""
    hashes = [image.info.content_hash for image in result.kept]
    holders = lifecycle.existing_hashes(runtime.db, ticket.campaign_id, hashes)
    fresh = [img for img in result.kept if holders.get(img.info.content_hash, ticket.id) == ticket.id]
    progress = Progress(**vars(result.progress))
    progress.images_skipped += len(result.kept) - len(fresh)
    return fresh, progress


def _remove_orphans(runtime: Runtime, keys: list[str]) -> None:
    """Delete uploaded objects that no row points at (the commit failed or the job was cancelled)."""
    try:
        try:
            referenced = lifecycle.referenced_keys(runtime.db, keys)
        except ProgrammingError:  # the commit failed on the schema (behind): ask what it has
            referenced = lifecycle.referenced_keys_in_any_schema(runtime.db, keys)
        for key in set(keys) - referenced:
            runtime.store.delete(key)
    except Exception:
        # Storage (or the database) refused the cleanup: the worker's object deletes take
        # the keys over, so they go without anyone running prune-orphans.
        recorded = object_deletes.record_for_later(runtime.db, keys)
        logger.warning("job.orphan_cleanup_failed", keys=len(keys), recorded=recorded, exc_info=True)
