"""The app factory and the app-wide error contract: problem+json for 404, 405, 413, 500 and a dead database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from backend import MAX_CONTENT_LENGTH, create_app
from backend.db import Database
from backend.storage import S3Store
from tests.backend.api.conftest import Api, shutdown_app
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[3]


def test_factory_builds_one_set_of_services_from_the_settings(app, settings):
    """create_app(settings) holds one Database, one store and one Celery app made from those settings."""
    services = app.extensions["scraper"]

    assert services.settings is settings
    assert isinstance(services.db, Database)
    assert isinstance(services.store, S3Store)
    assert services.celery.conf.broker_url == settings.broker_url
    assert app.config["MAX_CONTENT_LENGTH"] == MAX_CONTENT_LENGTH
    assert app.testing


def test_factory_without_arguments_reads_the_environment(tmp_path):
    """`create_app()` (as gunicorn and `flask --app backend` call it) builds from the environment."""
    env = {"PATH": "/usr/bin:/bin", "APP_ENV": "development", "VAR_DIR": str(tmp_path / "var")}
    probe = "from backend import create_app; app = create_app(); print(sorted(app.blueprints))"

    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "['account', 'analyze', 'apidocs', 'campaigns', 'files', 'health', 'jobs', 'metrics', 'openapi', 'web']"
    )


def test_import_backend_does_not_load_flask():
    """`import backend` stays cheap: Flask loads only when the factory runs."""
    probe = "import sys, backend; print('flask' in sys.modules)"

    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )

    assert result.stdout.strip() == "False", result.stderr


def test_unknown_route_is_a_404_problem(client):
    """Paths that match nothing answer problem+json 404."""
    response = client.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert (body["type"], body["title"], body["status"]) == ("about:blank", "Not Found", 404)
    assert body["detail"]


def test_wrong_method_is_a_405_problem_with_allow(api):
    """A known path with the wrong method answers 405 and lists the allowed methods."""
    response = api.delete("/api/v1/jobs")

    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert "POST" in response.headers["Allow"] and "GET" in response.headers["Allow"]


def test_oversized_body_is_a_413_problem(api):
    """A body over the size limit is refused with 413 before it is parsed."""
    padding = "x" * (MAX_CONTENT_LENGTH + 1)

    response = api.post(
        "/api/v1/jobs", json={"sales_page_url": "https://shop.example.test/p", "pad": padding}
    )

    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def test_unexpected_errors_are_500_without_internals(app, client):
    """An unhandled exception becomes a bare 500 problem; its message does not leak."""

    def boom():
        raise RuntimeError("postgresql://admin:hunter2@db.internal/prod")

    app.add_url_rule("/boom", view_func=boom)

    response = client.get("/boom")

    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert "hunter2" not in response.get_data(as_text=True)
    assert response.get_json()["detail"] == "An unexpected error occurred."


def test_database_down_is_503_with_retry_after(make_settings, redis_url, s3_settings, db, make_key, client):
    """When Postgres is unreachable an API call answers 503 problem+json with Retry-After, not 500."""
    key = make_key("owner@example.test")
    down = create_app(
        make_settings(
            database_url=f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/nowhere",
            redis_url=redis_url,
            **s3_settings,
        )
    )
    try:
        response = Api(down.test_client(), key).get("/api/v1/jobs")
    finally:
        shutdown_app(down)

    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    assert "127.0.0.1" not in response.get_data(as_text=True)
