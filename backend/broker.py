"""The broker client: hand jobs, callbacks and previews to the queue, ping the broker, read the queue's depth.

The API, the CLI and the worker's own tasks send through it; the task names here are the
contract with the worker's task registry (worker.tasks). It needs a Celery app (built by
worker.config.make_celery) but none of the worker's code.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import ssl
import time
import uuid
from typing import TYPE_CHECKING, Any

from kombu.exceptions import ChannelError
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from backend.errors import BrokerCertificateError, BrokerUnavailableError
from backend.logging import get_logger

if TYPE_CHECKING:
    from celery import Celery

    from backend.settings import Settings

RUN_JOB_TASK = "scraper.run_job"
SWEEP_TASK = "scraper.sweep_stuck_jobs"
CALLBACK_TASK = "scraper.deliver_callback"
TIMED_OUT_TASK = "scraper.fail_timed_out_job"
ANALYZE_TASK = "scraper.analyze"
DELETE_OBJECTS_TASK = "scraper.delete_objects"

# Redis keeps one list per step and a worker takes from the lowest step first (0 is served
# first). Housekeeping (the sweep, callbacks, timed-out jobs) is sent without a priority, so
# at 0; a job goes to 3, 6 or 9 by how many of its owner's jobs were queued or running before
# it. One owner's backlog sits at 9 while another's first job, at 3, is taken next.
PRIORITY_STEPS = (0, 3, 6, 9)
JOB_PRIORITIES = PRIORITY_STEPS[1:]

logger = get_logger(__name__)


def job_priority(ahead: int) -> int:
    """The broker priority of a job whose owner had `ahead` jobs queued or running before it."""
    return JOB_PRIORITIES[min(ahead, len(JOB_PRIORITIES) - 1)]


def enqueue_run_job(app: Celery, job_id: uuid.UUID, *, ahead: int = 0) -> None:
    """Hand a committed job to the broker at its fair priority; BrokerUnavailableError if it will not take it."""
    # Only Redis orders by it; RabbitMQ would need x-max-priority queues and reads it reversed.
    redis_broker = str(app.conf.broker_url).startswith(("redis://", "rediss://"))
    options: dict[str, Any] = {"priority": job_priority(ahead)} if redis_broker else {}
    try:
        app.send_task(RUN_JOB_TASK, args=[str(job_id)], **options)
    except (KombuOperationalError, OSError) as exc:
        raise broker_error(exc) from exc


def enqueue_analyze(app: Celery, reply_id: str, url: str, max_images: int, settings: Settings) -> None:
    """Send one preview to the analyze queue; a message no worker took within ANALYZE_TIMEOUT expires.

    BrokerUnavailableError if the broker will not take it.
    """
    answer_by = time.time() + settings.analyze_timeout
    try:
        app.send_task(
            ANALYZE_TASK,
            args=[reply_id, url, max_images, answer_by],
            expires=settings.analyze_timeout,
        )
    except (KombuOperationalError, OSError) as exc:
        raise broker_error(exc) from exc


def enqueue_callback(app: Celery, job_id: uuid.UUID | str) -> None:
    """Queue the delivery of a finished job's callback; a broker failure is logged, not raised."""
    _send_or_log(app, CALLBACK_TASK, job_id, "callback.enqueue_failed")


def enqueue_object_deletes(app: Celery) -> None:
    """Ask a worker to remove the objects just recorded for deletion; a broker failure is logged (beat retries)."""
    try:
        app.send_task(DELETE_OBJECTS_TASK)
    except (KombuOperationalError, OSError) as exc:
        logger.warning("objects.enqueue_failed", error=type(exc).__name__)


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
        logger.warning(failure_event, job_id=str(job_id), error=type(exc).__name__)


def queue_depth(app: Celery, queue: str, timeout: float = 2.0) -> int:
    """Messages waiting in `queue` (Redis list length, AMQP message count); 0 if it does not exist yet."""
    with app.connection_for_read() as connection:
        connection.ensure_connection(max_retries=1, timeout=timeout)  # type: ignore[arg-type]  # kombu takes seconds as a float; its stub says int
        channel = connection.channel()
        try:
            return int(channel.queue_declare(queue=queue, passive=True).message_count)  # type: ignore[attr-defined]  # the stub's StdChannel omits the transport's methods
        except ChannelError:
            return 0
        finally:
            with contextlib.suppress(Exception):
                channel.close()  # type: ignore[attr-defined]  # as above


def ping_broker(app: Celery, timeout: float = 2.0) -> None:
    """Raise BrokerUnavailableError unless the broker accepts a connection now (BrokerCertificateError for TLS)."""
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)  # type: ignore[arg-type]  # kombu takes seconds as a float; its stub says int
    except (KombuOperationalError, OSError) as exc:
        raise broker_error(exc) from exc


def broker_error(exc: BaseException) -> BrokerUnavailableError:
    """The error to raise for a failed broker call, naming an untrusted TLS certificate when that was the cause.

    kombu and redis-py wrap the ssl error twice over, so it otherwise showed as OperationalError only.
    """
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return BrokerCertificateError(
                f"broker TLS certificate not trusted: {cause.verify_message or cause.reason} "
                "(a certificate from a CA this machine trusts is needed; set SSL_CERT_FILE for a private CA)"
            )
        cause = cause.__cause__ or cause.__context__
    if "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return BrokerCertificateError(f"broker TLS certificate not trusted: {str(exc).splitlines()[0]}")
    return BrokerUnavailableError(f"broker unavailable: {type(exc).__name__}")


def held_job_ids(app: Celery, queue: str, timeout: float = 2.0) -> set[uuid.UUID] | None:
    """The jobs whose run_job message the broker holds for `queue`: waiting, or delivered and not yet acked.

    Redis only (every priority list of the queue, and kombu's `unacked` hash), read in full, so
    the cost grows with the backlog; the sweep asks only when some job has waited past its
    grace. None when the broker cannot be listed (another transport, or it is unreachable).
    """
    try:
        with app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)  # type: ignore[arg-type]  # as in queue_depth
            # Redis's own channel class; the stub's StdChannel has none of its attributes.
            channel: Any = connection.default_channel
            if not hasattr(channel, "_q_for_pri"):
                return None
            client = channel.client
            raw = [
                item
                for step in channel.priority_steps
                for item in client.lrange(channel._q_for_pri(queue, step), 0, -1)
            ]
            raw += client.hvals(channel.unacked_key)
    except (KombuOperationalError, OSError, RedisError) as exc:
        logger.warning("broker.listing_failed", error=type(exc).__name__)
        return None
    return {job_id for item in raw if (job_id := _run_job_id(item)) is not None}


def _run_job_id(raw: bytes) -> uuid.UUID | None:
    """The job id of a raw kombu Redis message if it is a run_job message; unacked entries are [message, …]."""
    try:
        envelope = json.loads(raw)
        if isinstance(envelope, list):
            envelope = envelope[0]
        if envelope["headers"]["task"] != RUN_JOB_TASK:
            return None
        args = json.loads(base64.b64decode(envelope["body"]))[0]
        return uuid.UUID(str(args[0]))
    except (ValueError, TypeError, KeyError, IndexError, binascii.Error):
        return None


def queue_backlog(app: Celery, queue: str) -> int:
    """queue_depth for the sweep: 0 when the broker cannot be asked (the enqueue will tell)."""
    try:
        return queue_depth(app, queue)
    except (KombuOperationalError, OSError):
        return 0
