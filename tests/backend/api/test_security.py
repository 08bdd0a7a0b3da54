"""API hardening: callback_url SSRF guard, body size limit, per-key rate limits in Redis, hashed keys."""

from __future__ import annotations

import hashlib
import hmac
import io
import uuid
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import select

from backend import MAX_CONTENT_LENGTH, create_app
from backend.api.ratelimit import KEY_PREFIX
from backend.auth import authenticate, identify_caller
from backend.errors import ConfigError
from backend.models import ApiKey, Job, utcnow
from backend.settings import load_settings
from tests.backend.api.conftest import api_for, shutdown_app
from tests.services import free_port

PAGE = "https://shop.example.test/p/1"


# --- callback_url goes through the same SSRF guard as scraped URLs -----------------------


@pytest.mark.parametrize(
    "callback_url",
    [
        "http://127.0.0.1:8080/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://2130706433/hook",
        "http://0x7f.1/hook",
        "http://hooks.railway.internal/x",
        "http://localhost:5000/hook",
        "http://printer.local/",
        "http://redis/",
    ],
)
def test_private_callback_url_is_refused_at_submission(make_app, user_key, db, callback_url):
    """A callback_url on an internal address is 422 naming blocked_url, and no job is created."""
    api = api_for(make_app(scraper_allow_private=False), user_key)
    response = api.post("/api/v1/jobs", json={"sales_page_url": PAGE, "callback_url": callback_url})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    [error] = response.get_json()["errors"]
    assert error["field"] == "callback_url"
    assert error["message"].startswith("blocked_url")
    with db.session() as session:
        assert session.scalars(select(Job)).all() == []


def test_public_callback_url_is_accepted(make_app, user_key):
    """A callback_url on a public address passes the guard."""
    api = api_for(make_app(scraper_allow_private=False), user_key)
    response = api.post(
        "/api/v1/jobs", json={"sales_page_url": PAGE, "callback_url": "https://93.184.216.34/hook"}
    )
    assert response.status_code == 202


def test_analyze_of_a_private_page_is_422_blocked_url(make_app, user_key):
    """/analyze refuses an internal page with 422 code blocked_url before fetching anything."""
    api = api_for(make_app(scraper_allow_private=False), user_key)
    response = api.post("/api/v1/analyze", json={"url": "http://169.254.169.254/latest/meta-data/"})
    assert response.status_code == 422
    assert response.get_json()["code"] == "blocked_url"


# --- request body size ------------------------------------------------------------------


