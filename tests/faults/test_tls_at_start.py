"""TLS to Redis: unverified rediss:// refused at start, an untrusted certificate named, REDIS_TLS for every client."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import redis

from backend import create_app
from backend.broker import ping_broker
from backend.errors import BrokerCertificateError
from tests import services
from tests.processes import ROOT
from worker.config import make_celery

pytestmark = pytest.mark.faults


@pytest.mark.parametrize("cert_reqs", ["none", "CERT_OPTIONAL"])
def test_worker_refuses_unverified_rediss_at_start(cert_reqs):
    """`celery -A worker worker` exits at once with one line naming REDIS_URL, before touching the network."""
    env = {**os.environ, "APP_ENV": "test", "REDIS_URL": f"rediss://127.0.0.1:1/0?ssl_cert_reqs={cert_reqs}"}
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "worker", "worker", "--concurrency", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "configuration error: REDIS_URL: ssl_cert_reqs=none is refused; TLS to Redis must verify the certificate"
    )


@pytest.fixture
def tls_redis(tmp_path) -> Iterator[services.TlsRedis]:
    server = services.start_tls_redis(tmp_path)
    yield server
    server.stop()


def test_an_untrusted_redis_certificate_is_named(
    make_settings, database_url, s3_settings, s3_server, tls_redis
):
    """A self-signed certificate shows as BrokerCertificateError saying so, in the ping and in /health."""
    settings = make_settings(database_url=database_url, redis_url=tls_redis.url(0), **s3_settings)
    with pytest.raises(BrokerCertificateError, match=r"certificate not trusted: .*self-signed"):
        ping_broker(make_celery(settings), timeout=3)
    app = create_app(settings)
    try:
        health = app.test_client().get("/health").get_json()
    finally:
        app.extensions["scraper"].db.dispose()
    assert health["broker"] == "error: BrokerCertificateError"


def test_redis_tls_applies_to_the_rate_limiter_too(
    make_settings, database_url, s3_settings, s3_server, tls_redis, monkeypatch
):
    """REDIS_TLS=true with a redis:// URL: the limiter's counters land in the TLS Redis (no in-memory fallback)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_redis.cert))  # trust the test's own certificate
    settings = make_settings(
        database_url=database_url, redis_url=tls_redis.url(0, scheme="redis"), redis_tls=True, **s3_settings
    )
    app = create_app(settings)
    try:
        assert app.test_client().get("/api/v1/jobs").status_code == 401
    finally:
        app.extensions["scraper"].db.dispose()
    client = redis.Redis.from_url(tls_redis.url(0), ssl_ca_certs=str(tls_redis.cert))
    assert client.keys(f"*{settings.celery_queue}*"), "the limiter did not write to the TLS Redis"
    client.close()
