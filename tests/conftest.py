"""Session-wide real services (Postgres, Redis, S3) and per-test settings, database and store."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from backend.db import Database
from backend.migrate import upgrade_to_head
from backend.models import Base
from backend.runtime import Runtime
from backend.settings import Settings, load_settings
from backend.storage import make_store
from tests import services

REDIS_TEST_DB = int(os.environ.get("TEST_REDIS_DB", "13"))

# Variables the application reads outside Settings; a shell that exports them must not change a result.
APPLICATION_VARIABLES = ("PROMETHEUS_MULTIPROC_DIR", "FORWARDED_ALLOW_IPS", "GUNICORN_LOG_LEVEL")


def application_settings_in(environ: dict[str, str]) -> list[str]:
    """The names in `environ` that the application would read as its configuration."""
    return [
        name for name in environ if name.lower() in Settings.model_fields or name in APPLICATION_VARIABLES
    ]


def pytest_configure(config: pytest.Config) -> None:
    # Tests build their settings explicitly; whatever the user's shell exports (SCRAPER_ALLOW_PRIVATE,
    # DATABASE_URL, APP_ENV, …) is dropped for the whole session, child processes included.
    for name in application_settings_in(dict(os.environ)):
        del os.environ[name]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[services.PostgresServer]:
    server = services.start_postgres()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def database_url(postgres_server: services.PostgresServer) -> Iterator[str]:
    """A throwaway Postgres database for this test session, migrated to head."""
    name = f"scraper_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_server.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_server.admin_url).set(database=name).render_as_string(hide_password=False)
    upgrade_to_head(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[services.RedisServer]:
    server = services.start_redis()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def celery_queue() -> str:
    """A queue name of this test session's own, so test runs side by side never take each other's jobs."""
    return f"scrape-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def redis_url(redis_server: services.RedisServer, celery_queue: str) -> Iterator[str]:
    url = redis_server.url(REDIS_TEST_DB)
    yield url
    client = redis.Redis.from_url(url)
    client.delete(celery_queue)
    client.close()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[services.S3Server]:
    server = services.start_s3()
    yield server
    server.stop()


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment variables that reproduce `settings` in a child process."""
    env: dict[str, str] = {}
    for name, raw in settings.model_dump(exclude_none=True).items():
        value = raw.get_secret_value() if hasattr(raw, "get_secret_value") else raw
        env[name.upper()] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


@pytest.fixture
def make_settings(tmp_path: Path, celery_queue: str) -> Any:
    """Build Settings for a test: test env, private dirs, the session's queue, loopback scraping allowed."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "app_env": "test",
            "celery_queue": celery_queue,
            "var_dir": tmp_path / "var",
            "scraper_allow_private": True,
        }
        values.update(overrides)
        return load_settings(**values)

    return build


@pytest.fixture
def s3_settings(s3_server: services.S3Server) -> dict[str, Any]:
    return {
        "storage_backend": "s3",
        "r2_endpoint_url": s3_server.endpoint,
        "r2_access_key_id": services.S3_ACCESS_KEY,
        "r2_secret_access_key": services.S3_SECRET_KEY,
        "r2_bucket": s3_server.bucket,
        "r2_public_base_url": "https://cdn.example.test",
    }


@pytest.fixture
def settings(make_settings: Any, database_url: str, redis_url: str, s3_settings: dict[str, Any]) -> Settings:
    """Production-shaped settings: Postgres, Redis, S3."""
    return make_settings(database_url=database_url, redis_url=redis_url, **s3_settings)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    """The test database, emptied after each test (the worker processes share it, so no savepoints)."""
    database = Database(settings)
    yield database
    with database.engine.begin() as conn:
        tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {tables} CASCADE"))
    database.dispose()


@pytest.fixture
def store(settings: Settings, s3_server: services.S3Server) -> Iterator[Any]:
    yield make_store(settings)
    s3_server.clear()


@pytest.fixture
def runtime(settings: Settings, db: Database, store: Any) -> Runtime:
    return Runtime(settings=settings, db=db, store=store)
