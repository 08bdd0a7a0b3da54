"""A hung object store (the S3 server SIGSTOPped): every storage call gives up on its own, and deletes do not wait."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests

from backend.errors import StorageError
from backend.object_deletes import drain, pending_keys
from backend.runtime import Runtime
from backend.storage import make_store
from tests import processes, services
from tests.faults.conftest import tiny_page
from worker import runner

pytestmark = pytest.mark.faults

# Short, so the tests spend little time in timeouts; the defaults are 3 s, 10 s and 2 attempts.
SHORT_STORAGE = {"storage_connect_timeout": 1.0, "storage_read_timeout": 1.0, "storage_max_attempts": 1}


@pytest.fixture
def stoppable_s3() -> Iterator[services.S3Server]:
    server = services.start_s3_process()
    yield server
    server.stop()


def stoppable_settings(s3: services.S3Server) -> dict[str, object]:
    return {"r2_endpoint_url": s3.endpoint, "r2_bucket": s3.bucket, **SHORT_STORAGE}


def outcome_of(call) -> BaseException | str:
    """Run `call` in a thread; what it raised, or "hung" if it is still running after 20 s."""
    result: list[BaseException | str] = []

    def run() -> None:
        try:
            call()
            result.append("returned")
        except BaseException as exc:
            result.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=20)
    return result[0] if result else "hung"


def test_every_storage_call_gives_up_on_a_hung_server(make_settings, s3_settings, stoppable_s3):
    """put, get, delete, exists and ping each raise StorageError after their timeouts, never hang."""
    store = make_store(make_settings(**{**s3_settings, **stoppable_settings(stoppable_s3)}))
    store.put("campaigns/x/a.jpg", b"bytes", "image/jpeg")
    stoppable_s3.server.pause()
    try:
        outcomes = {
            "put": outcome_of(lambda: store.put("campaigns/x/b.jpg", b"bytes", "image/jpeg")),
            "get": outcome_of(lambda: store.get("campaigns/x/a.jpg")),
            "delete": outcome_of(lambda: store.delete("campaigns/x/a.jpg")),
            "exists": outcome_of(lambda: store.exists("campaigns/x/a.jpg")),
            "ping": outcome_of(store.ping),
        }
    finally:
        stoppable_s3.server.resume()
    assert {name: type(value).__name__ for name, value in outcomes.items()} == dict.fromkeys(
        outcomes, "StorageError"
    )
    assert all(isinstance(value, StorageError) for value in outcomes.values())


def test_deleting_an_image_answers_at_once_with_storage_hung_and_the_object_goes_later(
    cluster, db, shop, stoppable_s3
):
    """DELETE answers 204 while the S3 server is stopped; once it is back, the worker removes both objects."""
    system = cluster(**stoppable_settings(stoppable_s3))
    system.start_api()
    system.start_beat()
    system.start_worker(concurrency=1)
    client = system.client
    job = client.post("/api/v1/jobs", json={"sales_page_url": tiny_page(shop)}).json()
    final = client.wait_for_job(job["id"], timeout=60)
    assert final["status"] == "succeeded", (final, system.logs())
    campaign = final["campaign_id"]
    (image,) = client.get(f"/api/v1/campaigns/{campaign}/images").json()["items"]
    keys = sorted(key for key in stoppable_s3.object_keys() if key.startswith(f"campaigns/{campaign}/"))
    assert len(keys) == 2  # the original and its thumbnail

    stoppable_s3.server.pause()
    try:
        response = requests.delete(
            f"{system.base_url}/api/v1/campaigns/{campaign}/images/{image['id']}",
            headers={"Authorization": f"Bearer {system.api_key}"},
            timeout=10,
        )
        assert response.status_code == 204
        assert sorted(pending_keys(db)) == keys
        # The worker's tries meanwhile fail on the timeouts and keep the keys.
        processes.wait_until(
            lambda: "objects.delete_failed" in system.worker.log_path.read_text(errors="replace"),
            timeout=30,
            what="a failed delete attempt",
        )
    finally:
        stoppable_s3.server.resume()

    # (The stopped server may carry out a DELETE it had buffered once resumed; the recorded keys
    # are cleared by the worker's next run either way.)
    processes.wait_until(
        lambda: (
            not pending_keys(db)
            and not any(key.startswith(f"campaigns/{campaign}/") for key in stoppable_s3.object_keys())
        ),
        timeout=30,
        what="the objects removed and their keys cleared",
    )


def test_a_cleanup_that_storage_refuses_records_the_objects_for_later(
    make_settings, database_url, db, s3_settings, stoppable_s3
):
    """After a failed final commit, a cleanup that cannot reach storage records the keys; the drain removes them later."""
    settings = make_settings(database_url=database_url, **{**s3_settings, **stoppable_settings(stoppable_s3)})
    store = make_store(settings)
    keys = ["campaigns/00000000-0000-0000-0000-000000000001/a.jpg"]
    store.put(keys[0], b"bytes", "image/jpeg")
    stoppable_s3.server.pause()
    try:
        runner._remove_orphans(Runtime(settings=settings, db=db, store=store), keys)
    finally:
        stoppable_s3.server.resume()
    # (The stopped server may still carry out the DELETE it had buffered once resumed; recording
    # the key does not depend on that.)
    assert pending_keys(db) == keys

    assert drain(db, store).removed == 1
    assert (stoppable_s3.object_keys(), pending_keys(db)) == ([], [])
