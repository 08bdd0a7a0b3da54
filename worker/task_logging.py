"""task_id and the task's name on every log line a Celery task writes: bound at its start, cleared at its end.

Celery's task_prerun and task_postrun signals run in the pool process, around the task body, so
the binding covers our events and Celery's own lines about the task. The tasks bind the job_id
they are given themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import Token
from typing import Any

from celery import Task
from celery.signals import task_postrun, task_prerun

from backend.logging import bind_log_context, unbind_log_context

_bound: dict[str, Mapping[str, Token[Any]]] = {}


def bind_task(task_id: str, task: Task[Any, Any], **_signal: object) -> None:
    """task_prerun: bind task_id and task to this task's log lines."""
    _bound[task_id] = bind_log_context(task_id=task_id, task=task.name)


def unbind_task(task_id: str, **_signal: object) -> None:
    """task_postrun: restore the context as it was before the task (a retry or failure included)."""
    tokens = _bound.pop(task_id, None)
    if tokens is not None:
        unbind_log_context(tokens)


def connect_task_logging() -> None:
    """Connect the two handlers once per process (dispatch_uid makes a second call a no-op)."""
    task_prerun.connect(bind_task, weak=False, dispatch_uid="scraper.bind_task")
    task_postrun.connect(unbind_task, weak=False, dispatch_uid="scraper.unbind_task")
