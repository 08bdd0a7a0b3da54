"""Job state changes a worker makes, against real Postgres."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from backend.errors import BrokerUnavailableError
from backend.models import ImageType, Job, JobStatus, ScrapedImage, utcnow
from tests.factories import create_job
from worker import lifecycle
from worker.lifecycle import Claim
from worker.pipeline.store import StoredImage, image_row
from worker.pipeline.types import Candidate, ImageInfo, Progress, RankedImage
from worker.sweep import sweep_stuck_jobs

STALE = timedelta(seconds=60)


def _job(db, **fields) -> Job:
    with db.session() as session:
        job = create_job(session, **fields)
        session.commit()
        return job


def _reload(db, job_id) -> Job:
    with db.session() as session:
        return session.get(Job, job_id)


def _rows(job: Job, count: int) -> list[dict[str, object]]:
    rows = []
    for index in range(count):
        info = ImageInfo("JPEG", "image/jpeg", 800, 600, 1000, f"{index:064x}")
        image = RankedImage(
            Candidate(f"http://x.test/{index}.jpg", "img", index),
            b"",
            info,
            50.0,
            ImageType.PRODUCT,
            False,
            True,
            False,
        )
        stored = StoredImage(image=image, key=f"campaigns/{job.campaign_id}/{index}.jpg", url="https://cdn/x")
        rows.append(image_row(stored, campaign_id=job.campaign_id, job_id=job.id, rank=len(rows)))
    return rows


def _count_images(db) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(ScrapedImage))


def test_claim_moves_queued_job_to_running(db):
    """A queued job is claimed: running, one attempt, start time set."""
    job = _job(db)
    claim, ticket = lifecycle.claim_job(db, job.id, max_attempts=3, stale_after=STALE)
    assert claim == Claim.CLAIMED
    assert ticket is not None and ticket.attempts == 1
    stored = _reload(db, job.id)
    assert (stored.status, stored.attempts) == (JobStatus.RUNNING, 1)
    assert stored.started_at is not None and stored.heartbeat_at is not None


def test_claim_refuses_a_job_another_worker_is_running(db):
    """A running job with a fresh heartbeat is busy, not claimed twice."""
    job = _job(db, status=JobStatus.RUNNING, attempts=1, heartbeat_at=utcnow())
    assert lifecycle.claim_job(db, job.id, max_attempts=3, stale_after=STALE) == (Claim.BUSY, None)
    assert _reload(db, job.id).attempts == 1


def test_claim_takes_over_a_job_whose_worker_vanished(db):
    """A running job with a stale heartbeat is claimed again, counting the attempt."""
    job = _job(db, status=JobStatus.RUNNING, attempts=1, heartbeat_at=utcnow() - timedelta(minutes=5))
    claim, ticket = lifecycle.claim_job(db, job.id, max_attempts=3, stale_after=STALE)
    assert claim == Claim.CLAIMED and ticket.attempts == 2


@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED])
def test_claim_leaves_finished_jobs_alone(db, status):
    """Re-delivering a finished job is a no-op."""
    job = _job(db, status=status)
    assert lifecycle.claim_job(db, job.id, max_attempts=3, stale_after=STALE) == (Claim.FINISHED, None)
    assert _reload(db, job.id).status == status


def test_claim_of_unknown_job_is_finished(db):
    """A job that no longer exists (campaign deleted) is simply dropped."""
    assert lifecycle.claim_job(db, uuid.uuid4(), max_attempts=3, stale_after=STALE) == (Claim.FINISHED, None)


def test_claim_gives_up_after_max_attempts(db):
    """A job that crashed its worker every time ends failed instead of looping forever."""
    job = _job(db, status=JobStatus.RUNNING, attempts=3, heartbeat_at=utcnow() - timedelta(hours=1))
    assert lifecycle.claim_job(db, job.id, max_attempts=3, stale_after=STALE) == (Claim.GAVE_UP, None)
    stored = _reload(db, job.id)
    assert (stored.status, stored.error_code) == (JobStatus.FAILED, "internal")
    assert "3 attempts" in stored.error_message


def test_progress_is_written_and_reports_cancellation(db):
    """Counters reach the row while running; a cancelled job reports its status back."""
    job = _job(db, status=JobStatus.RUNNING, heartbeat_at=utcnow())
    progress = Progress(images_found=7, images_processed=3, images_skipped=1, images_failed=1)
    assert lifecycle.record_progress(db, job.id, progress) == JobStatus.RUNNING
    stored = _reload(db, job.id)
    assert (stored.images_found, stored.images_processed, stored.images_skipped, stored.images_failed) == (
        7,
        3,
        1,
        1,
    )
    with db.session() as session:
        session.get(Job, job.id).status = JobStatus.CANCELLED
        session.commit()
    assert lifecycle.record_progress(db, job.id, Progress(images_found=9)) == JobStatus.CANCELLED
    assert _reload(db, job.id).images_found == 7


def test_finish_commits_rows_and_status_together(db):
    """Finishing inserts the image rows and marks the job succeeded with the saved count."""
    job = _job(db, status=JobStatus.RUNNING, heartbeat_at=utcnow())
    status = lifecycle.finish_job(db, job.id, _rows(job, 3), Progress(images_found=5, images_processed=5))
    assert status == JobStatus.SUCCEEDED
    stored = _reload(db, job.id)
    assert (stored.status, stored.images_saved, stored.images_found) == (JobStatus.SUCCEEDED, 3, 5)
    assert stored.finished_at is not None
    assert _count_images(db) == 3


def test_finish_sends_all_rows_in_one_insert(db):
    """The rows go to Postgres in one multi-VALUES INSERT, not one statement per row (a round trip each)."""
    job = _job(db, status=JobStatus.RUNNING, heartbeat_at=utcnow())
    statements: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        lifecycle.finish_job(db, job.id, _rows(job, 5), Progress())
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    inserts = [sql for sql in statements if sql.startswith("INSERT INTO scraped_images")]
    assert len(inserts) == 1, statements
    (sql,) = inserts
    assert sql.count("), (") == 4  # five VALUES groups
    assert _count_images(db) == 5
    assert _reload(db, job.id).images_saved == 5


def test_finish_twice_never_doubles_rows(db):
    """A re-run that inserts the same images again adds no rows (unique campaign+hash)."""
    job = _job(db, status=JobStatus.RUNNING, heartbeat_at=utcnow())
    lifecycle.finish_job(db, job.id, _rows(job, 2), Progress())
    with db.session() as session:
        session.get(Job, job.id).status = JobStatus.RUNNING
        session.commit()
    lifecycle.finish_job(db, job.id, _rows(job, 2), Progress())
    assert _count_images(db) == 2
    assert _reload(db, job.id).images_saved == 2


def test_finish_of_cancelled_job_saves_nothing(db):
    """A job cancelled while it ran keeps its status and gets no rows."""
    job = _job(db, status=JobStatus.CANCELLED)
    assert lifecycle.finish_job(db, job.id, _rows(job, 2), Progress()) == JobStatus.CANCELLED
    assert _count_images(db) == 0


def test_fail_records_code_and_message(db):
    """fail_job stores the stable code and the message."""
    job = _job(db, status=JobStatus.RUNNING)
    assert lifecycle.fail_job(db, job.id, "blocked_url", "no") is True
    stored = _reload(db, job.id)
    assert (stored.status, stored.error_code, stored.error_message) == (JobStatus.FAILED, "blocked_url", "no")


def test_fail_leaves_an_ended_job_alone_and_says_so(db):
    """A job that already ended keeps its status and error; fail_job answers False."""
    job = _job(db, status=JobStatus.SUCCEEDED)
    assert lifecycle.fail_job(db, job.id, "timeout", "late") is False
    stored = _reload(db, job.id)
    assert (stored.status, stored.error_code) == (JobStatus.SUCCEEDED, None)


def test_release_hands_a_running_job_back_to_the_queue(db):
    """After a transient failure the job is queued again, claimable at once."""
    job = _job(db, status=JobStatus.RUNNING, attempts=1, heartbeat_at=utcnow())
    lifecycle.release_job(db, job.id, "retrying after StorageError")
    assert lifecycle.claim_job(db, job.id, max_attempts=3, stale_after=STALE)[0] == Claim.CLAIMED


def test_release_out_of_attempts_fails_the_job_with_the_reason(db):
    """A transient failure on the last attempt fails the job, naming the error, instead of requeueing it."""
    job = _job(db, status=JobStatus.RUNNING, attempts=3, heartbeat_at=utcnow())
    assert lifecycle.release_job(db, job.id, "StorageError: put failed", max_attempts=3) is False
    stored = _reload(db, job.id)
    assert (stored.status, stored.error_code) == (JobStatus.FAILED, "internal")
    assert stored.error_message == "gave up after 3 attempts: StorageError: put failed"


def test_sweep_requeues_stale_and_stranded_jobs_and_fails_hopeless_ones(runtime):
    """The sweep re-enqueues lost and never-enqueued jobs and fails those out of attempts."""
    db = runtime.db
    long_ago = utcnow() - timedelta(hours=1)
    lost = _job(db, status=JobStatus.RUNNING, attempts=1, heartbeat_at=long_ago)
    hopeless = _job(
        db, status=JobStatus.RUNNING, attempts=runtime.settings.job_max_attempts, heartbeat_at=long_ago
    )
    busy = _job(db, status=JobStatus.RUNNING, attempts=1, heartbeat_at=utcnow())
    stranded = _job(db, updated_at=long_ago)
    fresh = _job(db)
    enqueued: list[uuid.UUID] = []

    report = sweep_stuck_jobs(runtime, enqueued.append)

    assert sorted(enqueued) == sorted([lost.id, stranded.id])
    assert (report.requeued_stale, report.requeued_queued, report.failed) == (1, 1, 1)
    assert _reload(db, lost.id).status == JobStatus.QUEUED
    assert _reload(db, hopeless.id).status == JobStatus.FAILED
    assert _reload(db, busy.id).status == JobStatus.RUNNING
    assert _reload(db, fresh.id).status == JobStatus.QUEUED


def test_sweep_leaves_queued_jobs_alone_while_the_queue_has_a_backlog(runtime):
    """Behind a backlog a long-queued job still has its message: no second one is sent; stale ones still are."""
    long_ago = utcnow() - timedelta(hours=1)
    waiting = _job(runtime.db, updated_at=long_ago)
    lost = _job(runtime.db, status=JobStatus.RUNNING, attempts=1, heartbeat_at=long_ago)
    enqueued: list[uuid.UUID] = []

    report = sweep_stuck_jobs(runtime, enqueued.append, backlog=lambda: 7)

    assert enqueued == [lost.id]
    assert (report.requeued_stale, report.requeued_queued) == (1, 0)
    assert sweep_stuck_jobs(runtime, enqueued.append, backlog=lambda: 0).requeued_queued == 1
    assert enqueued[-1] == waiting.id


def test_sweep_requeues_a_job_whose_message_is_gone_despite_a_backlog(runtime):
    """With the broker's list of held messages, a waiting job without one is re-enqueued even behind a backlog."""
    long_ago = utcnow() - timedelta(hours=1)
    lost = _job(runtime.db, updated_at=long_ago)
    behind = _job(runtime.db, updated_at=long_ago)
    enqueued: list[uuid.UUID] = []

    report = sweep_stuck_jobs(runtime, enqueued.append, held=lambda: {behind.id}, backlog=lambda: 7)

    assert enqueued == [lost.id]
    assert report.requeued_queued == 1
    assert _reload(runtime.db, lost.id).updated_at > long_ago
    # The new message gets a full grace: the next sweep, told it is held now, sends nothing.
    again = sweep_stuck_jobs(runtime, enqueued.append, held=lambda: {behind.id, lost.id}, backlog=lambda: 7)
    assert (again.requeued_queued, enqueued) == (0, [lost.id])


def test_sweep_does_not_list_the_broker_when_no_job_has_waited(runtime):
    """The broker's messages are read only when some job has been queued past its grace."""
    _job(runtime.db)
    asked: list[bool] = []
    sweep_stuck_jobs(runtime, lambda _job_id: None, held=lambda: asked.append(True) or set())
    assert asked == []


def test_sweep_survives_a_dead_broker(runtime):
    """If the broker refuses, the jobs stay queued for the next sweep."""
    job = _job(runtime.db, updated_at=utcnow() - timedelta(hours=1))

    def refuse(_job_id: uuid.UUID) -> None:
        raise BrokerUnavailableError("down")

    sweep_stuck_jobs(runtime, refuse)
    assert _reload(runtime.db, job.id).status == JobStatus.QUEUED
