"""Celery tasks: thin wrappers that load by id, call the runner, and turn errors into retry or fail."""

from __future__ import annotations

import random
import time
import uuid

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from sqlalchemy.exc import DBAPIError

from backend import object_deletes
from backend.broker import (
    ANALYZE_TASK,
    CALLBACK_TASK,
    DELETE_OBJECTS_TASK,
    RUN_JOB_TASK,
    SWEEP_TASK,
    TIMED_OUT_TASK,
    enqueue_callback,
    enqueue_run_job,
    enqueue_timed_out,
    held_job_ids,
    queue_backlog,
)
from backend.errors import TransientError
from backend.logging import get_logger, log_context
from backend.runtime import Runtime, get_runtime
from worker import analysis, callbacks, lifecycle
from worker.runner import Outcome, execute_job
from worker.sweep import sweep_stuck_jobs

logger = get_logger(__name__)

BUSY_RETRIES = 20
# Outcomes after which this worker ended the job, so it owes the job's callback
# (a cancellation is announced by the API, which ended the job).
ANNOUNCED_OUTCOMES = frozenset({Outcome.SUCCEEDED, Outcome.FAILED, Outcome.GAVE_UP})


MAX_RETRY_DELAY = 300.0
# Each delay is drawn from [JITTER_FLOOR × d, d], so jobs that failed together (storage down for
# everyone) do not all come back in the same second and fail together again.
JITTER_FLOOR = 0.5


def retry_delay(base: float, retries: int, rng: random.Random | None = None) -> float:
    """Seconds before retry number `retries` + 1: base × 2^retries, capped, with jitter."""
    delay = min(MAX_RETRY_DELAY, base * 2**retries)
    return delay * (rng or _RANDOM).uniform(JITTER_FLOOR, 1.0)


_RANDOM = random.Random()  # noqa: S311 - jitter, not a secret


class JobTask(Task):
    """run_job's task class, for what happens outside the pool process running the job."""

    def on_failure(
        self,
        exc: Exception,
        task_id: str,
        args: tuple[object, ...],
        kwargs: dict[str, object],  # noqa: ARG002 - Celery's signature
        einfo: object,  # noqa: ARG002
    ) -> None:
        # Celery calls this in the worker's main process after killing a pool process at the hard
        # time limit (one wedged in native code, or stopped, never saw the soft limit). That
        # process holds no database connection of its own, so it hands the job to a pool process.
        if isinstance(exc, TimeLimitExceeded) and args:
            logger.error("job.hard_time_limit", job_id=str(args[0]), task_id=task_id)
            enqueue_timed_out(self.app, str(args[0]))


@shared_task(name=RUN_JOB_TASK, bind=True, base=JobTask, max_retries=None)
def run_job(self: Task, job_id: str) -> str:
    """Run one scrape job; safe to deliver twice (the job row's state decides)."""
    runtime = get_runtime()
    job_uuid = uuid.UUID(job_id)
    with log_context(job_id=job_id):
        try:
            outcome = execute_job(runtime, job_uuid)
        except SoftTimeLimitExceeded:
            lifecycle.fail_job(runtime.db, job_uuid, "timeout", "the job exceeded its time limit")
            enqueue_callback(self.app, job_id)
            return Outcome.FAILED.value
        except (TransientError, DBAPIError) as exc:
            return _retry_transient(self, runtime, job_uuid, exc)
        if outcome is Outcome.BUSY and self.request.retries < BUSY_RETRIES:
            # Another delivery holds the job; look again once its heartbeat could be stale.
            raise self.retry(countdown=runtime.settings.job_stale_seconds)
        if outcome in ANNOUNCED_OUTCOMES:
            _announce(self, runtime, job_uuid)
        return outcome.value


def _announce(task: Task, runtime: Runtime, job_id: uuid.UUID) -> None:
    """Queue the callback delivery of a job this worker ended, if the job asked for one.

    Most jobs have no callback_url, and a delivery task that finds nothing to send still
    costs a broker round trip and a task run; one indexed read is cheaper. If the database
    cannot say, the delivery task is queued anyway: it decides for itself.
    """
    try:
        wanted = lifecycle.has_callback(runtime.db, job_id)
    except DBAPIError:
        wanted = True
    if wanted:
        enqueue_callback(task.app, str(job_id))


