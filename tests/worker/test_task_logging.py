"""Log context in the worker: task_id bound by Celery's task signals, job ids kept in the pool threads."""

from __future__ import annotations

import uuid

from celery.signals import task_postrun, task_prerun

from backend.logging import JsonFormatter, get_logger, log_context
from backend.models import ImageType
from backend.storage import make_store
from tests.logcapture import capture_log
from worker.pipeline.store import upload_images
from worker.pipeline.types import Candidate, ImageInfo, RankedImage
from worker.task_logging import connect_task_logging
from worker.tasks import run_job

LOGGER = "tests.task_logging"


def test_task_signals_bind_task_id_for_the_task_and_restore_the_context_after():
    """Between task_prerun and task_postrun lines carry task_id and the task; after, the outer context again."""
    connect_task_logging()
    connect_task_logging()  # a second call adds no second binding
    logger = get_logger(LOGGER)
    with capture_log(LOGGER, JsonFormatter()) as captured, log_context(request_id="r-1"):
        task_prerun.send(sender=run_job, task_id="t-1", task=run_job, args=("j-1",), kwargs={})
        logger.info("job.claimed", attempt=1)
        task_postrun.send(
            sender=run_job,
            task_id="t-1",
            task=run_job,
            args=("j-1",),
            kwargs={},
            retval="ok",
            state="SUCCESS",
        )
        logger.info("after.task")
    during, after = captured.entries()
    assert (during["task_id"], during["task"], during["request_id"]) == ("t-1", "scraper.run_job", "r-1")
    assert "task_id" not in after and "task" not in after and after["request_id"] == "r-1"


def _unreadable(index: int) -> RankedImage:
    info = ImageInfo("JPEG", "image/jpeg", 800, 600, 100, f"{index:064x}")
    return RankedImage(
        Candidate(f"http://shop.test/{index}.jpg", "img", index), b"\xff\xd8 not a jpeg", info,
        50.0, ImageType.PRODUCT, False, True, False,
    )  # fmt: skip


def test_upload_threads_log_with_the_jobs_context(make_settings):
    """A thumbnail failure in an upload thread still names the job it belongs to."""
    store = make_store(make_settings())
    with capture_log("worker.pipeline.store", JsonFormatter()) as captured, log_context(job_id="j-1"):
        upload_images(store, uuid.uuid4(), [_unreadable(1), _unreadable(2)])
    entries = captured.entries()
    assert [(entry["event"], entry["job_id"]) for entry in entries] == [("image.thumbnail_failed", "j-1")] * 2
