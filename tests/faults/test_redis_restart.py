"""Redis killed (losing every message) and started again while jobs are queued and running."""

from __future__ import annotations

import time

import pytest
import requests

from tests.e2e.conftest import SLOW_PAGE
from tests.faults.conftest import assert_nothing_doubled_or_orphaned, job_row
from tests.processes import wait_until

pytestmark = pytest.mark.faults


def test_redis_restart_with_jobs_queued_and_running(cluster, db, shop, s3_server, private_redis):
    """Workers reconnect, every job finishes once; while Redis is down a submit is 503 and its row is swept later."""
    system = cluster()
    system.start_api()
    system.start_beat()
    system.start_worker(concurrency=2)
    client = system.client
    ids = [
        client.post("/api/v1/jobs", json={"sales_page_url": shop.url(SLOW_PAGE)}).json()["id"]
        for _ in range(4)
    ]
    wait_until(
        lambda: sum(job_row(db, job_id).status.value == "running" for job_id in ids) == 2,
        timeout=20,
        interval=0.05,
        what="two jobs running, two queued",
    )

    private_redis.kill()  # no persistence: the queued messages are gone, as after a crash
    down_at = time.monotonic()
    response = requests.post(
        f"{system.base_url}/api/v1/jobs",
        json={"sales_page_url": shop.url(SLOW_PAGE)},
        headers=client.headers,
        timeout=30,
    )
    answered_in = time.monotonic() - down_at
    assert response.status_code == 503, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert int(response.headers["Retry-After"]) > 0
    problem = response.json()
    assert problem["status"] == 503
    stranded = problem["job_id"]
    assert job_row(db, stranded).status.value == "queued"
    time.sleep(1)
    private_redis.start_again()
    down_for = time.monotonic() - down_at

    finals = [client.wait_for_job(job_id, timeout=60) for job_id in [*ids, stranded]]
    recovered_in = time.monotonic() - down_at
    assert [final["status"] for final in finals] == ["succeeded"] * 5, (finals, system.logs())
    assert_nothing_doubled_or_orphaned(db, s3_server.object_keys())
    print(
        f"503 in {answered_in:.1f}s; Redis down {down_for:.1f}s; all 5 jobs done {recovered_in:.1f}s "
        f"after the kill; attempts={[final['attempts'] for final in finals]}"
    )
