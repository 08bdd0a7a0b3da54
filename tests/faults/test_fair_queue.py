"""Scheduling under load against a real worker and a private Redis: fair order between keys, lost messages found."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import select, update

from backend.auth import issue_api_key
from backend.broker import enqueue_run_job, held_job_ids, queue_backlog
from backend.db import Database
from backend.models import Job, utcnow
from backend.runtime import Runtime
from tests.faults.conftest import Cluster, assert_nothing_doubled_or_orphaned, tiny_page, wait_all_finished
from worker import lifecycle
from worker.config import make_celery
from worker.sweep import sweep_stuck_jobs

pytestmark = pytest.mark.faults


def _key(db: Database, email: str) -> str:
    with db.session() as session:
        issued = issue_api_key(session, email)
        session.commit()
    return issued.plaintext


def _submit(system: Cluster, key: str, url: str) -> str:
    """Submit through the API; a 503 right after the broker restart still saved the job (its id is in the problem)."""
    response = requests.post(
        f"{system.base_url}/api/v1/jobs",
        json={"sales_page_url": url},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code in (202, 503), response.text
    body = response.json()
    return str(body["id"] if response.status_code == 202 else body["job_id"])


def _start_order(db: Database, ids: list[str]) -> list[str]:
    with db.session() as session:
        rows = session.execute(
            select(Job.id, Job.started_at).where(Job.id.in_([uuid.UUID(i) for i in ids]))
        ).all()
    return [str(job_id) for job_id, _started in sorted(rows, key=lambda row: row[1])]


def test_another_keys_job_starts_right_after_the_running_one(cluster, db, shop):
    """Key A queues 4 jobs, then key B one; one worker process runs A's first, then B's, then the rest of A's."""
    system = cluster()
    system.start_api()
    url = tiny_page(shop)
    key_a, key_b = system.api_key, _key(db, "b@example.test")
    a_jobs = [_submit(system, key_a, url) for _ in range(4)]
    b_job = _submit(system, key_b, url)

    system.start_worker(concurrency=1)
    wait_all_finished(db, [*a_jobs, b_job], timeout=60)

    assert _start_order(db, [*a_jobs, b_job]) == [a_jobs[0], b_job, *a_jobs[1:]], system.logs()


def _age(db: Database, ids: list[str]) -> None:
    """Make jobs look queued for an hour (past any grace) without waiting for it."""
    with db.session() as session:
        session.execute(
            update(Job)
            .where(Job.id.in_([uuid.UUID(i) for i in ids]))
            .values(updated_at=utcnow() - timedelta(hours=1))
        )
        session.commit()


def test_messages_lost_in_a_redis_restart_are_requeued_behind_a_backlog(
    cluster, db, store: Any, shop, private_redis, s3_server
):
    """Redis restarts empty under 4 queued jobs; with 6 newer jobs waiting, the sweep re-enqueues the 4 anyway."""
    system = cluster()
    system.start_api()
    url = tiny_page(shop)
    key_b = _key(db, "b@example.test")
    lost = [_submit(system, system.api_key, url) for _ in range(4)]
    private_redis.kill()
    private_redis.start_again()  # empty: the 4 messages are gone
    backlog = [_submit(system, key_b, url) for _ in range(6)]
    _age(db, [*lost, *backlog])

    app = make_celery(system.settings)
    queue = system.settings.celery_queue
    try:
        held = held_job_ids(app, queue)
        assert held is not None
        assert {uuid.UUID(i) for i in backlog} <= held
        assert not {uuid.UUID(i) for i in lost} & held
        runtime = Runtime(settings=system.settings, db=db, store=store)
        # What the beat-driven sweep task runs, on the real restarted broker.
        report = sweep_stuck_jobs(
            runtime,
            lambda job_id: enqueue_run_job(app, job_id, ahead=lifecycle.jobs_ahead(db, job_id)),
            held=lambda: held_job_ids(app, queue),
            backlog=lambda: queue_backlog(app, queue),
        )
        assert report.requeued_queued == 4
        assert held_job_ids(app, queue) == {uuid.UUID(i) for i in [*lost, *backlog]}
        assert queue_backlog(app, queue) == 10
    finally:
        app.close()

    system.start_beat()
    system.start_worker(concurrency=2)
    counts = wait_all_finished(db, [*lost, *backlog], timeout=90)
    assert counts == {"succeeded": 10}, system.logs()
    assert_nothing_doubled_or_orphaned(db, s3_server.object_keys())
