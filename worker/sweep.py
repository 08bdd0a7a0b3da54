"""sweep_stuck_jobs: find jobs nobody is working on and hand them to the queue again."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend import job_transitions
from backend.errors import BrokerUnavailableError
from backend.logging import get_logger
from backend.models import Job, JobStatus, utcnow
from backend.runtime import Runtime
from backend.safe_commit import safe_commit

logger = get_logger(__name__)


def _some_job_waited(runtime: Runtime, queued_before: datetime) -> bool:
    """Whether any job has been queued since before `queued_before` (one indexed probe)."""
    with runtime.db.session() as session:
        waited = session.scalar(
            select(Job.id).where(Job.status == JobStatus.QUEUED, Job.updated_at < queued_before).limit(1)
        )
    return waited is not None


def _waiting_without_message(
    session: Session, queued_before: datetime, held_ids: set[uuid.UUID] | None, now: datetime
) -> list[uuid.UUID]:
    """Jobs queued since before `queued_before` whose message the broker does not hold (all, if unknown).

    Their updated_at is set to `now`, so the next sweep gives the new message a full grace.
    """
    waited = session.scalars(
        select(Job.id)
        .where(Job.status == JobStatus.QUEUED, Job.updated_at < queued_before)
        .with_for_update(skip_locked=True)
    ).all()
    lost = [job_id for job_id in waited if held_ids is None or job_id not in held_ids]
    if lost:
        session.execute(
            update(Job)
            .where(Job.id.in_(lost))
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )
    return lost


@dataclass(frozen=True)
class SweepReport:
    requeued_stale: int
    requeued_queued: int
    failed: int


def sweep_stuck_jobs(
    runtime: Runtime,
    enqueue: Callable[[uuid.UUID], None],
    *,
    held: Callable[[], set[uuid.UUID] | None] = lambda: None,
    backlog: Callable[[], int] = lambda: 0,
    on_failed: Callable[[uuid.UUID], None] | None = None,
) -> SweepReport:
    """Re-enqueue jobs whose worker vanished or whose message is gone; fail those out of attempts.

    A job `queued` for longer than JOB_QUEUED_GRACE_SECONDS is re-enqueued when the broker
    does not hold its message (`held()`: the jobs whose run_job message is waiting or
    delivered), backlog or not: a failed enqueue or a broker restart that lost messages is
    found within the grace plus one sweep interval. When the broker cannot list its messages
    (`held()` is None: not Redis, or unreachable), such a job is re-enqueued only while the
    queue is empty (`backlog()` returns 0), since behind a backlog its message is probably
    still waiting and a second one every grace period would multiply the queue.

    `on_failed` is called, after the commit, with each job this sweep failed (to announce it).
    """
    settings = runtime.settings
    now = utcnow()
    stale_before = now - timedelta(seconds=settings.job_stale_seconds)
    queued_before = now - timedelta(seconds=settings.job_queued_grace_seconds)
    held_ids = held() if _some_job_waited(runtime, queued_before) else None
    revive_waiting = held_ids is not None or backlog() == 0

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
        waiting = _waiting_without_message(session, queued_before, held_ids, now) if revive_waiting else []
        return revived, waiting, failed

    revived, waiting, failed = safe_commit(runtime.db.session_factory, work)
    for job_id in [*revived, *waiting]:
        try:
            enqueue(job_id)
        except BrokerUnavailableError:
            # They stay queued; the next sweep tries again once the broker is back.
            logger.warning("sweep.enqueue_failed", remaining=len(revived) + len(waiting))
            break
    if on_failed is not None:
        for job_id in failed:
            on_failed(job_id)
    return SweepReport(requeued_stale=len(revived), requeued_queued=len(waiting), failed=len(failed))
