"""make_celery(settings): every Celery option in one place, each with its reason.

Sending to the broker (enqueue, ping, queue depth) is backend.broker's job.
"""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import parse_qs, urlsplit

from celery import Celery, bootsteps
from celery.schedules import schedule
from kombu import Exchange, Queue

from backend.broker import ANALYZE_TASK, DELETE_OBJECTS_TASK, PRIORITY_STEPS, SWEEP_TASK
from backend.errors import ConfigError
from backend.settings import Settings


def make_celery(settings: Settings) -> Celery:
    """A Celery app for the API (to send) and the worker (to run); nothing runs at import."""
    app = Celery("image_scraper")
    broker_url = settings.broker_url
    app.conf.update(
        broker_url=broker_url,
        broker_transport_options=_transport_options(settings, broker_url),
        broker_use_ssl=_broker_ssl(broker_url),
        # A worker started before Redis is up keeps trying instead of dying into a restart loop.
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        # The API must not hang on a dead broker: a publish gives up after ~2 s and
        # the job row stays `queued` for the sweep to re-enqueue.
        broker_connection_timeout=3,
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0.2,
            "interval_step": 0.5,
            "interval_max": 1,
        },
        # Job state lives in Postgres; a result backend would be a second source of truth.
        task_ignore_result=True,
        result_backend=None,
        task_serializer="json",
        accept_content=["json"],
        # Ack after the task returns and requeue if its process dies: work is never
        # lost. run_job is idempotent by the job row's state, so a redelivery is safe.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A task killed at the hard time limit is acked (Celery's default, relied on here): the
        # job is failed with `timeout` by scraper.fail_timed_out_job, never run again.
        task_acks_on_failure_or_timeout=True,
        # A broker connection loss lets running jobs finish (their late ack may then be lost with a
        # restarted Redis; the job row is already terminal, so a redelivery is a no-op). Cancelling
        # them would throw away work that the sweep would only have to redo.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        # One message at a time per process: a slow page does not hold others hostage.
        worker_prefetch_multiplier=1,
        task_soft_time_limit=settings.job_soft_time_limit,
        task_time_limit=settings.job_hard_time_limit,
        # Recycle processes now and then, so a leak in a C library cannot grow forever.
        worker_max_tasks_per_child=200,
        worker_hijack_root_logger=False,
        worker_send_task_events=True,
        # No "task-sent" event: it is a second broker publish on every POST /jobs, and the
        # queued state is already in the jobs table and in the queue-depth metric.
        task_send_sent_event=False,
        # Two named queues, and a worker started without -Q consumes both, the analyze queue
        # first: an /analyze call has a caller waiting on it, a job has a poller. Tests run side
        # by side on one Redis by giving each session its own queue names.
        task_default_queue=settings.celery_queue,
        task_queues=(_queue(settings.analyze_queue), _queue(settings.celery_queue)),
        task_routes={ANALYZE_TASK: {"queue": settings.analyze_queue}},
        # The sweep is how a job whose worker vanished, or whose enqueue failed, is found again;
        # its interval bounds how long such a job waits beyond JOB_STALE_SECONDS.
        beat_schedule={
            "sweep-stuck-jobs": {"task": SWEEP_TASK, "schedule": schedule(settings.sweep_interval_seconds)},
            # Deleted images' objects (backend.object_deletes): sent after each delete as well;
            # this run retries what storage refused.
            "delete-objects": {
                "task": DELETE_OBJECTS_TASK,
                "schedule": schedule(settings.sweep_interval_seconds),
            },
        },
        timezone="UTC",
    )
    app.steps["consumer"].add(_liveness_step(settings))
    return app


def _queue(name: str) -> Queue:
    """A queue with its own direct exchange and routing key, as Celery makes task_default_queue."""
    return Queue(name, Exchange(name, type="direct"), routing_key=name)


def _liveness_step(settings: Settings) -> type[bootsteps.StartStopStep]:
    """A consumer bootstep that touches the heartbeat file from the consumer's own event loop.

    The timer fires only while the consumer loop runs, and the step is stopped while the
    consumer reconnects, so a worker that is alive but no longer consuming (the known
    kombu reconnect hang) stops touching the file and `python -m worker.liveness` fails.
    """
    from worker.liveness import touch_heartbeat  # noqa: PLC0415 - worker.liveness stays Celery-free

    path, interval = settings.heartbeat_path, settings.worker_heartbeat_interval

    class ConsumerHeartbeat(bootsteps.StartStopStep):
        requires = ("celery.worker.consumer.tasks:Tasks",)

        def __init__(self, parent: Any, **kwargs: Any) -> None:
            super().__init__(parent, **kwargs)
            self.tref: Any = None

        def start(self, consumer: Any) -> None:
            touch_heartbeat(path)
            self.tref = consumer.timer.call_repeatedly(interval, touch_heartbeat, (path,), priority=10)

        def stop(self, consumer: Any) -> None:  # noqa: ARG002 - the bootstep signature
            if self.tref is not None:
                self.tref.cancel()
                self.tref = None

        def shutdown(self, consumer: Any) -> None:
            self.stop(consumer)

    return ConsumerHeartbeat


def _transport_options(settings: Settings, broker_url: str) -> dict[str, Any]:
    if broker_url.startswith("filesystem://"):
        folder = settings.broker_folder
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            # Without this kombu writes its exchange table to ./control in the working directory.
            "control_folder": str(folder / "control"),
            "store_processed": False,
        }
    if broker_url.startswith(("redis://", "rediss://")):
        return {
            # Queues are polled in the order the worker lists them (analyze first), not in turn.
            "queue_order_strategy": "priority",
            # Redis redelivers an unacked message after this long; it must exceed the
            # longest task (hard limit) plus its retries, or a slow job runs twice.
            "visibility_timeout": max(3600, settings.job_hard_time_limit * 2),
            "socket_timeout": 10,
            "socket_connect_timeout": 5,
            "health_check_interval": 25,
            # Fair scheduling between users (backend.broker.PRIORITY_STEPS).
            "priority_steps": list(PRIORITY_STEPS),
        }
    return {}


UNVERIFIED_CERT_REQS = {"none", "cert_none", "optional", "cert_optional"}


def _broker_ssl(broker_url: str) -> dict[str, Any] | None:
    if not broker_url.startswith("rediss://"):
        return None
    # Certificates are verified, always: an unverified TLS link is refused, not allowed quietly.
    # kombu lets ssl_cert_reqs in the URL override broker_use_ssl, so the URL is checked too
    # (CERT_OPTIONAL is refused as well: a server that sends no certificate would pass).
    query = parse_qs(urlsplit(broker_url).query)
    requested = {value.strip().lower() for value in query.get("ssl_cert_reqs", [])}
    if requested & UNVERIFIED_CERT_REQS:
        raise ConfigError(
            "REDIS_URL: ssl_cert_reqs=none is refused; TLS to Redis must verify the certificate"
        )
    return {"ssl_cert_reqs": ssl.CERT_REQUIRED}
