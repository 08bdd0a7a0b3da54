"""Bearer API keys: every /api/v1 route refuses a missing, malformed, unknown or revoked key with 401."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from backend.auth import LAST_USED_RESOLUTION
from backend.models import ApiKey, Job, utcnow

ROUTES = [
    ("post", "/api/v1/jobs"),
    ("get", "/api/v1/jobs"),
    ("get", "/api/v1/jobs/{id}"),
    ("post", "/api/v1/jobs/{id}/cancel"),
    ("post", "/api/v1/analyze"),
    ("get", "/api/v1/campaigns/{id}/images"),
    ("get", "/api/v1/campaigns/{id}/images/stats"),
    ("post", "/api/v1/campaigns/{id}/images/{id}/use"),
    ("delete", "/api/v1/campaigns/{id}/images/{id}"),
    ("delete", "/api/v1/campaigns/{id}"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_missing_key_is_401_with_a_bearer_challenge(client, method, path):
    """No Authorization header: 401 problem+json and WWW-Authenticate: Bearer."""
    response = getattr(client, method)(path.format(id=uuid.uuid4()), json={})

    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.get_json()["status"] == 401


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer pis_not-a-real-key",
        "Bearer nonsense",
        "Basic dXNlcjpwYXNz",
        "Bearer ",
        "pis_without_scheme",
    ],
)
def test_wrong_or_malformed_key_is_401(client, user_key, authorization):
    """Unknown keys, other schemes and empty tokens are all refused."""
    response = client.get("/api/v1/jobs", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_key_challenge_says_invalid_token(client):
    """A presented but unknown key gets error="invalid_token" in the challenge (RFC 6750)."""
    response = client.get("/api/v1/jobs", headers={"Authorization": "Bearer pis_unknown"})

    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'


def test_revoked_key_is_401(client, user_key, db):
    """A revoked key no longer works."""
    with db.session() as session:
        session.get(ApiKey, user_key.key_id).revoked_at = utcnow()
        session.commit()

    response = client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {user_key.plaintext}"})

    assert response.status_code == 401


def test_valid_key_is_accepted_and_its_last_use_recorded(client, user_key, db):
    """A valid key (scheme in any case) reaches the route and stamps last_used_at."""
    response = client.get("/api/v1/jobs", headers={"Authorization": f"bearer {user_key.plaintext}"})

    assert response.status_code == 200
    with db.session() as session:
        assert session.get(ApiKey, user_key.key_id).last_used_at is not None


def test_last_use_is_stamped_at_most_once_a_minute(client, user_key, db):
    """A second request within LAST_USED_RESOLUTION leaves last_used_at alone; an older stamp moves."""
    headers = {"Authorization": f"Bearer {user_key.plaintext}"}
    client.get("/api/v1/jobs", headers=headers)
    with db.session() as session:
        first = session.get(ApiKey, user_key.key_id).last_used_at

    client.get("/api/v1/jobs", headers=headers)
    with db.session() as session:
        assert session.get(ApiKey, user_key.key_id).last_used_at == first
        session.get(ApiKey, user_key.key_id).last_used_at = first - LAST_USED_RESOLUTION
        session.commit()

    client.get("/api/v1/jobs", headers=headers)
    with db.session() as session:
        assert session.get(ApiKey, user_key.key_id).last_used_at > first


def test_unauthenticated_submit_creates_nothing(client, db):
    """A refused request leaves no trace in the database."""
    client.post("/api/v1/jobs", json={"sales_page_url": "https://shop.example.test/p"})

    with db.session() as session:
        assert session.scalars(select(Job)).all() == []


def test_health_needs_no_key(client):
    """The health routes are open, for load balancers."""
    assert client.get("/health/live").status_code == 200
