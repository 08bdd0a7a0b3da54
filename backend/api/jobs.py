"""/api/v1/jobs: validate → jobs service → commit → enqueue → serialize."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, jsonify, request
from pydantic import ValidationError

from backend import jobs
from backend.api import API_PREFIX, db_session, services
from backend.api.declare import declare, ok, problem
from backend.api.problems import ApiProblem, field_errors_problem, json_body, query_args, unavailable
from backend.api.schemas import IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_RULE, JobCreate, JobListQuery, job_cursor
from backend.api.security import current_user_id, require_api_key
from backend.broker import enqueue_callback, enqueue_run_job
from backend.errors import (
    BlockedUrlError,
    BrokerUnavailableError,
    FetchFailedError,
    InvalidUrlError,
    TooManyJobsError,
)
from backend.logging import get_logger
from backend.models import Job, JobStatus
from backend.shapes import Job as JobShape
from backend.shapes import JobList
from backend.urlguard import check_url

logger = get_logger(__name__)

bp = Blueprint("jobs", __name__)

# A client over its outstanding-jobs cap learns when to look again; jobs take seconds to minutes.
OUTSTANDING_RETRY_AFTER_SECONDS = 30


def _base_path() -> str:
    return request.script_root + API_PREFIX


def _job_response(job: Job, status: int) -> Response:
    response = jsonify(JobShape.of(job, base_path=_base_path()).model_dump(mode="json"))
    response.status_code = status
    return response


def _idempotency_key() -> str | None:
    raw = request.headers.get(IDEMPOTENCY_KEY.name)
    if raw is None:
        return None
    try:
        return str(IDEMPOTENCY_KEY.adapter.validate_python(raw))
    except ValidationError:
        raise field_errors_problem(
            [{"field": IDEMPOTENCY_KEY.name, "message": IDEMPOTENCY_KEY_RULE}]
        ) from None


def _check_callback_url(url: str | None) -> None:
    """The callback_url passes the scraper's SSRF guard now, or the submission is a 422 naming the field.

    A name that does not resolve at the moment is accepted: whatever sends the callback
    re-checks it then, through the same guard.
    """
    if url is None:
        return
    try:
        check_url(url, services().settings.allows_private(url))
    except (BlockedUrlError, InvalidUrlError) as exc:
        raise field_errors_problem(
            [{"field": "callback_url", "message": f"{exc.code}: {exc.message}"}]
        ) from None
    except FetchFailedError:
        logger.info("job.callback_unresolved")


def _enqueue(job: Job, ahead: int) -> None:
    """Hand the committed job to the broker; if it is down the row stays queued for the sweep."""
    try:
        enqueue_run_job(services().celery, job.id, ahead=ahead)
    except BrokerUnavailableError:
        logger.warning("job.enqueue_failed", job_id=str(job.id))
        problem: ApiProblem = unavailable(
            "The job was saved but could not be queued yet; it will be picked up automatically. "
            "Retry with the same Idempotency-Key, or poll the job."
        )
        problem.members["job_id"] = str(job.id)
        raise problem from None


NO_SUCH_JOB = problem(404, "No such job for this key.")


@bp.post("/jobs")
@declare(
    "submitJob",
    "Submit a sales page to scrape.",
    ok(202, JobShape, "Job created and queued."),
    ok(200, JobShape, "Idempotency-Key replay: the earlier job."),
    problem(404, "campaign_id belongs to another user."),
    problem(409, "Idempotency-Key reused for a different request."),
    problem(
        429,
        "Too many requests, or MAX_OUTSTANDING_JOBS of the caller's jobs queued or running.",
        retry_after=True,
    ),
    body=JobCreate,
    headers=(IDEMPOTENCY_KEY,),
)
@require_api_key
def submit_job() -> Response:
    body = json_body(JobCreate)
    _check_callback_url(body.callback_url)
    key = _idempotency_key()
    session = db_session()
    spec = jobs.JobSpec(**body.model_dump())
    try:
        submission = jobs.submit_job(
            session,
            current_user_id(),
            spec,
            idempotency_key=key,
            max_outstanding=services().settings.max_outstanding_jobs,
        )
    except TooManyJobsError as exc:
        raise ApiProblem(
            429,
            str(exc),
            slug="too-many-outstanding-jobs",
            title="Too many outstanding jobs",
            headers={"Retry-After": str(OUTSTANDING_RETRY_AFTER_SECONDS)},
            outstanding=exc.outstanding,
            limit=exc.limit,
        ) from None
    session.commit()
    job = submission.job
    logger.info("job.submitted", job_id=str(job.id), created=submission.created, ahead=submission.ahead)
    if job.status == JobStatus.QUEUED:
        _enqueue(job, submission.ahead)
    response = _job_response(job, 202 if submission.created else 200)
    response.headers["Location"] = f"{_base_path()}/jobs/{job.id}"
    return response


@bp.get("/jobs/<uuid:job_id>")
@declare("getJob", "Poll a job.", ok(200, JobShape, "The job."), NO_SUCH_JOB)
@require_api_key
def get_job(job_id: uuid.UUID) -> Response:
    return _job_response(jobs.get_job(db_session(), current_user_id(), job_id), 200)


@bp.get("/jobs")
@declare(
    "listJobs", "The caller's jobs, newest first.", ok(200, JobList, "One page of jobs."), query=JobListQuery
)
@require_api_key
def list_jobs() -> Response:
    query = query_args(JobListQuery)
    page = jobs.list_jobs(
        db_session(),
        current_user_id(),
        campaign_id=query.campaign_id,
        status=query.status,
        limit=query.limit,
        after=query.cursor,
    )
    base = _base_path()
    listing = JobList(
        items=[JobShape.of(job, base_path=base) for job in page.items], next_cursor=job_cursor(page.next_key)
    )
    return jsonify(listing.model_dump(mode="json"))


@bp.post("/jobs/<uuid:job_id>/cancel")
@declare(
    "cancelJob",
    "Cancel a queued or running job.",
    ok(202, JobShape, "Cancelled."),
    NO_SUCH_JOB,
    problem(409, "The job has already finished."),
)
@require_api_key
def cancel_job(job_id: uuid.UUID) -> Response:
    session = db_session()
    job = jobs.cancel_job(session, current_user_id(), job_id)
    session.commit()
    logger.info("job.cancelled", job_id=str(job.id))
    if job.callback_url:
        enqueue_callback(services().celery, job.id)
    return _job_response(job, 202)
