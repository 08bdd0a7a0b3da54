"""SIGTERM to a worker mid-job (warm shutdown) and Postgres connections terminated mid-job."""

from __future__ import annotations

import signal
import time

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.e2e.conftest import SLOW_PAGE
from tests.faults.conftest import assert_nothing_doubled_or_orphaned, job_row, our_backends
from tests.processes import wait_until

pytestmark = pytest.mark.faults


def test_sigterm_mid_job_finishes_the_job_before_the_worker_exits(cluster, db, shop, s3_server):
    """Warm shutdown: the worker waits for the running job, which ends succeeded, then exits 0."""
    system = cluster()
    system.start_api()
    worker = system.start_worker(concurrency=1)
    job = system.client.post("/api/v1/jobs", json={"sales_page_url": shop.url(SLOW_PAGE)}).json()
    wait_until(lambda: job_row(db, job["id"]).status.value == "running", timeout=20, interval=0.05)
    worker.signal(signal.SIGTERM)
    signalled = time.monotonic()
    assert worker.process.wait(timeout=30) == 0, worker.log_tail()
    exited_after = time.monotonic() - signalled

    final = job_row(db, job["id"])
    assert (final.status.value, final.attempts) == ("succeeded", 1), worker.log_tail()
    assert final.images_processed == 4
    assert_nothing_doubled_or_orphaned(db, s3_server.object_keys())
    print(f"worker exited {exited_after:.1f}s after SIGTERM with the job done")


def _blocked_backends(db, database_name: str) -> list[int]:
    """Service connections waiting on a row lock, i.e. inside a transaction."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = :name "
                "AND application_name LIKE 'image-scraper:%' AND wait_event_type = 'Lock'"
            ),
            {"name": database_name},
        )
        return [int(pid) for (pid,) in rows]


def test_postgres_connections_terminated_mid_job_are_survived(cluster, db, shop, s3_server, database_url):
    """pg_terminate_backend on idle and in-transaction service connections during a job: it ends with its rows."""
    system = cluster()
    system.start_api()
    system.start_worker(concurrency=1)
    job = system.client.post("/api/v1/jobs", json={"sales_page_url": shop.url(SLOW_PAGE)}).json()
    wait_until(lambda: job_row(db, job["id"]).status.value == "running", timeout=20, interval=0.05)
    database_name = make_url(database_url).database

    idle = [pid for pid, _app, _query in our_backends(db, database_name)]
    with db.engine.connect() as conn:
        idle_cut = sum(
            bool(conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": p}).scalar()) for p in idle
        )

    # Hold the job's row lock: the worker's next unit of work (heartbeat, progress, finish) waits on it
    # mid-transaction; cut each waiting connection, then let go.
    in_flight_cut = 0
    with db.engine.connect() as holder:
        holder.execute(text("SELECT 1 FROM jobs WHERE id = :id FOR UPDATE"), {"id": job["id"]})
        deadline = time.monotonic() + 8
        while in_flight_cut < 3 and time.monotonic() < deadline:
            for pid in _blocked_backends(db, database_name):
                with db.engine.connect() as conn:
                    in_flight_cut += bool(
                        conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
                    )
            time.sleep(0.05)
        holder.rollback()
    assert idle_cut >= 1 and in_flight_cut >= 2, (idle_cut, in_flight_cut)

    final = system.client.wait_for_job(job["id"], timeout=60)
    assert final["status"] == "succeeded", (final, system.logs())
    assert final["progress"]["images_processed"] == 4
    rows = assert_nothing_doubled_or_orphaned(db, s3_server.object_keys())
    assert len(rows) == final["progress"]["images_saved"] >= 2
    retries = system.worker.log_path.read_text().count("safe_commit.retry")
    assert retries >= 1, system.worker.log_tail()
    print(
        f"cut {idle_cut} idle + {in_flight_cut} in-transaction; safe_commit retries={retries}; attempts={final['attempts']}"
    )
