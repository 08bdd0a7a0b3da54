"""API test fixtures: the app on the session's real services, its client, API keys and ORM-built rows."""

from __future__ import annotations

import base64
import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from backend import create_app
from backend.auth import IssuedKey, issue_api_key
from backend.broker import PRIORITY_STEPS
from backend.db import Database
from backend.models import Campaign, ImageType, Job, JobStatus, ScrapedImage
from backend.settings import Settings
from tests import processes
from tests.conftest import settings_env


def shutdown_app(app: Flask) -> None:
    """Release the app's pooled database and broker connections."""
    services = app.extensions["scraper"]
    services.db.dispose()
    services.celery.close()


@pytest.fixture
def app(settings: Settings, db: Database, store: Any) -> Iterator[Flask]:
    """The app built by the factory on real Postgres, Redis and S3 (rows and objects cleaned after)."""
    application = create_app(settings)
    yield application
    shutdown_app(application)


@pytest.fixture
def make_app(settings: Settings, db: Database, store: Any) -> Iterator[Callable[..., Flask]]:
    """Build the app on the session's real services with some settings changed."""
    apps: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        application = create_app(settings.model_copy(update=overrides))
        apps.append(application)
        return application

    yield build
    for application in apps:
        shutdown_app(application)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_key(db: Database) -> Callable[[str], IssuedKey]:
    """Issue an API key for a user (created on first use), committed."""

    def issue(email: str) -> IssuedKey:
        with db.session() as session:
            issued = issue_api_key(session, email)
            session.commit()
        return issued

    return issue


@pytest.fixture
def user_key(make_key: Callable[[str], IssuedKey]) -> IssuedKey:
    return make_key("owner@example.test")


@pytest.fixture
def other_user_key(make_key: Callable[[str], IssuedKey]) -> IssuedKey:
    return make_key("other@example.test")


@dataclass
class Api:
    """A test client that sends one user's Bearer key with every request."""

    client: FlaskClient
    key: IssuedKey

    @property
    def user_id(self) -> uuid.UUID:
        return self.key.user_id  # type: ignore[return-value]

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key.plaintext}", **(extra or {})}

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.client.get(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.client.post(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.client.delete(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)


def api_for(application: Flask, key: IssuedKey) -> Api:
    """A client of `application` sending `key`."""
    return Api(application.test_client(), key)


@pytest.fixture
def api(client: FlaskClient, user_key: IssuedKey) -> Api:
    """The owner's client."""
    return Api(client, user_key)


@pytest.fixture
def other_api(client: FlaskClient, other_user_key: IssuedKey) -> Api:
    """A second user's client, for ownership checks."""
    return Api(client, other_user_key)


@pytest.fixture
def make_campaign(db: Database) -> Callable[[Api], uuid.UUID]:
    """A campaign owned by the given client's user."""

    def build(owner: Api) -> uuid.UUID:
        with db.session() as session:
            campaign = Campaign(id=uuid.uuid4(), user_id=owner.user_id)
            session.add(campaign)
            session.commit()
            return campaign.id

    return build


@pytest.fixture
def make_job(db: Database) -> Callable[..., uuid.UUID]:
    """A job row for the given owner and campaign, with any column overridden."""

    def build(owner: Api, campaign_id: uuid.UUID, **fields: Any) -> uuid.UUID:
        values: dict[str, Any] = {
            "sales_page_url": "https://shop.example.test/p/1",
            "status": JobStatus.QUEUED,
            **fields,
        }
        with db.session() as session:
            job = Job(user_id=owner.user_id, campaign_id=campaign_id, **values)
            session.add(job)
            session.commit()
            return job.id

    return build


@pytest.fixture
def make_image(db: Database) -> Callable[..., ScrapedImage]:
    """An image row in a campaign, inserted through the ORM (the pipeline is tested elsewhere)."""

    def build(campaign_id: uuid.UUID, **fields: Any) -> ScrapedImage:
        content_hash = fields.pop("content_hash", uuid.uuid4().hex * 2)
        image_type = fields.pop("image_type", ImageType.PRODUCT)
        values: dict[str, Any] = {
            "campaign_id": campaign_id,
            "content_hash": content_hash,
            "storage_key": f"campaigns/{campaign_id}/{content_hash}.jpg",
            "cdn_url": f"https://cdn.example.test/campaigns/{campaign_id}/{content_hash}.jpg",
            "original_url": f"https://shop.example.test/img/{content_hash[:8]}.jpg",
            "width": 1200,
            "height": 900,
            "file_size": 1000,
            "format": "JPEG",
            "quality_score": 50.0,
            "image_type": image_type,
            "is_hero": image_type == ImageType.HERO,
            "is_product": image_type in (ImageType.HERO, ImageType.PRODUCT),
            "is_lifestyle": image_type == ImageType.LIFESTYLE,
            "alt_text": "A product",
            **fields,
        }
        with db.session() as session:
            image = ScrapedImage(**values)
            session.add(image)
            session.commit()
            return image

    return build


KOMBU_PRIORITY_SEP = "\x06\x16"


class ScrapeQueue:
    """The kombu Redis lists of the session's queue (one per priority step), read without consuming workers."""

    def __init__(self, url: str, queue: str) -> None:
        self.redis = redis.Redis.from_url(url)
        self.queue = queue

    def list_for(self, priority: int) -> str:
        """kombu's list for a priority step: the queue's name, then the separator and the step above 0."""
        return self.queue if priority == 0 else f"{self.queue}{KOMBU_PRIORITY_SEP}{priority}"

    def clear(self) -> None:
        self.redis.delete(*(self.list_for(step) for step in PRIORITY_STEPS))

    def messages(self) -> list[dict[str, Any]]:
        """Every waiting message as {task, args}, in the order a worker takes them (priority, then oldest)."""
        return [{"task": m["task"], "args": m["args"]} for m in self.prioritized()]

    def prioritized(self) -> list[dict[str, Any]]:
        """Every waiting message as {task, args, priority}, in the order a worker takes them."""
        found = []
        for step in PRIORITY_STEPS:
            # kombu LPUSHes, workers BRPOP: the oldest is at the right.
            for raw in reversed(self.redis.lrange(self.list_for(step), 0, -1)):
                envelope = json.loads(raw)
                args, _kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
                found.append({"task": envelope["headers"]["task"], "args": args, "priority": step})
        return found


@pytest.fixture(autouse=True)
def scrape_queue(redis_url: str, celery_queue: str) -> Iterator[ScrapeQueue]:
    """The session's job queue in Redis, emptied around each test so no stale message reaches a worker."""
    queue = ScrapeQueue(redis_url, celery_queue)
    queue.clear()
    yield queue
    queue.clear()
    queue.redis.close()


@contextlib.contextmanager
def running_worker(settings: Settings, log_dir: Path) -> Iterator[processes.ServiceProcess]:
    """A real Celery worker process with `settings` (no -Q: it consumes the analyze queue too), for /analyze."""
    worker = processes.worker_process(settings_env(settings), log_dir, name="analyze-worker").start()
    try:
        processes.wait_for_worker(worker)
        yield worker
    finally:
        worker.stop()