def _retry_transient(task: Task, runtime: Runtime, job_id: uuid.UUID, exc: Exception) -> str:
    """Hand the job back and retry it later with backoff; fail it with the error once out of attempts."""
    settings = runtime.settings
    logger.warning("job.transient_error", error=type(exc).__name__, retries=task.request.retries)
    reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
    try:
        released = lifecycle.release_job(runtime.db, job_id, reason, max_attempts=settings.job_max_attempts)
    except DBAPIError:
        logger.warning("job.release_failed")  # the sweep finds it once its heartbeat is stale
        released = True
    if not released:
        logger.warning("job.gave_up", error=type(exc).__name__)
        return Outcome.FAILED.value
    # claim_job counts attempts and fails the job past the limit, so this cannot loop forever.
    raise task.retry(exc=exc, countdown=retry_delay(settings.job_retry_backoff_seconds, task.request.retries))


@shared_task(name=TIMED_OUT_TASK, bind=True)
def fail_timed_out_job(self: Task, job_id: str) -> str:
    """Fail a job whose pool process was killed at the hard time limit, and announce it."""
    runtime = get_runtime()
    job_uuid = uuid.UUID(job_id)
    limit = runtime.settings.job_hard_time_limit
    message = f"the job ran past its hard time limit ({limit} s) and its worker process was stopped"
    with log_context(job_id=job_id):
        if not lifecycle.fail_job(runtime.db, job_uuid, "timeout", message):
            return Outcome.SKIPPED.value  # it ended meanwhile
        _announce(self, runtime, job_uuid)
        return Outcome.FAILED.value


@shared_task(name=SWEEP_TASK)
def sweep() -> dict[str, int]:
    """Periodic (celery beat): re-enqueue stuck jobs, fail the hopeless ones."""
    from worker.celery import app  # noqa: PLC0415 - the app module imports this one

    runtime = get_runtime()
    report = sweep_stuck_jobs(
        runtime,
        lambda job_id: enqueue_run_job(app, job_id, ahead=lifecycle.jobs_ahead(runtime.db, job_id)),
        held=lambda: held_job_ids(app, runtime.settings.celery_queue),
        backlog=lambda: queue_backlog(app, runtime.settings.celery_queue),
        on_failed=lambda job_id: enqueue_callback(app, job_id),
    )
    # A sweep that found nothing is routine every SWEEP_INTERVAL_SECONDS; only one that acted is news.
    acted = report.requeued_stale or report.requeued_queued or report.failed
    log = logger.info if acted else logger.debug
    log(
        "sweep.done",
        stale=report.requeued_stale,
        queued=report.requeued_queued,
        failed=report.failed,
    )
    return vars(report)


@shared_task(name=DELETE_OBJECTS_TASK)
def delete_objects() -> dict[str, int]:
    """Remove the objects of deleted images from storage (sent after a delete, and by beat)."""
    runtime = get_runtime()
    return vars(object_deletes.drain(runtime.db, runtime.store))


@shared_task(name=CALLBACK_TASK, bind=True, max_retries=None)
def deliver_callback(self: Task, job_id: str) -> str:
    """POST a finished job to its callback_url; retried with capped backoff up to CALLBACK_MAX_ATTEMPTS."""
    settings = get_runtime().settings
    attempt = self.request.retries + 1
    with log_context(job_id=job_id):
        try:
            return callbacks.deliver_callback(get_runtime(), uuid.UUID(job_id), attempt).value
        except callbacks.CallbackRetryError:
            if attempt >= settings.callback_max_attempts:
                logger.error("callback.gave_up", attempts=attempt)
                return "gave_up"
            raise self.retry(countdown=callbacks.retry_delay(settings, attempt)) from None


@shared_task(name=ANALYZE_TASK, acks_late=False)
def analyze(reply_id: str, url: str, max_images: int, answer_by: float) -> str:
    """Run one /analyze preview and leave the answer where the waiting API process reads it.

    Acked on receipt: a preview lost with its process is not worth a second run, its caller
    has given up by then. The pipeline stops at `answer_by` (epoch seconds), when the caller stops waiting.
    """
    settings = get_runtime().settings
    seconds = min(settings.analyze_timeout, answer_by - time.time())
    reply = analysis.run_analysis(url, max_images, settings, seconds=seconds)
    box = analysis.reply_box(settings)
    if box is None:
        logger.error("analyze.no_reply_box")  # neither REDIS_URL nor a filesystem broker
        return "no_reply_box"
    box.put(reply_id, reply)
    return "error" if "error" in reply else "answered"
