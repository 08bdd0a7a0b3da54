"""A real job on a password-protected Redis and Postgres URL: no log line of the API or the worker shows either password."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from backend.settings import Settings
from tests import services

pytestmark = pytest.mark.e2e

REDIS_PASSWORD = "redis-pw-5c2e91"
# Loopback Postgres trusts the connection and never asks for this one; a server that checks
# (CI sets TEST_POSTGRES_URL with its own) keeps the password it was given, which is grepped for instead.
POSTGRES_PASSWORD = "pg-pw-8d1f07"


@pytest.fixture(scope="module")
def locked_redis() -> Iterator[services.RedisServer]:
    server = services.start_redis(private=True, password=REDIS_PASSWORD)
    yield server
    server.stop()


@pytest.fixture
def database_password(database_url: str) -> str:
    return make_url(database_url).password or POSTGRES_PASSWORD


@pytest.fixture
def settings(
    make_settings: Any,
    database_url: str,
    database_password: str,
    locked_redis: services.RedisServer,
    s3_settings: dict[str, Any],
) -> Settings:
    """The e2e settings with both passwords in their URLs (this module's override of the shared fixture)."""
    url = make_url(database_url).set(password=database_password).render_as_string(hide_password=False)
    return make_settings(database_url=url, redis_url=locked_redis.url(0), **s3_settings)


def test_no_log_line_shows_a_password(system, shop, tmp_path, database_password):
    """Submit, run and poll a job, then read every log file both processes wrote: no password in them."""
    assert REDIS_PASSWORD in system.settings.broker_url and database_password in system.settings.database_url
    page = shop.manifest.pages["basic"]
    response = system.post(
        "/api/v1/jobs", json={"sales_page_url": shop.url(page.path), "campaign_id": str(uuid.uuid4())}
    )
    assert response.status_code == 202
    assert system.wait_for_job(response.json()["id"])["status"] == "succeeded"
    assert system.get("/health").status_code == 200  # the readiness check touches both URLs too
    system.worker.stop()
    system.api.stop()

    logs = {path.name: path.read_text(errors="replace") for path in tmp_path.glob("*.log")}
    assert {"api.log", "worker.log"} <= set(logs), sorted(logs)
    assert "job.succeeded" in logs["worker.log"], logs["worker.log"][-2000:]  # the logs are the real ones
    for name, text in logs.items():
        assert REDIS_PASSWORD not in text, name
        assert database_password not in text, name
