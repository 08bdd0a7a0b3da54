"""/health checks the real database, broker and storage; /health/live touches nothing."""

from __future__ import annotations

from backend import create_app
from backend.migrate import upgrade_to_head
from tests.backend.api.conftest import shutdown_app
from tests.migration_tools import downgrade_one, fresh_database
from tests.services import free_port


def health_of(settings):
    app = create_app(settings)
    try:
        return app.test_client().get("/health")
    finally:
        shutdown_app(app)


def test_health_is_200_when_everything_answers(client):
    """Postgres, Redis and the S3 server all up: 200 and "ok" for each."""
    response = client.get("/health")

    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "storage": "ok",
        "schema": "ok",
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_health_is_503_when_the_database_is_unreachable(make_settings, redis_url, s3_settings, s3_server):
    """A DATABASE_URL pointing at a closed port makes readiness fail, naming the database."""
    settings = make_settings(
        database_url=f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/nowhere",
        redis_url=redis_url,
        **s3_settings,
    )

    response = health_of(settings)

    assert response.status_code == 503
    assert response.get_json() == {
        "status": "unavailable",
        "database": "error: OperationalError",
        "broker": "ok",
        "storage": "ok",
        "schema": "unknown",
    }


def test_health_is_503_when_the_broker_is_unreachable(make_settings, database_url, s3_settings, s3_server):
    """A REDIS_URL pointing at a closed port makes readiness fail, naming the broker."""
    settings = make_settings(
        database_url=database_url, redis_url=f"redis://127.0.0.1:{free_port()}/0", **s3_settings
    )

    response = health_of(settings)

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["broker"].startswith("error: ")
    assert (body["database"], body["storage"]) == ("ok", "ok")


def test_health_is_503_when_the_bucket_is_missing(
    make_settings, database_url, redis_url, s3_settings, s3_server
):
    """Storage that answers but has no bucket is not ready either."""
    settings = make_settings(
        database_url=database_url, redis_url=redis_url, **{**s3_settings, "r2_bucket": "no-such-bucket"}
    )

    response = health_of(settings)

    assert response.status_code == 503
    assert response.get_json()["storage"] == "error: StorageError"


def test_liveness_touches_nothing(make_settings, s3_settings):
    """/health/live answers 200 even when every dependency is unreachable."""
    closed = free_port()
    settings = make_settings(
        database_url=f"postgresql+psycopg2://postgres@127.0.0.1:{closed}/nowhere",
        redis_url=f"redis://127.0.0.1:{closed}/0",
        **{**s3_settings, "r2_endpoint_url": f"http://127.0.0.1:{closed}"},
    )
    app = create_app(settings)
    try:
        response = app.test_client().get("/health/live")
    finally:
        shutdown_app(app)

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_health_is_503_when_the_schema_is_behind(
    make_settings, postgres_server, redis_url, s3_settings, s3_server
):
    """A database one revision behind the code's head: `schema: behind` and 503, though every ping answers."""
    with fresh_database(postgres_server.admin_url, prefix="scraper_behind") as url:
        upgrade_to_head(url)
        downgrade_one(url)
        response = health_of(make_settings(database_url=url, redis_url=redis_url, **s3_settings))
        upgrade_to_head(url)
        again = health_of(make_settings(database_url=url, redis_url=redis_url, **s3_settings))

    assert response.status_code == 503
    assert response.get_json() == {
        "status": "unavailable",
        "database": "ok",
        "broker": "ok",
        "storage": "ok",
        "schema": "behind",
    }
    assert (again.status_code, again.get_json()["schema"]) == (200, "ok")
