"""The whole job path through real processes: API under gunicorn, Celery worker, Postgres, Redis, S3."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from tests.e2e.conftest import SLOW_PAGE
from tests.processes import wait_until
from tests.shopsite import site_path

pytestmark = pytest.mark.e2e


def test_submit_poll_list_delete_with_objects_in_s3(system, shop, s3_server):
    """A job runs in the worker; its images are listed in the pipeline's rank (hero first, then best first),
    stored byte-exact, and deletable."""
    page = shop.manifest.pages["basic"]
    campaign_id = str(uuid.uuid4())

    response = system.post(
        "/api/v1/jobs", json={"sales_page_url": shop.url(page.path), "campaign_id": campaign_id}
    )
    assert response.status_code == 202
    job = response.json()
    assert response.headers["Location"].endswith(f"/api/v1/jobs/{job['id']}")
    assert job["status"] == "queued"

    final = system.wait_for_job(job["id"])
    assert final["status"] == "succeeded", final
    progress = final["progress"]
    assert progress["images_saved"] >= 3
    assert progress["images_found"] >= progress["images_processed"] >= progress["images_saved"]
    assert final["attempts"] == 1 and final["finished_at"] is not None

    items = system.get(f"/api/v1/campaigns/{campaign_id}/images").json()["items"]
    assert len(items) == progress["images_saved"]
    assert items[0]["is_hero"] and items[0]["image_type"] == "hero"
    scores = [item["quality_score"] for item in items[1:]]
    assert scores == sorted(scores, reverse=True)
    assert all(page.photo_for(site_path(item["original_url"])) for item in items), "only real photos are kept"

    stored_keys = set(s3_server.object_keys())
    client = s3_server.client()
    for item in items:
        assert item["storage_key"] in stored_keys
        body = client.get_object(Bucket=s3_server.bucket, Key=item["storage_key"])["Body"].read()
        assert body == shop.file_bytes(item["original_url"])
        assert hashlib.sha256(body).hexdigest() == item["content_hash"]
        assert item["file_size"] == len(body)

    products = system.get(f"/api/v1/campaigns/{campaign_id}/images", params={"image_type": "product"}).json()[
        "items"
    ]
    assert products and all(item["image_type"] == "product" for item in products)
    assert {item["id"] for item in products} < {item["id"] for item in items} or len(products) == len(items)

    stats = system.get(f"/api/v1/campaigns/{campaign_id}/images/stats").json()
    assert stats["total_count"] == len(items)
    assert stats["total_bytes"] == sum(item["file_size"] for item in items)
    assert stats["max_quality"] == max(item["quality_score"] for item in items)
    assert stats["product_count"] == sum(item["image_type"] == "product" for item in items)
    assert stats["hero_count"] + stats["product_count"] + stats["lifestyle_count"] == stats["total_count"]

    victim = items[-1]
    assert system.delete(f"/api/v1/campaigns/{campaign_id}/images/{victim['id']}").status_code == 204
    # The API records the object's key; the worker removes it (the task sent after the delete).
    wait_until(
        lambda: victim["storage_key"] not in s3_server.object_keys(), timeout=30, what="the object removed"
    )
    remaining = system.get(f"/api/v1/campaigns/{campaign_id}/images").json()["items"]
    assert [item["id"] for item in remaining] == [item["id"] for item in items[:-1]]
    assert system.get(f"/api/v1/campaigns/{campaign_id}/images/stats").json()["total_count"] == len(items) - 1


def test_a_poller_sees_progress_move_before_the_job_ends(system, shop):
    """While slow images download, the job is running and its counters already show the page's candidates."""
    job = system.post("/api/v1/jobs", json={"sales_page_url": shop.url(SLOW_PAGE)}).json()

    def running_with_progress():
        current = system.get(f"/api/v1/jobs/{job['id']}").json()
        return (
            current if current["status"] == "running" and current["progress"]["images_found"] == 4 else None
        )

    seen = wait_until(running_with_progress, timeout=30, interval=0.1, what="a running job with counters")
    assert seen["progress"]["images_saved"] == 0
    final = system.wait_for_job(job["id"])
    assert final["status"] == "succeeded"
    assert final["progress"]["images_processed"] == 4


def test_a_blocked_page_fails_with_its_code(system, shop):
    """A page that answers 404 ends failed with http_error, not stuck and not retried."""
    job = system.post("/api/v1/jobs", json={"sales_page_url": shop.url(shop.manifest.missing)}).json()
    final = system.wait_for_job(job["id"])
    assert final["status"] == "failed"
    assert final["error"]["code"] == "http_error"
    assert final["attempts"] == 1


def test_jobs_of_one_campaign_never_store_an_image_twice(system, shop):
    """Two jobs on the same page and campaign: the second saves nothing new, the rows stay unique."""
    campaign_id = str(uuid.uuid4())
    body = {"sales_page_url": shop.url(shop.manifest.pages["basic"].path), "campaign_id": campaign_id}
    first = system.wait_for_job(system.post("/api/v1/jobs", json=body).json()["id"])
    second = system.wait_for_job(system.post("/api/v1/jobs", json=body).json()["id"])
    assert (first["status"], second["status"]) == ("succeeded", "succeeded")
    assert second["progress"]["images_saved"] == 0
    items = system.get(f"/api/v1/campaigns/{campaign_id}/images").json()["items"]
    assert len(items) == first["progress"]["images_saved"]
    assert len({item["content_hash"] for item in items}) == len(items)
