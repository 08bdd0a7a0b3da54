"""The broker client: hand jobs and callbacks to the queue, ping the broker, read the queue's depth.

The API, the CLI and the worker's own tasks send through it; the task names here are the
contract with the worker's task registry (worker.tasks). It needs a Celery app (built by
worker.config.make_celery) but none of the worker's code.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from typing import TYPE_CHECKING

from kombu.exceptions import ChannelError
from kombu.exceptions import OperationalError as KombuOperationalError

from backend.errors import BrokerUnavailableError

if TYPE_CHECKING:
    from celery import Celery

RUN_JOB_TASK = "scraper.run_job"
SWEEP_TASK = "scraper.sweep_stuck_jobs"
CALLBACK_TASK = "scraper.deliver_callback"
TIMED_OUT_TASK = "scraper.fail_timed_out_job"

logger = logging.getLogger(__name__)


def enqueue_run_job(app: Celery, job_id: uuid.UUID) -> None:
    """Hand a committed job to the broker; BrokerUnavailableError if it will not take it."""
    try:
        app.send_task(RUN_JOB_TASK, args=[str(job_id)])
    except (KombuOperationalError, OSError) as exc:
        raise BrokerUnavailableError(f"broker unavailable: {type(exc).__name__}") from exc


def enqueue_callback(app: Celery, job_id: uuid.UUID | str) -> None:
    """Queue the delivery of a finished job's callback; a broker failure is logged, not raised."""
    _send_or_log(app, CALLBACK_TASK, job_id, "callback.enqueue_failed")


def enqueue_timed_out(app: Celery, job_id: uuid.UUID | str) -> None:
    """Queue the failing of a job whose pool process was killed at the hard limit; a broker failure is logged.

    Without it, the sweep still finds the job once its heartbeat is stale, and retries it.
    """
    _send_or_log(app, TIMED_OUT_TASK, job_id, "job.timed_out_enqueue_failed")


def _send_or_log(app: Celery, task_name: str, job_id: uuid.UUID | str, failure_event: str) -> None:
    """Send a task about one job; a broker failure is logged as `failure_event`, not raised."""
    try:
        app.send_task(task_name, args=[str(job_id)])
    except (KombuOperationalError, OSError) as exc:
        logger.warning("%s job_id=%s error=%s", failure_event, job_id, type(exc).__name__)


def queue_depth(app: Celery, queue: str, timeout: float = 2.0) -> int:
    """Messages waiting in `queue` (Redis list length, AMQP message count); 0 if it does not exist yet."""
    with app.connection_for_read() as connection:
        connection.ensure_connection(max_retries=1, timeout=timeout)
        channel = connection.channel()
        try:
            return int(channel.queue_declare(queue=queue, passive=True).message_count)
        except ChannelError:
            return 0
        finally:
            with contextlib.suppress(Exception):
                channel.close()


def ping_broker(app: Celery, timeout: float = 2.0) -> None:
    """Raise BrokerUnavailableError unless the broker accepts a connection now."""
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
    except (KombuOperationalError, OSError) as exc:
        raise BrokerUnavailableError(f"broker unavailable: {type(exc).__name__}") from exc


def queue_backlog(app: Celery, queue: str) -> int:
    """queue_depth for the sweep: 0 when the broker cannot be asked (the enqueue will tell)."""
    try:
        return queue_depth(app, queue)
    except (KombuOperationalError, OSError):
        return 0
