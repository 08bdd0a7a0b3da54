"""A worker that dies mid-job: SIGKILL of a pool process or the whole worker, once or on every delivery."""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest

from tests.e2e.conftest import SLOW_PAGE
from tests.faults.conftest import assert_nothing_doubled_or_orphaned, job_row
from tests.processes import child_pids, wait_until

pytestmark = pytest.mark.faults


def _running(db, job_id: str, attempt: int) -> bool:
    job = job_row(db, job_id)
    return job.status.value == "running" and job.attempts == attempt


def _kill_pool_child(worker) -> int:
    children = wait_until(lambda: child_pids(worker.pid), timeout=10, what="a pool process")
    (child,) = children  # concurrency 1: the one pool process holds the job
    time.sleep(0.5)  # well inside the stalled downloads
    os.kill(child, signal.SIGKILL)
    return child


def test_sigkill_of_the_pool_process_redelivers_and_the_job_finishes_once(cluster, db, shop, s3_server):
    """A pool process killed inside a job: the message comes back, attempt 2 finishes it, nothing doubled."""
    system = cluster()
    system.start_api()
    worker = system.start_worker(concurrency=1)
    job = system.client.post(
        "/api/v1/jobs", json={"sales_page_url": shop.url(SLOW_PAGE), "campaign_id": str(uuid.uuid4())}
    ).json()
    wait_until(lambda: _running(db, job["id"], 1), timeout=20, interval=0.05, what="attempt 1 running")
    killed_at = time.monotonic()
    _kill_pool_child(worker)

    final = system.client.wait_for_job(job["id"], timeout=60)
    assert final["status"] == "succeeded", (final, system.logs())
    assert final["attempts"] == 2
    assert final["progress"]["images_processed"] == 4
    rows = assert_nothing_doubled_or_orphaned(db, s3_server.object_keys())
    assert len(rows) == final["progress"]["images_saved"] >= 2
    print(f"recovered {time.monotonic() - killed_at:.1f}s after the kill")


def test_sigkill_of_the_whole_worker_is_recovered_by_the_sweep(cluster, db, shop, s3_server):
    """Worker and pool killed together (message left unacked): beat's sweep finds the stale job, a new worker finishes it."""
    system = cluster()
    system.start_api()
    system.start_beat()
    first = system.start_worker(concurrency=1)
    job = system.client.post("/api/v1/jobs", json={"sales_page_url": shop.url(SLOW_PAGE)}).json()
    wait_until(lambda: _running(db, job["id"], 1), timeout=20, interval=0.05, what="attempt 1 running")
    time.sleep(0.5)
    first.kill_group()
    killed_at = time.monotonic()
    system.start_worker(concurrency=1)

    final = system.client.wait_for_job(job["id"], timeout=60)
    assert final["status"] == "succeeded", (final, system.logs())
    assert final["attempts"] == 2
    assert_nothing_doubled_or_orphaned(db, s3_server.object_keys())
    print(f"recovered {time.monotonic() - killed_at:.1f}s after the kill")


def test_a_job_whose_worker_always_vanishes_is_failed_by_the_sweep_after_the_limit(cluster, db, shop):
    """Each attempt's worker is SIGKILLed whole; the sweep retries up to JOB_MAX_ATTEMPTS, then fails it clearly."""
    system = cluster(job_max_attempts=2)
    system.start_api()
    system.start_beat()
    system.start_worker(concurrency=1)
    job = system.client.post("/api/v1/jobs", json={"sales_page_url": shop.url(SLOW_PAGE)}).json()
    started = time.monotonic()
    for attempt in (1, 2):
        wait_until(
            lambda a=attempt: _running(db, job["id"], a), timeout=30, interval=0.05, what=f"attempt {attempt}"
        )
        time.sleep(0.3)
        system.worker.kill_group()
        system.start_worker(concurrency=1)

    final = system.client.wait_for_job(job["id"], timeout=40)
    assert final["status"] == "failed", (final, system.logs())
    assert final["attempts"] == 2
    assert final["error"]["code"] == "internal"
    assert "worker lost" in final["error"]["message"]
    assert "2 attempts" in final["error"]["message"]
    print(f"failed for good {time.monotonic() - started:.1f}s after submission")


def test_a_job_that_crashes_its_pool_process_every_time_ends_failed(cluster, db, shop):
    """The pool process dies on every delivery (redelivered at once each time); the attempt counter ends it."""
    system = cluster(job_max_attempts=2)
    system.start_api()
    worker = system.start_worker(concurrency=1)
    job = system.client.post("/api/v1/jobs", json={"sales_page_url": shop.url(SLOW_PAGE)}).json()
    kills = 0
    for attempt in (1, 2):
        wait_until(
            lambda a=attempt: _running(db, job["id"], a), timeout=30, interval=0.05, what=f"attempt {attempt}"
        )
        _kill_pool_child(worker)
        kills += 1

    final = system.client.wait_for_job(job["id"], timeout=40)
    assert final["status"] == "failed", (final, system.logs())
    assert (final["attempts"], kills) == (2, 2)
    assert final["error"]["code"] == "internal"
    assert "gave up after 2 attempts" in final["error"]["message"]
    time.sleep(2)
    assert job_row(db, job["id"]).attempts == 2, "no further attempt after the job failed"


def test_a_pool_process_wedged_past_the_hard_time_limit_fails_the_job_as_timeout(cluster, db, shop):
    """A pool process that never sees the soft limit (SIGSTOPped, as if stuck in native code) is killed at
    the hard limit; the job fails at once with `timeout`, not after the sweep's retries, and the worker goes on.
    """
    system = cluster(job_soft_time_limit=10, job_time_limit_grace_seconds=2)
    system.start_api()
    worker = system.start_worker(concurrency=1)
    job = system.client.post("/api/v1/jobs", json={"sales_page_url": shop.url(SLOW_PAGE)}).json()
    wait_until(lambda: _running(db, job["id"], 1), timeout=20, interval=0.05, what="attempt 1 running")
    (child,) = wait_until(lambda: child_pids(worker.pid), timeout=10, what="a pool process")
    os.kill(child, signal.SIGSTOP)
    stopped_at = time.monotonic()

    final = system.client.wait_for_job(job["id"], timeout=40)
    assert final["status"] == "failed", (final, system.logs())
    assert final["error"]["code"] == "timeout"
    assert "hard time limit (12 s)" in final["error"]["message"]
    assert final["attempts"] == 1
    assert child not in child_pids(worker.pid), "the wedged pool process was replaced"
    print(f"failed {time.monotonic() - stopped_at:.1f}s after the pool process stopped")

    after = system.client.post(
        "/api/v1/jobs", json={"sales_page_url": shop.url("/products/basic.html")}
    ).json()
    assert system.client.wait_for_job(after["id"], timeout=30)["status"] == "succeeded", system.logs()
    time.sleep(1)
    assert job_row(db, job["id"]).attempts == 1, "no second attempt of the timed-out job"
