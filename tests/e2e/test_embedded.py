"""The embedded default end to end: SQLite, kombu's filesystem broker and a local storage directory."""

from __future__ import annotations

import uuid

import pytest
import requests

from backend.auth import issue_api_key
from backend.db import Database
from backend.migrate import upgrade_to_head
from tests.e2e.conftest import start_system
from tests.services import free_port
from tests.shopsite import site_path

pytestmark = pytest.mark.e2e


@pytest.fixture
def embedded(make_settings, tmp_path):
    port = free_port()
    settings = make_settings(port=port)
    assert settings.broker_url == "filesystem://localhost/" and settings.storage_backend == "local"
    upgrade_to_head(settings.effective_database_url)
    database = Database(settings)
    with database.session() as session:
        key = issue_api_key(session, "embedded@example.test").plaintext
        session.commit()
    database.dispose()
    running = start_system(settings, tmp_path, key, concurrency=1, port=port)
    yield running
    running.worker.stop()
    running.api.stop()


def test_job_path_on_the_embedded_default(embedded, shop):
    """Submit, poll, list and fetch the stored files from the API, with no Postgres, Redis or S3."""
    page = shop.manifest.pages["basic"]
    campaign_id = str(uuid.uuid4())
    response = embedded.post(
        "/api/v1/jobs", json={"sales_page_url": shop.url(page.path), "campaign_id": campaign_id}
    )
    assert response.status_code == 202

    final = embedded.wait_for_job(response.json()["id"])
    assert final["status"] == "succeeded", final
    items = embedded.get(f"/api/v1/campaigns/{campaign_id}/images").json()["items"]
    assert len(items) == final["progress"]["images_saved"] >= 3
    for item in items:
        assert page.photo_for(site_path(item["original_url"]))
        served = requests.get(item["cdn_url"], timeout=10)
        assert served.status_code == 200
        assert served.content == shop.file_bytes(item["original_url"])

    health = requests.get(f"{embedded.base_url}/health", timeout=10).json()
    assert health["status"] == "ok"


def test_preview_on_the_embedded_default(embedded, shop):
    """/analyze runs on the worker through the filesystem broker and answers through a reply file."""
    page = shop.manifest.pages["basic"]
    response = embedded.post("/api/v1/analyze", json={"url": shop.url(page.path)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["url"] == shop.url(page.path)
    assert body["candidates"]
