"""Every change of `jobs.status`, checked against the one table of allowed transitions.

    queued  ──claim──▶  running  ──finish──▶  succeeded
      │                   ├──fail──▶ failed
      │                   ├──requeue──▶ queued      (a transient failure, or its worker vanished)
      │                   ├──claim──▶ running       (another worker takes over a stale heartbeat)
      │                   └──cancel──▶ cancelled
      ├──fail──▶ failed        (out of attempts when claimed, or failed before it ran)
      └──cancel──▶ cancelled

A finished job (succeeded, failed, cancelled) never changes again. Workers change a row they
hold locked (SELECT … FOR UPDATE) through the functions below; the API cancels with one
UPDATE … WHERE status IN (the statuses a cancel may leave), so a worker finishing at the same
moment is never overwritten. A change outside the table raises IllegalTransitionError.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import ColumnElement, Update, update

from backend.errors import IllegalTransitionError
from backend.models import Job, JobStatus, utcnow

INITIAL = JobStatus.QUEUED

TRANSITIONS: Mapping[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING, JobStatus.FAILED, JobStatus.CANCELLED}),
    JobStatus.RUNNING: frozenset(
        {JobStatus.RUNNING, JobStatus.QUEUED, JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}
    ),
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}

MAX_MESSAGE = 2000


def allowed_from(target: JobStatus) -> tuple[JobStatus, ...]:
    """The statuses a job may move to `target` from, in declaration order (for guarded UPDATEs)."""
    return tuple(status for status in JobStatus if target in TRANSITIONS[status])


def check(current: JobStatus, target: JobStatus) -> None:
    """IllegalTransitionError unless the table allows `current` → `target`."""
    if target not in TRANSITIONS[current]:
        raise IllegalTransitionError(current.value, target.value)


def _move(job: Job, target: JobStatus) -> None:
    check(JobStatus(job.status), target)
    job.status = target


def claim(job: Job, now: datetime) -> None:
    """A worker takes the job: running, one more attempt, a fresh heartbeat, the last error cleared."""
    _move(job, JobStatus.RUNNING)
    job.attempts += 1
    job.started_at = job.started_at or now
    job.heartbeat_at = now
    job.error_code = job.error_message = None


def succeed(job: Job, now: datetime) -> None:
    _move(job, JobStatus.SUCCEEDED)
    job.finished_at = job.heartbeat_at = now


def fail(job: Job, code: str, message: str) -> None:
    """The job ends failed with a stable error code."""
    _move(job, JobStatus.FAILED)
    job.error_code = code
    job.error_message = message[:MAX_MESSAGE]
    job.finished_at = utcnow()


def requeue(job: Job, note: str | None = None) -> None:
    """Back to queued for another attempt; `note` (why) is kept as the error message meanwhile."""
    _move(job, JobStatus.QUEUED)
    job.heartbeat_at = None
    if note is not None:
        job.error_message = note[:MAX_MESSAGE]


def cancel(*criteria: ColumnElement[bool]) -> Update:
    """The UPDATE that cancels the jobs matching `criteria` which may still be cancelled (rowcount tells)."""
    return (
        update(Job)
        .where(*criteria, Job.status.in_(allowed_from(JobStatus.CANCELLED)))
        .values(status=JobStatus.CANCELLED, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
