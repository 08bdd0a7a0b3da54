"""The job state changes a worker makes (claim, progress, finish, fail, release), each one safe_commit unit.

Which status changes are allowed, and what each one writes, is backend.job_transitions's.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Executable, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend import images, job_transitions, jobs
from backend.db import Database
from backend.models import Job, JobStatus, ScrapedImage, utcnow
from backend.safe_commit import safe_commit
from worker.pipeline.types import Progress


class Claim(enum.Enum):
    CLAIMED = "claimed"
    FINISHED = "finished"  # already terminal, or gone: nothing to do
    BUSY = "busy"  # another worker holds it and its heartbeat is fresh
    GAVE_UP = "gave_up"  # attempts exhausted: now failed


@dataclass(frozen=True)
class JobTicket:
    """What a worker needs to run a job, copied out of the session."""

    id: uuid.UUID
    campaign_id: uuid.UUID
    sales_page_url: str
    max_images: int
    attempts: int


def _lock_job(session: Session, job_id: uuid.UUID) -> Job | None:
    return session.scalar(select(Job).where(Job.id == job_id).with_for_update())


def _is_stale(heartbeat: datetime | None, now: datetime, stale_after: timedelta) -> bool:
    return heartbeat is None or heartbeat < now - stale_after


def claim_job(
    db: Database, job_id: uuid.UUID, *, max_attempts: int, stale_after: timedelta
) -> tuple[Claim, JobTicket | None]:
    """Move a job to `running` for this worker, unless it is done, busy elsewhere, or out of attempts."""

    def work(session: Session) -> tuple[Claim, JobTicket | None]:
        job = _lock_job(session, job_id)
        if job is None or job.status.is_terminal:
            return Claim.FINISHED, None
        now = utcnow()
        if job.status == JobStatus.RUNNING and not _is_stale(job.heartbeat_at, now, stale_after):
            return Claim.BUSY, None
        if job.attempts >= max_attempts:
            job_transitions.fail(
                job, "internal", f"gave up after {job.attempts} attempts (worker lost or crashed)"
            )
            return Claim.GAVE_UP, None
        job_transitions.claim(job, now)
        ticket = JobTicket(job.id, job.campaign_id, job.sales_page_url, job.max_images, job.attempts)
        return Claim.CLAIMED, ticket

    return safe_commit(db.session_factory, work)


def record_progress(db: Database, job_id: uuid.UUID, progress: Progress) -> JobStatus | None:
    """Copy the counters to the row and refresh the heartbeat; return the job's current status."""

    def work(session: Session) -> JobStatus | None:
        job = _lock_job(session, job_id)
        if job is None:
            return None
        if job.status == JobStatus.RUNNING:
            _copy_progress(job, progress)
            job.heartbeat_at = utcnow()
        return job.status

    return safe_commit(db.session_factory, work)


def has_callback(db: Database, job_id: uuid.UUID) -> bool:
    """True if the job names a callback_url: only then does a finished job need a delivery task."""
    with db.session() as session:
        return session.scalar(select(Job.callback_url).where(Job.id == job_id)) is not None


def jobs_ahead(db: Database, job_id: uuid.UUID) -> int:
    """How many of the job owner's queued or running jobs are older than it (its fair priority on re-enqueue)."""
    with db.session() as session:
        return jobs.jobs_ahead(session, job_id)


def beat(db: Database, job_id: uuid.UUID) -> None:
    """Refresh the heartbeat of a running job (from the heartbeat thread)."""

    def work(session: Session) -> None:
        job = _lock_job(session, job_id)
        if job is not None and job.status == JobStatus.RUNNING:
            job.heartbeat_at = utcnow()

    safe_commit(db.session_factory, work)


def _copy_progress(job: Job, progress: Progress) -> None:
    job.images_found = progress.images_found
    job.images_processed = progress.images_processed
    job.images_skipped = progress.images_skipped
    job.images_failed = progress.images_failed


