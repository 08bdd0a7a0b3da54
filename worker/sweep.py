"""sweep_stuck_jobs: find jobs nobody is working on and hand them to the queue again."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend import job_transitions
from backend.errors import BrokerUnavailableError
from backend.models import Job, JobStatus, utcnow
from backend.runtime import Runtime
from backend.safe_commit import safe_commit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepReport:
    requeued_stale: int
    requeued_queued: int
    failed: int


def sweep_stuck_jobs(
    runtime: Runtime,
    enqueue: Callable[[uuid.UUID], None],
    *,
    backlog: Callable[[], int] = lambda: 0,
    on_failed: Callable[[uuid.UUID], None] | None = None,
) -> SweepReport:
    """Re-enqueue jobs whose worker vanished or whose enqueue failed; fail those out of attempts.

    A long-`queued` job is re-enqueued only while the broker queue is empty (`backlog()`
    returns 0): a job behind a backlog still has its message waiting, and sending another
    one every grace period would multiply the queue. A job whose message was lost (failed
    enqueue, broker restarted empty) is re-enqueued once the queue has drained.

    `on_failed` is called, after the commit, with each job this sweep failed (to announce it).
    """
    settings = runtime.settings
    revive_waiting = backlog() == 0
    now = utcnow()
    stale_before = now - timedelta(seconds=settings.job_stale_seconds)
    queued_before = now - timedelta(seconds=settings.job_queued_grace_seconds)

    def work(session: Session) -> tuple[list[uuid.UUID], list[uuid.UUID], list[uuid.UUID]]:
        stale = session.scalars(
            select(Job)
            .where(Job.status == JobStatus.RUNNING, Job.heartbeat_at < stale_before)
            .with_for_update()
        ).all()
        failed: list[uuid.UUID] = []
        revived: list[uuid.UUID] = []
        for job in stale:
            if job.attempts >= settings.job_max_attempts:
                job_transitions.fail(job, "internal", f"worker lost; gave up after {job.attempts} attempts")
                failed.append(job.id)
            else:
                job_transitions.requeue(job)
                revived.append(job.id)
        waiting = (
            session.scalars(
                update(Job)
                .where(Job.status == JobStatus.QUEUED, Job.updated_at < queued_before)
                .values(updated_at=now)
                .returning(Job.id)
            ).all()
            if revive_waiting
            else []
        )
        return revived, list(waiting), failed

    revived, waiting, failed = safe_commit(runtime.db.session_factory, work)
    for job_id in [*revived, *waiting]:
        try:
            enqueue(job_id)
        except BrokerUnavailableError:
            # They stay queued; the next sweep tries again once the broker is back.
            logger.warning("sweep.enqueue_failed remaining=%d", len(revived) + len(waiting))
            break
    if on_failed is not None:
        for job_id in failed:
            on_failed(job_id)
    return SweepReport(requeued_stale=len(revived), requeued_queued=len(waiting), failed=len(failed))
