"""The `celery -A worker` entry point: the one module that builds the Celery app at import."""

from __future__ import annotations

import gc
import sys

from celery.signals import beat_init, celeryd_after_setup, celeryd_init, setup_logging, worker_process_init

from backend.connection_budget import Budget, announce, worker_budget
from backend.error_reporting import init_error_reporting
from backend.errors import EX_CONFIG, EX_UNAVAILABLE, ConfigError
from backend.logging import configure_logging, get_logger
from backend.runtime import reset_runtime
from backend.schema_state import SchemaHeadsError
from backend.settings import get_settings
from worker.allocator import tune_allocator
from worker.config import make_celery
from worker.schema_gate import SchemaNotReadyError, wait_for_schema
from worker.task_logging import connect_task_logging

logger = get_logger(__name__)

try:
    settings = get_settings()
    app = make_celery(settings)
except ConfigError as exc:
    sys.exit(f"configuration error: {exc}")

app.autodiscover_tasks(["worker"], force=True)
connect_task_logging()


@setup_logging.connect
def _setup_logging(**_kwargs: object) -> None:
    configure_logging(settings)


@celeryd_init.connect
def _report_errors(**_kwargs: object) -> None:
    # Before the pool forks, so every pool process reports too (sentry-sdk restarts its sender per pid).
    init_error_reporting(settings, "worker")


@worker_process_init.connect
def _fresh_resources_after_fork(**_kwargs: object) -> None:
    # Pooled connections and boto3 clients must not be shared with the parent.
    reset_runtime()
    tune_allocator()
    # Everything inherited from the parent is long-lived (modules, the app, settings): frozen, a
    # collection here never writes to it, so its pages stay shared with the parent.
    gc.freeze()


@celeryd_after_setup.connect
def _before_taking_jobs(instance: object, **_kwargs: object) -> None:
    # The main process, logging set up, before it forks its pool and consumes: the schema
    # gate (no job against a database behind the code), then the pool processes' worst case.
    try:
        wait_for_schema(settings)
    except SchemaHeadsError as exc:
        logger.error("worker.schema.refused", error=str(exc))
        sys.exit(EX_CONFIG)
    except SchemaNotReadyError as exc:
        logger.error("worker.schema.refused", error=str(exc))
        sys.exit(EX_UNAVAILABLE)
    announce(settings, worker_budget(settings, int(getattr(instance, "concurrency", 1) or 1)))


@beat_init.connect
def _announce_beat_budget(**_kwargs: object) -> None:
    announce(settings, Budget("beat", 1, 0))
