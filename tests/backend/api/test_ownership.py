"""Every /api/v1 route, called with user B's key on user A's ids, is 404 and reveals and changes nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from backend.models import Job, JobStatus, ScrapedImage

# (method, path template, json body or None); {job}, {campaign}, {image} are A's ids, {own} is B's campaign.
FOREIGN_ID_CASES = [
    ("get", "/api/v1/jobs/{job}", None),
    ("post", "/api/v1/jobs/{job}/cancel", None),
    ("get", "/api/v1/campaigns/{campaign}", None),
    ("get", "/api/v1/campaigns/{campaign}/images", None),
    ("get", "/api/v1/campaigns/{campaign}/images?image_type=product&limit=5", None),
    ("get", "/api/v1/campaigns/{campaign}/images/stats", None),
    ("post", "/api/v1/campaigns/{campaign}/images/{image}/use", None),
    ("post", "/api/v1/campaigns/{own}/images/{image}/use", None),
    ("delete", "/api/v1/campaigns/{campaign}/images/{image}", None),
    ("delete", "/api/v1/campaigns/{own}/images/{image}", None),
    ("delete", "/api/v1/campaigns/{campaign}", None),
    (
        "post",
        "/api/v1/jobs",
        {"sales_page_url": "https://shop.example.test/p/9", "campaign_id": "{campaign}"},
    ),
]
# Routes that take no id of A's: listed so the route walk below knows they were considered.
NO_FOREIGN_ID = {
    ("GET", "/api/v1/jobs"): "lists only the caller's jobs (checked below)",
    (
        "GET",
        "/api/v1/campaigns",
    ): "lists only the caller's campaigns (tests/backend/api/test_campaign_list.py)",
    ("POST", "/api/v1/analyze"): "takes a URL, no stored id",
    ("GET", "/api/v1/openapi.json"): "public description, no data",
    ("GET", "/api/v1/account/webhook-secret"): "takes no id; always the caller's own secret",
}


@dataclass
class Owned:
    job: uuid.UUID
    campaign: uuid.UUID
    image: uuid.UUID
    own: uuid.UUID

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            return value.format(job=self.job, campaign=self.campaign, image=self.image, own=self.own)
        if isinstance(value, dict):
            return {key: self.fill(item) for key, item in value.items()}
        return value

    def ids(self) -> list[str]:
        return [str(self.job), str(self.campaign), str(self.image)]


@pytest.fixture
def owned(api, other_api, make_campaign, make_job, make_image) -> Owned:
    """A's campaign with a job and an image; B has a campaign of their own."""
    campaign = make_campaign(api)
    job = make_job(api, campaign, idempotency_key="shared-key")
    image = make_image(campaign, job_id=job)
    return Owned(job=job, campaign=campaign, image=image.id, own=make_campaign(other_api))


def _route_templates(app) -> set[tuple[str, str]]:
    """Every (METHOD, path) under /api/v1, with converters written as {name}."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<uuid:{name}>", "{" + name + "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method, path))
    return routes


def _normalise(path: str) -> str:
    path = path.split("?", 1)[0]
    return (
        path.replace("{job}", "{job_id}")
        .replace("{campaign}", "{campaign_id}")
        .replace("{own}", "{campaign_id}")
        .replace("{image}", "{image_id}")
    )


def test_every_api_route_has_an_ownership_case(app):
    """A new /api/v1 route fails this test until it gets a foreign-id case (or a reason it needs none)."""
    covered = {(method.upper(), _normalise(path)) for method, path, _body in FOREIGN_ID_CASES}
    assert _route_templates(app) - covered - set(NO_FOREIGN_ID) == set()


@pytest.mark.parametrize(("method", "path", "body"), FOREIGN_ID_CASES)
def test_foreign_ids_are_404_and_reveal_nothing(other_api, owned, method, path, body):
    """User B gets 404 problem+json on A's job, campaign and image ids, never 200/403 or A's ids."""
    kwargs = {"json": owned.fill(body)} if body is not None else {}
    response = getattr(other_api, method)(owned.fill(path), **kwargs)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    text = response.get_data(as_text=True)
    assert [value for value in owned.ids() if value in text] == []


def test_foreign_calls_change_nothing(other_api, owned, db):
    """After B tried every route on A's ids, A's job, image and campaign are untouched."""
    for method, path, body in FOREIGN_ID_CASES:
        kwargs = {"json": owned.fill(body)} if body is not None else {}
        getattr(other_api, method)(owned.fill(path), **kwargs)
    with db.session() as session:
        job = session.get(Job, owned.job)
        image = session.get(ScrapedImage, owned.image)
        assert job is not None
        assert job.status == JobStatus.QUEUED
        assert image is not None
        assert image.times_used == 0
        assert session.scalars(select(Job).where(Job.campaign_id == owned.campaign)).all() == [job]


def test_listing_never_shows_another_users_jobs(api, other_api, owned):
    """GET /jobs (with or without A's campaign as filter) lists only the caller's jobs."""
    for query in ("", f"?campaign_id={owned.campaign}", "?status=queued&limit=100"):
        response = other_api.get("/api/v1/jobs" + query)
        assert response.status_code == 200
        assert response.get_json()["items"] == []
    assert [item["id"] for item in api.get("/api/v1/jobs").get_json()["items"]] == [str(owned.job)]


def test_idempotency_keys_are_per_user(api, other_api, owned):
    """B reusing A's Idempotency-Key gets a new job of B's own, never A's job."""
    response = other_api.post(
        "/api/v1/jobs",
        json={"sales_page_url": "https://shop.example.test/p/1"},
        headers={"Idempotency-Key": "shared-key"},
    )
    assert response.status_code == 202
    assert response.get_json()["id"] not in owned.ids()
    assert response.get_json()["campaign_id"] != str(owned.campaign)
