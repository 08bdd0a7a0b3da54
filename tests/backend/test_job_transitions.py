"""The job state machine: each status change is allowed from exactly the statuses the table names."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from backend import job_transitions
from backend.errors import IllegalTransitionError, ScraperError
from backend.models import Job, JobStatus, utcnow
from tests.factories import create_job

MOVES = {
    "claim": (lambda job: job_transitions.claim(job, utcnow()), {JobStatus.QUEUED, JobStatus.RUNNING}),
    "succeed": (lambda job: job_transitions.succeed(job, utcnow()), {JobStatus.RUNNING}),
    "fail": (
        lambda job: job_transitions.fail(job, "internal", "boom"),
        {JobStatus.QUEUED, JobStatus.RUNNING},
    ),
    "requeue": (lambda job: job_transitions.requeue(job, "retrying: x"), {JobStatus.RUNNING}),
}
TARGETS = {
    "claim": JobStatus.RUNNING,
    "succeed": JobStatus.SUCCEEDED,
    "fail": JobStatus.FAILED,
    "requeue": JobStatus.QUEUED,
}


def _job(status: JobStatus) -> Job:
    return Job(
        id=uuid.uuid4(), status=status, attempts=1, error_code=None, error_message=None, started_at=None
    )


@pytest.mark.parametrize("status", list(JobStatus))
@pytest.mark.parametrize("move", sorted(MOVES))
def test_each_move_is_allowed_only_from_its_statuses(move, status):
    """Allowed: the job lands in the move's status. Refused: IllegalTransitionError, the job untouched."""
    apply, sources = MOVES[move]
    job = _job(status)
    if status in sources:
        apply(job)
        assert job.status == TARGETS[move]
    else:
        with pytest.raises(IllegalTransitionError) as raised:
            apply(job)
        assert (raised.value.current, raised.value.target) == (status.value, TARGETS[move].value)
        assert (job.status, job.attempts, job.error_code, job.finished_at) == (status, 1, None, None)


def test_finished_jobs_never_change():
    for status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED):
        assert job_transitions.TRANSITIONS[status] == frozenset()
        for target in JobStatus:
            with pytest.raises(IllegalTransitionError):
                job_transitions.check(status, target)


def test_illegal_transition_is_in_the_error_tree():
    assert issubclass(IllegalTransitionError, ScraperError)
    assert str(IllegalTransitionError("succeeded", "running")) == "a job cannot go from succeeded to running"


def test_claim_counts_the_attempt_and_clears_the_last_error():
    job = _job(JobStatus.QUEUED)
    job.error_message = "retrying: broker down"
    now = utcnow()
    job_transitions.claim(job, now)
    assert (job.attempts, job.started_at, job.heartbeat_at, job.error_message) == (2, now, now, None)


def test_cancel_is_one_update_guarded_by_the_statuses_it_may_leave(db):
    """Only queued and running jobs are cancelled; the UPDATE leaves a finished one as it is."""
    assert job_transitions.allowed_from(JobStatus.CANCELLED) == (JobStatus.QUEUED, JobStatus.RUNNING)
    with db.session() as session:
        jobs = {status: create_job(session, status=status).id for status in JobStatus}
        session.commit()
        result = session.execute(job_transitions.cancel(Job.id.in_(list(jobs.values()))))
        session.commit()
        assert result.rowcount == 2
        stored = dict(
            session.execute(select(Job.id, Job.status).where(Job.id.in_(list(jobs.values())))).all()
        )
    assert {status: stored[job_id] for status, job_id in jobs.items()} == {
        JobStatus.QUEUED: JobStatus.CANCELLED,
        JobStatus.RUNNING: JobStatus.CANCELLED,
        JobStatus.SUCCEEDED: JobStatus.SUCCEEDED,
        JobStatus.FAILED: JobStatus.FAILED,
        JobStatus.CANCELLED: JobStatus.CANCELLED,
    }
