"""Object storage down during a job: the job is handed back and retried with backoff, or failed after the limit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests import services
from tests.e2e.conftest import SLOW_PAGE
from tests.faults.conftest import assert_nothing_doubled_or_orphaned, job_row
from tests.processes import wait_until

pytestmark = pytest.mark.faults


@pytest.fixture
def private_s3() -> Iterator[services.S3Server]:
    """An S3 server of this test's own (its own port and bucket), which it may stop and start again."""
    server = services.start_s3(bucket=f"faults-{uuid.uuid4().hex[:8]}")
    yield server
    server.stop()


def _s3(server: services.S3Server) -> dict[str, str]:
    return {"r2_endpoint_url": server.endpoint, "r2_bucket": server.bucket}


def test_storage_down_mid_job_retries_and_succeeds_once_it_is_back(cluster, db, shop, private_s3):
    """S3 stops while images download; the upload fails, the job is requeued, and succeeds after S3 returns."""
    system = cluster(**_s3(private_s3))
    system.start_api()
    system.start_worker(concurrency=1)
    job = system.client.post("/api/v1/jobs", json={"sales_page_url": shop.url(SLOW_PAGE)}).json()
    wait_until(lambda: job_row(db, job["id"]).status.value == "running", timeout=20, interval=0.05)
    private_s3.stop()
    retrying = wait_until(
        lambda: (row := job_row(db, job["id"])).attempts >= 2 or row.status.value != "running",
        timeout=30,
        interval=0.1,
        what="the job handed back after the failed upload",
    )
    assert retrying
    private_s3.start_again()

    final = system.client.wait_for_job(job["id"], timeout=60)
    assert final["status"] == "succeeded", (final, system.logs())
    assert 2 <= final["attempts"] <= 3
    assert "StorageError" in system.worker.log_path.read_text()
    rows = assert_nothing_doubled_or_orphaned(db, private_s3.object_keys())
    assert len(rows) == final["progress"]["images_saved"] >= 2
    print(f"succeeded on attempt {final['attempts']}")


def test_storage_down_for_good_fails_the_job_with_a_clear_error(cluster, db, shop, private_s3):
    """With S3 gone for every attempt, the job ends failed after JOB_MAX_ATTEMPTS, naming the storage error."""
    system = cluster(job_max_attempts=2, **_s3(private_s3))
    system.start_api()
    system.start_worker(concurrency=1)
    private_s3.stop()
    job = system.client.post(
        "/api/v1/jobs", json={"sales_page_url": shop.url(shop.manifest.pages["basic"].path)}
    ).json()
    final = system.client.wait_for_job(job["id"], timeout=60)
    assert final["status"] == "failed", (final, system.logs())
    assert final["attempts"] == 2
    assert final["error"]["code"] == "internal"
    assert final["error"]["message"].startswith("gave up after 2 attempts: StorageError")
    assert final["progress"]["images_saved"] == 0
    private_s3.start_again()