def test_oversized_body_is_413_problem_json(api):
    """A body over the limit (declared length) is 413 problem+json, unread."""
    body = b'{"sales_page_url": "' + b"a" * MAX_CONTENT_LENGTH + b'"}'
    response = api.post("/api/v1/jobs", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 413


def test_oversized_chunked_body_is_413(api):
    """A body without Content-Length is cut off at the limit too."""

    def chunks() -> Iterator[bytes]:
        yield b'{"sales_page_url": "'
        for _ in range(MAX_CONTENT_LENGTH // 1024 + 2):
            yield b"a" * 1024
        yield b'"}'

    response = api.post(
        "/api/v1/jobs",
        input_stream=io.BytesIO(b"".join(chunks())),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


# --- rate limits ------------------------------------------------------------------------


def _rate_limit_keys(redis_url: str) -> list[bytes]:
    client = redis.Redis.from_url(redis_url)
    try:
        return list(client.scan_iter(f"*{KEY_PREFIX}*"))
    finally:
        client.close()


def test_rate_limit_per_key_is_429_with_retry_after(make_app, user_key, other_user_key, redis_url):
    """Past RATE_LIMIT a key gets 429 problem+json with Retry-After; another key is unaffected."""
    application = make_app(rate_limit="3 per minute")
    api, other = api_for(application, user_key), api_for(application, other_user_key)
    assert [api.get("/api/v1/jobs").status_code for _ in range(3)] == [200, 200, 200]
    refused = api.get("/api/v1/jobs")
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert refused.get_json()["status"] == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert other.get("/api/v1/jobs").status_code == 200
    digest = hashlib.sha256(user_key.plaintext.encode()).hexdigest()[:32]
    keys = [key.decode() for key in _rate_limit_keys(redis_url)]
    assert any(digest in key for key in keys), keys
    assert not any(user_key.plaintext in key for key in keys)


def test_rate_limit_is_shared_by_every_app_on_the_same_redis(make_app, user_key):
    """Two API processes (two apps) count against one budget, because the counters live in Redis."""
    first = api_for(make_app(rate_limit="2 per minute"), user_key)
    second = api_for(make_app(rate_limit="2 per minute"), user_key)
    assert first.get("/api/v1/jobs").status_code == 200
    assert second.get("/api/v1/jobs").status_code == 200
    assert first.get("/api/v1/jobs").status_code == 429


def test_health_is_exempt_from_rate_limits(make_app):
    """/health/live answers however often it is asked."""
    client = make_app(rate_limit="1 per minute").test_client()
    assert {client.get("/health/live").status_code for _ in range(5)} == {200}


def test_requests_without_a_key_are_limited_by_address(make_app):
    """Requests with no key count against their client address (401 until the limit, then 429)."""
    client = make_app(rate_limit="2 per minute").test_client()
    address = {"REMOTE_ADDR": f"192.0.2.{uuid.uuid4().int % 250 + 1}"}
    statuses = [client.get("/api/v1/jobs", environ_base=address).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


def _random_token() -> str:
    return "pis_" + uuid.uuid4().hex + uuid.uuid4().hex


def _guess(client, address: str, forwarded: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {_random_token()}"}
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    return client.get("/api/v1/jobs", headers=headers, environ_base={"REMOTE_ADDR": address}).status_code


def _address() -> str:
    return f"198.51.100.{uuid.uuid4().int % 250 + 1}"


def test_guessing_keys_is_limited_by_client_address(make_app, user_key):
    """Many random tokens from one address: 401 until RATE_LIMIT_UNAUTHENTICATED, then 429; others unaffected."""
    application = make_app(rate_limit="1000 per minute", rate_limit_unauthenticated="5 per minute")
    client = application.test_client()
    address = _address()
    assert [_guess(client, address) for _ in range(8)] == [401] * 5 + [429] * 3
    assert _guess(client, _address()) == 401
    # A valid key from another address is not held up by the guesser.
    assert api_for(application, user_key).get("/api/v1/jobs").status_code == 200


def test_a_forged_x_forwarded_for_does_not_escape_the_limit(make_app):
    """Without TRUSTED_PROXY_HOPS, a new X-Forwarded-For on every guess still counts against the peer."""
    client = make_app(rate_limit_unauthenticated="3 per minute").test_client()
    address = _address()
    statuses = [_guess(client, address, forwarded=_address()) for _ in range(5)]
    assert statuses == [401] * 3 + [429] * 2


def test_trusted_proxy_hops_count_the_address_the_proxy_saw(make_app):
    """With one trusted proxy, the right-most X-Forwarded-For entry is the client; entries left of it are ignored."""
    client = make_app(rate_limit_unauthenticated="2 per minute", trusted_proxy_hops=1).test_client()
    proxy, client_a, client_b = _address(), _address(), _address()
    # The client wrote a different left-most entry each time; the proxy appended what it saw.
    assert [_guess(client, proxy, f"{_address()}, {client_a}") for _ in range(3)] == [401, 401, 429]
    assert _guess(client, proxy, client_b) == 401


def test_analyze_has_its_own_tighter_limit(make_app, user_key):
    """RATE_LIMIT_ANALYZE applies to /analyze on top of the general limit."""
    api = api_for(make_app(rate_limit="100 per minute", rate_limit_analyze="1 per minute"), user_key)
    assert api.post("/api/v1/analyze", json={"url": "ftp://x.example/"}).status_code == 422
    assert api.post("/api/v1/analyze", json={"url": "ftp://x.example/"}).status_code == 429
    assert api.get("/api/v1/jobs").status_code == 200


def test_rate_limit_can_be_turned_off(make_app, user_key):
    """RATE_LIMIT_ENABLED=false lets everything through, /analyze included (it was a 500)."""
    application = make_app(
        rate_limit="1 per minute", rate_limit_analyze="1 per minute", rate_limit_enabled=False
    )
    api = api_for(application, user_key)
    assert {api.get("/api/v1/jobs").status_code for _ in range(3)} == {200}
    assert {api.post("/api/v1/analyze", json={"url": "ftp://x.example/"}).status_code for _ in range(3)} == {
        422
    }
    assert {_guess(application.test_client(), _address()) for _ in range(3)} == {401}


def test_embedded_mode_counts_in_memory(make_settings, tmp_path):
    """Without REDIS_URL the limiter keeps its counters in process memory and still limits."""
    settings = make_settings(rate_limit="1 per minute")
    assert settings.rate_limit_storage == "memory://"
    application = create_app(settings)
    try:
        client = application.test_client()
        assert client.get("/api/v1/openapi.json").status_code == 200
        assert client.get("/api/v1/openapi.json").status_code == 429
    finally:
        shutdown_app(application)


def test_bad_rate_limit_setting_stops_the_start(make_settings):
    """A rate limit that does not parse is a one-line ConfigError naming the variable."""
    with pytest.raises(ConfigError, match="RATE_LIMIT"):
        make_settings(rate_limit="lots")


# --- API keys ---------------------------------------------------------------------------


def test_only_the_hash_of_a_key_is_stored(db, user_key):
    """api_keys holds the SHA-256 of the key and a short prefix, never the key itself."""
    with db.session() as session:
        row = session.scalar(select(ApiKey).where(ApiKey.user_id == user_key.user_id))
        assert row is not None
        assert row.key_hash == hashlib.sha256(user_key.plaintext.encode()).hexdigest()
        assert user_key.plaintext not in {row.key_hash, row.prefix}
        assert len(row.prefix) < len(user_key.plaintext) // 3


@pytest.mark.parametrize("check", [authenticate, identify_caller], ids=["authenticate", "identify_caller"])
def test_both_key_checks_use_a_constant_time_compare(db, user_key, monkeypatch, check):
    """Both key checks decide with hmac.compare_digest on the hashes, not with ==."""
    calls: list[tuple[str, str]] = []
    real_compare = hmac.compare_digest
    monkeypatch.setattr(
        "backend.auth.hmac.compare_digest", lambda a, b: calls.append((a, b)) or real_compare(a, b)
    )
    with db.session() as session:
        assert check(session, user_key.plaintext) is not None
    digest = hashlib.sha256(user_key.plaintext.encode()).hexdigest()
    assert calls == [(digest, digest)]


def test_identify_caller_accepts_only_a_valid_unrevoked_key(db, user_key):
    """The API's key check: the owner for the exact key; None for near-miss, unknown, malformed or revoked keys."""
    near = user_key.plaintext[:-1] + ("A" if user_key.plaintext[-1] != "A" else "B")
    with db.session() as session:
        caller = identify_caller(session, user_key.plaintext)
        assert caller is not None and caller.user_id == user_key.user_id
        for token in (near, "pis_unknown", "not-a-key", "pis_" + "x" * 300):
            assert identify_caller(session, token) is None, token
        session.get(ApiKey, user_key.key_id).revoked_at = utcnow()
        session.commit()
        assert identify_caller(session, user_key.plaintext) is None
        assert authenticate(session, user_key.plaintext) is None


def test_a_key_one_character_off_is_refused(api, user_key):
    """A near-miss key is 401: the lookup is by full hash."""
    near = user_key.plaintext[:-1] + ("A" if user_key.plaintext[-1] != "A" else "B")
    response = api.client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {near}"})
    assert response.status_code == 401


def test_a_dead_rate_limit_store_does_not_take_the_api_down(make_app, user_key):
    """With the counters' Redis unreachable, requests are answered and limited in process memory instead."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    api = api_for(make_app(rate_limit_storage_url=dead, rate_limit="2 per minute"), user_key)
    assert [api.get("/api/v1/jobs").status_code for _ in range(3)] == [200, 200, 429]


def test_production_refuses_to_scrape_private_addresses():
    """SCRAPER_ALLOW_PRIVATE=true stops a production process at start, naming the variable."""
    with pytest.raises(ConfigError, match="SCRAPER_ALLOW_PRIVATE"):
        load_settings(
            app_env="production",
            database_url="postgresql://app@db.example.com/app",
            redis_url="redis://redis.example.com:6379/0",
            storage_backend="s3",
            r2_endpoint_url="https://r2.example.com",
            r2_access_key_id="id",
            r2_secret_access_key="secret",
            r2_bucket="images",
            scraper_allow_private=True,
        )


# --- response headers -------------------------------------------------------------------


def test_every_answer_says_nosniff_and_hsts_only_in_production(make_app, make_key):
    """JSON answers of every kind (200, 401, 404, 422, 429) carry nosniff; HSTS only with APP_ENV=production."""
    for env, hsts in (("test", False), ("production", True)):
        application = make_app(app_env=env, rate_limit="3 per minute")
        api = api_for(application, make_key(f"{env}@example.test"))
        responses = [
            api.get("/health/live"),
            api.get("/api/v1/jobs"),
            api.client.get("/api/v1/jobs"),
            api.get(f"/api/v1/jobs/{uuid.uuid4()}"),
            api.get("/api/v1/jobs?limit=0"),
            api.get("/api/v1/jobs"),
            api.get("/api/v1/jobs"),
        ]
        statuses = [response.status_code for response in responses]
        assert statuses == [200, 200, 401, 404, 422, 200, 429], env
        for response in responses:
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert ("Strict-Transport-Security" in response.headers) is hsts, env
