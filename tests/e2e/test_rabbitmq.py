"""The job path on RabbitMQ (amqp://) instead of Redis: API, worker, /health and /metrics against a real broker."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from kombu import Connection

from tests.e2e.conftest import RunningSystem, start_system
from tests.services import port_open

pytestmark = pytest.mark.e2e

AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


@pytest.fixture
def amqp_queue() -> Iterator[str]:
    """A queue name of this test's own on the shared RabbitMQ, deleted afterwards (with its .analyze twin)."""
    if not port_open("127.0.0.1", 5672):
        pytest.skip("RabbitMQ is not running on 127.0.0.1:5672 (start it: rabbitmq-server -detached)")
    name = f"scrape-amqp-{uuid.uuid4().hex[:8]}"
    yield name
    with Connection(AMQP_URL, connect_timeout=5) as connection:
        channel = connection.channel()
        for queue in (name, f"{name}.analyze"):  # the jobs' queue and the previews'
            channel.queue_delete(queue)
            channel.exchange_delete(queue)
        channel.close()


@pytest.fixture
def amqp_system(make_settings, database_url, redis_url, s3_settings, db, store, new_api_key, tmp_path,
                amqp_queue) -> Iterator[RunningSystem]:  # fmt: skip
    """API + worker with CELERY_BROKER_URL on RabbitMQ (REDIS_URL is set too; the broker URL wins)."""
    settings = make_settings(
        database_url=database_url,
        redis_url=redis_url,
        celery_broker_url=AMQP_URL,
        celery_queue=amqp_queue,
        **s3_settings,
    )
    running = start_system(settings, tmp_path, new_api_key)
    yield running
    running.worker.stop()
    running.api.stop()


def test_job_runs_on_rabbitmq(amqp_system, shop):
    """A job submitted through the API is consumed from RabbitMQ and succeeds; /health and /metrics see amqp."""
    health = amqp_system.get("/health")
    assert (health.status_code, health.json()["broker"]) == (200, "ok")

    page = shop.manifest.pages["basic"]
    job = amqp_system.post("/api/v1/jobs", json={"sales_page_url": shop.url(page.path)}).json()
    final = amqp_system.wait_for_job(job["id"])

    assert final["status"] == "succeeded", final
    assert final["progress"]["images_saved"] >= 3
    assert "amqp://guest:**@127.0.0.1:5672//" in amqp_system.worker.log_path.read_text()
    metrics = amqp_system.get("/metrics").text
    assert f'scraper_queue_depth{{queue="{amqp_system.settings.celery_queue}"}} 0.0' in metrics
    assert "scraper_broker_up 1.0" in metrics
