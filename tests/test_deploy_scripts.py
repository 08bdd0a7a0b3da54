"""The container start scripts: refuse bad settings in one line, wait with backoff, stop on a failed migration."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests import services
from tests.migration_tools import fresh_database

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "railway-worker-entrypoint.sh"
WEB_START = ROOT / "scripts" / "web-start.sh"
# Settings that would leak in from the machine running the tests.
SCRUBBED = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "STORAGE_BACKEND", "APP_ENV", "PORT")


def script_env(**values: str) -> dict[str, str]:
    """The environment of a container: this venv's python/celery/gunicorn first on PATH."""
    env = {key: value for key, value in os.environ.items() if key not in SCRUBBED}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(values)
    return env


def run_script(script: Path, timeout: float = 60, **values: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(script)], env=script_env(**values), capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def pg_url(postgres_server: services.PostgresServer) -> Iterator[str]:
    with fresh_database(postgres_server.admin_url, prefix="scraper_deploy") as url:
        yield url


def test_worker_refuses_missing_setting_in_one_line():
    """In production without DATABASE_URL the worker entrypoint stops with one line naming it (exit 78)."""
    result = run_script(ENTRYPOINT, APP_ENV="production", REDIS_URL="redis://redis.internal:6379/0")
    assert result.returncode == 78
    assert result.stderr.strip().splitlines() == [
        "worker: configuration error: DATABASE_URL is required in production"
    ]
    assert "starting celery" not in result.stdout


def test_worker_refuses_bad_concurrency():
    """A CELERY_CONCURRENCY that is not a positive integer is refused before anything else."""
    result = run_script(ENTRYPOINT, CELERY_CONCURRENCY="many")
    assert result.returncode == 78
    assert result.stderr.strip() == "worker: CELERY_CONCURRENCY must be a positive integer, got 'many'"


def test_worker_waits_with_backoff_then_gives_up():
    """With Postgres unreachable the entrypoint retries with growing delays, then exits 69."""
    closed = services.free_port()
    started = time.monotonic()
    result = run_script(
        ENTRYPOINT,
        APP_ENV="development",
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{closed}/nope",
        REDIS_URL="redis://127.0.0.1:6379/13",
        WAIT_TIMEOUT_SECONDS="3",
    )
    assert result.returncode == 69
    assert "worker: waiting for postgres (attempt 1, retry in 0.5s)" in result.stdout
    assert "worker: waiting for postgres (attempt 2, retry in 1.0s)" in result.stdout
    assert "worker: gave up waiting for postgres" in result.stderr
    assert time.monotonic() - started < 30


def test_worker_waits_for_broker(pg_url):
    """With Postgres up but the broker down, it names the broker when it gives up."""
    result = run_script(
        ENTRYPOINT,
        APP_ENV="development",
        DATABASE_URL=pg_url,
        REDIS_URL=f"redis://127.0.0.1:{services.free_port()}/13",
        WAIT_TIMEOUT_SECONDS="2",
    )
    assert result.returncode == 69
    assert "worker: postgres is up" in result.stdout
    assert "worker: gave up waiting for broker" in result.stderr


def test_web_start_stops_when_migration_fails():
    """web-start.sh exits 1 and never starts gunicorn when the migration fails."""
    result = run_script(
        WEB_START,
        APP_ENV="development",
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{services.free_port()}/nope",
        MIGRATE_ATTEMPTS="1",
    )
    assert result.returncode == 1
    assert "migrate.failed" in result.stdout
    assert "web-start: migrations failed; not starting the API" in result.stderr
    assert "starting gunicorn" not in result.stdout


def test_web_start_migrates_then_serves(tmp_path, pg_url, redis_url):
    """web-start.sh migrates a fresh database, then gunicorn serves /health and stops cleanly on SIGTERM."""
    port = services.free_port()
    env = script_env(
        APP_ENV="development",
        DATABASE_URL=pg_url,
        REDIS_URL=redis_url,
        VAR_DIR=str(tmp_path / "var"),
        PORT=str(port),
        WEB_CONCURRENCY="2",
        GUNICORN_GRACEFUL_TIMEOUT="5",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
    )
    log = (tmp_path / "web.log").open("w+")
    process = subprocess.Popen([str(WEB_START)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        services.wait_for_port("127.0.0.1", port, timeout=60)
        health = requests.get(f"http://127.0.0.1:{port}/health", timeout=10)
        for _ in range(6):
            requests.get(f"http://127.0.0.1:{port}/api/v1/jobs", timeout=10)
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log.seek(0)
    output = log.read()
    assert health.status_code == 200, output
    assert health.json()["database"] == "ok"
    assert "migrate.upgraded" in output
    assert code == 0, output
    # Six requests, whichever of the two gunicorn workers answered each, all in one scrape.
    route = 'method="GET",route="/api/v1/jobs",status="401"'
    assert f"scraper_http_request_duration_seconds_count{{{route}}} 6.0" in metrics, metrics


def test_web_refuses_missing_setting_in_one_line():
    """In production without DATABASE_URL gunicorn stops at start with one line naming it (exit 78)."""
    result = run_script(
        WEB_START, MIGRATE_ON_START="false", APP_ENV="production", REDIS_URL="redis://redis.internal:6379/0"
    )
    assert result.returncode == 78, result.stderr
    assert "web: configuration error: DATABASE_URL is required in production" in result.stderr.splitlines()
    assert "Traceback" not in result.stderr


NEVER_WORKS = [
    pytest.param({"DATABASE_URL": "notaurl"}, "DATABASE_URL: is not a database URL", id="database-url"),
    pytest.param(
        {"REDIS_URL": "rediss://127.0.0.1:1/0?ssl_cert_reqs=none"},
        "REDIS_URL: ssl_cert_reqs=none is refused",
        id="unverified-tls",
    ),
]


@pytest.mark.parametrize(("settings", "named"), NEVER_WORKS)
def test_worker_refuses_a_setting_that_can_never_work_at_once(settings, named):
    """A malformed DATABASE_URL or an unverified rediss:// exits 78 with one line, without waiting."""
    values = {"APP_ENV": "development", "REDIS_URL": "redis://127.0.0.1:1/0", "WAIT_TIMEOUT_SECONDS": "120"}
    result = run_script(ENTRYPOINT, timeout=30, **{**values, **settings})
    assert result.returncode == 78, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"worker: configuration error: {named}")
    assert "waiting for" not in result.stdout


@pytest.mark.parametrize("migrate_on_start", ["true", "false"])
@pytest.mark.parametrize(("settings", "named"), NEVER_WORKS)
def test_web_start_refuses_a_setting_that_can_never_work_with_78(settings, named, migrate_on_start):
    """web-start exits 78 (as documented) for such a setting, whether it migrates first or not."""
    values = {
        "APP_ENV": "development",
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{services.free_port()}/nope",
        "MIGRATE_ON_START": migrate_on_start,
        "MIGRATE_ATTEMPTS": "1",
        "PROMETHEUS_MULTIPROC_DIR": f"/tmp/scraper-prom-{os.getpid()}",
    }
    result = run_script(WEB_START, timeout=60, **{**values, **settings})
    assert result.returncode == 78, result.stdout + result.stderr
    assert named in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