def existing_hashes(
    db: Database, campaign_id: uuid.UUID, hashes: Sequence[str]
) -> dict[str, uuid.UUID | None]:
    """content_hash -> job_id of the rows the campaign already holds for these hashes."""
    if not hashes:
        return {}
    with db.session() as session:
        rows = session.execute(
            select(ScrapedImage.content_hash, ScrapedImage.job_id).where(
                ScrapedImage.campaign_id == campaign_id, ScrapedImage.content_hash.in_(list(hashes))
            )
        )
        return dict(rows.all())


def finish_job(
    db: Database, job_id: uuid.UUID, rows: Sequence[dict[str, object]], progress: Progress
) -> JobStatus | None:
    """Insert the image rows and mark the job succeeded, in one transaction.

    Rows are inserted with ON CONFLICT DO NOTHING on (campaign_id, content_hash),
    so a re-delivered job never doubles a row. A job cancelled meanwhile keeps
    its status and gets no rows; the caller then removes the uploaded objects.
    """

    def work(session: Session) -> JobStatus | None:
        job = _lock_job(session, job_id)
        if job is None or job.status != JobStatus.RUNNING:
            return job.status if job else None
        if rows:
            session.execute(_insert_ignoring_duplicates(session), list(rows))
        _copy_progress(job, progress)
        job.images_saved = (
            session.scalar(
                select(func.count()).select_from(ScrapedImage).where(ScrapedImage.job_id == job_id)
            )
            or 0
        )
        job_transitions.succeed(job, utcnow())
        return job.status

    return safe_commit(db.session_factory, work)


def _insert_ignoring_duplicates(session: Session) -> Executable:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id on scraped_images, executed with every row as parameters.

    One statement whatever the row count, so it is compiled once per process (a multi-VALUES
    statement built from the rows was compiled anew for every job; bench/results.md). With
    RETURNING, SQLAlchemy's insertmanyvalues sends all the rows in one multi-VALUES round
    trip; without it, the driver ran the statement once per row. The ids it returns are not
    needed.
    """
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(ScrapedImage.__table__)
    return statement.on_conflict_do_nothing(index_elements=["campaign_id", "content_hash"]).returning(
        ScrapedImage.__table__.c.id
    )


def fail_job(
    db: Database, job_id: uuid.UUID, code: str, message: str, progress: Progress | None = None
) -> bool:
    """Mark a job failed with a stable code, unless it already ended; True if this call failed it."""

    def work(session: Session) -> bool:
        job = _lock_job(session, job_id)
        if job is None or job.status.is_terminal:
            return False
        if progress is not None:
            _copy_progress(job, progress)
        job_transitions.fail(job, code, message)
        return True

    return safe_commit(db.session_factory, work)


def release_job(db: Database, job_id: uuid.UUID, reason: str, *, max_attempts: int | None = None) -> bool:
    """Hand a running job back to `queued` after a transient failure, so a retry can claim it at once.

    With `max_attempts`, a job that has used them all is failed instead, with `reason`
    in its message (a retry would only find it out of attempts). True if released.
    """

    def work(session: Session) -> bool:
        job = _lock_job(session, job_id)
        if job is None or job.status != JobStatus.RUNNING:
            return False
        if max_attempts is not None and job.attempts >= max_attempts:
            job_transitions.fail(job, "internal", f"gave up after {job.attempts} attempts: {reason}")
            return False
        job_transitions.requeue(job, f"retrying: {reason}")
        return True

    return safe_commit(db.session_factory, work)


def referenced_keys(db: Database, keys: Sequence[str]) -> set[str]:
    """The subset of object keys (originals and thumbnails) that some image row still points at."""
    if not keys:
        return set()
    with db.session() as session:
        return images.referenced_keys(session, keys)


def referenced_keys_in_any_schema(db: Database, keys: Sequence[str]) -> set[str]:
    """referenced_keys when the database's schema may not be the models' (after a schema error)."""
    if not keys:
        return set()
    with db.session() as session:
        return images.referenced_keys_in_any_schema(session, keys)
