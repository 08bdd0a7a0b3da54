"""Job service: submit (with Idempotency-Key), get, list and cancel, every query scoped to its owner.

Functions take a Session and the caller's user id and never commit: the caller
(a request, a CLI command) commits once at its own boundary.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend import job_transitions
from backend.errors import ConflictError, NotFoundError, TooManyJobsError
from backend.models import Campaign, Job, JobStatus, User

ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


@dataclass(frozen=True)
class JobKey:
    """A position in the newest-first job listing (the keyset cursor's content)."""

    created_at: datetime
    id: uuid.UUID


@dataclass(frozen=True)
class JobPage:
    items: list[Job]
    next_key: JobKey | None


@dataclass(frozen=True)
class JobSpec:
    """What a client asks for when it submits a job."""

    sales_page_url: str
    campaign_id: uuid.UUID | None = None
    max_images: int = 10
    callback_url: str | None = None
    campaign_name: str | None = None  # names the campaign (a new one, or renames the one given)


@dataclass(frozen=True)
class Submission:
    """The submitted job; `created` is False when an Idempotency-Key replay found an earlier one.

    `ahead` is how many of the caller's jobs were queued or running before this one: the
    broker gives a job of someone with fewer waiting a higher priority (fair scheduling).
    """

    job: Job
    created: bool
    ahead: int = 0


# Built once, as the key lookup is: every poll of a job runs it.
JOB_OF_USER = select(Job).where(Job.id == bindparam("job_id"), Job.user_id == bindparam("user_id"))


def get_job(session: Session, user_id: uuid.UUID, job_id: uuid.UUID) -> Job:
    """The caller's job; NotFoundError if it is unknown or someone else's."""
    job = session.scalar(JOB_OF_USER, {"job_id": job_id, "user_id": user_id})
    if job is None:
        raise NotFoundError("No job with this id.")
    return job


def _claim_campaign(session: Session, user_id: uuid.UUID, campaign_id: uuid.UUID) -> Campaign:
    """The caller's campaign, created on first use (unnamed; the caller names it); someone else's is NotFoundError."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        try:
            with session.begin_nested():
                campaign = Campaign(id=campaign_id, user_id=user_id)
                session.add(campaign)
        except IntegrityError:
            # A concurrent first job for the same id created it; whose is it?
            campaign = session.scalar(
                select(Campaign).where(Campaign.id == campaign_id).execution_options(populate_existing=True)
            )
    if campaign is None or campaign.user_id != user_id:
        raise NotFoundError("No campaign with this id.")
    return campaign


def _by_idempotency_key(session: Session, user_id: uuid.UUID, key: str) -> Job | None:
    return session.scalar(select(Job).where(Job.idempotency_key == key, Job.user_id == user_id))


def _replayed(job: Job, spec: JobSpec) -> Submission:
    """The earlier job for a reused key, provided the request is the same one."""
    same = (
        job.sales_page_url == spec.sales_page_url
        and job.max_images == spec.max_images
        and job.callback_url == spec.callback_url
        and spec.campaign_id in (None, job.campaign_id)
    )
    if not same:
        raise ConflictError("This Idempotency-Key was already used for a different request.")
    return Submission(job=job, created=False)


def _insert_job(session: Session, user_id: uuid.UUID, spec: JobSpec, idempotency_key: str | None) -> Job:
    """Insert the job, and its campaign on first use; under one savepoint when a key can race.

    If the job insert loses an Idempotency-Key race, the savepoint takes the
    campaign it may have created with it: no empty campaign is left behind.
    Without a key there is no race to lose, so no savepoint (two fewer round trips).
    """
    if idempotency_key is None:
        job = _add_job(session, user_id, spec, None)
        session.flush()  # the caller reads job.id before it commits
        return job
    with session.begin_nested():
        return _add_job(session, user_id, spec, idempotency_key)


def _add_job(session: Session, user_id: uuid.UUID, spec: JobSpec, idempotency_key: str | None) -> Job:
    if spec.campaign_id is None:
        # A campaign id we just drew cannot exist yet: no lookup, no savepoint for a race.
        campaign = Campaign(id=uuid.uuid4(), user_id=user_id, name=spec.campaign_name)
        session.add(campaign)
    else:
        campaign = _claim_campaign(session, user_id, spec.campaign_id)
        if spec.campaign_name is not None:
            campaign.name = spec.campaign_name
    job = Job(
        user_id=user_id,
        campaign_id=campaign.id,
        sales_page_url=spec.sales_page_url,
        max_images=spec.max_images,
        callback_url=spec.callback_url,
        idempotency_key=idempotency_key,
        status=job_transitions.INITIAL,
    )
    session.add(job)
    return job


def outstanding_jobs(session: Session, user_id: uuid.UUID) -> int:
    """How many of the user's jobs are queued or running (the active jobs are few: the status index serves it)."""
    count = session.scalar(
        select(func.count()).select_from(Job).where(Job.status.in_(ACTIVE_STATUSES), Job.user_id == user_id)
    )
    return int(count or 0)


def jobs_ahead(session: Session, job_id: uuid.UUID) -> int:
    """How many of the job owner's queued or running jobs were created before it."""
    job = session.get(Job, job_id)
    if job is None:
        return 0
    count = session.scalar(
        select(func.count())
        .select_from(Job)
        .where(
            Job.status.in_(ACTIVE_STATUSES),
            Job.user_id == job.user_id,
            Job.created_at < job.created_at,
        )
    )
    return int(count or 0)


def _check_outstanding(session: Session, user_id: uuid.UUID, limit: int) -> int:
    """The user's outstanding jobs, under a lock on their row; TooManyJobsError at the limit.

    The row lock (Postgres) makes a user's concurrent submissions count one after another,
    so together they cannot pass the limit.
    """
    session.execute(select(User.id).where(User.id == user_id).with_for_update())
    outstanding = outstanding_jobs(session, user_id)
    if outstanding >= limit:
        raise TooManyJobsError(outstanding, limit)
    return outstanding


def submit_job(
    session: Session,
    user_id: uuid.UUID,
    spec: JobSpec,
    *,
    idempotency_key: str | None = None,
    max_outstanding: int | None = None,
) -> Submission:
    """Create a queued job (and its campaign on first use), or return the job an earlier key made.

    With `max_outstanding`, a caller who already has that many jobs queued or running gets
    TooManyJobsError (a replay of an earlier key still answers). The caller commits, then
    enqueues the job: a message must never name an uncommitted row.
    """
    if idempotency_key is not None:
        earlier = _by_idempotency_key(session, user_id, idempotency_key)
        if earlier is not None:
            return _replayed(earlier, spec)
    ahead = (
        _check_outstanding(session, user_id, max_outstanding)
        if max_outstanding is not None
        else outstanding_jobs(session, user_id)
    )
    try:
        job = _insert_job(session, user_id, spec, idempotency_key)
    except IntegrityError:
        # Two requests with one key raced; the unique (user_id, idempotency_key) picked a winner.
        earlier = _by_idempotency_key(session, user_id, idempotency_key) if idempotency_key else None
        if earlier is None:
            raise
        return _replayed(earlier, spec)
    return Submission(job=job, created=True, ahead=ahead)


def list_jobs(
    session: Session,
    user_id: uuid.UUID,
    *,
    campaign_id: uuid.UUID | None = None,
    status: JobStatus | None = None,
    limit: int = 20,
    after: JobKey | None = None,
) -> JobPage:
    """The caller's jobs, newest first, one page after the keyset position `after`."""
    query = select(Job).where(Job.user_id == user_id)
    if campaign_id is not None:
        query = query.where(Job.campaign_id == campaign_id)
    if status is not None:
        query = query.where(Job.status == status)
    if after is not None:
        query = query.where(
            or_(
                Job.created_at < after.created_at, and_(Job.created_at == after.created_at, Job.id < after.id)
            )
        )
    rows = list(session.scalars(query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)))
    items = rows[:limit]
    next_key = JobKey(items[-1].created_at, items[-1].id) if len(rows) > limit else None
    return JobPage(items=items, next_key=next_key)


def cancel_job(session: Session, user_id: uuid.UUID, job_id: uuid.UUID) -> Job:
    """Move a queued or running job to cancelled; a finished one is a ConflictError.

    One guarded UPDATE, so a worker finishing at the same moment cannot be overwritten;
    a running worker notices the status on its next progress write and stops.
    """
    result = session.execute(job_transitions.cancel(Job.id == job_id, Job.user_id == user_id))
    job = session.scalar(
        select(Job).where(Job.id == job_id, Job.user_id == user_id).execution_options(populate_existing=True)
    )
    if job is None:
        raise NotFoundError("No job with this id.")
    if result.rowcount == 0:  # type: ignore[attr-defined]  # execute() of an UPDATE/DELETE is a CursorResult
        raise ConflictError(
            f"The job is already {job.status.value}; only queued or running jobs can be cancelled."
        )
    return job
