"""/files/<key> serves the local store's objects with their content type, and nothing else."""

from __future__ import annotations

import pytest

from backend import create_app
from tests.backend.api.conftest import shutdown_app


@pytest.fixture
def local_app(make_settings, tmp_path):
    """An app on the embedded defaults: local storage under a temporary directory."""
    app = create_app(make_settings(local_storage_dir=tmp_path / "objects"))
    yield app
    shutdown_app(app)


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("a.jpg", "image/jpeg"), ("b.png", "image/png"), ("c.webp", "image/webp"), ("d.gif", "image/gif")],
)
def test_local_objects_are_served_with_their_content_type(local_app, name, content_type):
    """A stored object comes back byte for byte, typed by its extension, cacheable forever."""
    key = f"campaigns/c1/{name}"
    local_app.extensions["scraper"].store.put(key, b"image-bytes", content_type)

    response = local_app.test_client().get(f"/files/{key}")

    assert response.status_code == 200
    assert response.get_data() == b"image-bytes"
    assert response.mimetype == content_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "immutable" in response.headers["Cache-Control"]
    response.close()


def test_public_url_of_the_local_store_points_at_this_route(local_app):
    """The local store's public URL is /files/<key> on the API."""
    url = local_app.extensions["scraper"].store.public_url("campaigns/c1/a.jpg")

    assert url.endswith("/files/campaigns/c1/a.jpg")


@pytest.mark.parametrize(
    "key",
    [
        "campaigns/c1/missing.jpg",
        "../../etc/passwd",
        "campaigns/c1/.part-abc",
        "campaigns/%2e%2e/%2e%2e/secret",
    ],
)
def test_missing_hidden_and_escaping_keys_are_404(local_app, tmp_path, key):
    """Unknown keys, half-written temporary files and paths outside the store are 404."""
    store = local_app.extensions["scraper"].store
    store.put("campaigns/c1/.part-abc", b"half", "image/jpeg")
    (tmp_path / "secret").write_bytes(b"do not serve")

    response = local_app.test_client().get(f"/files/{key}")

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_files_route_is_404_with_s3_storage(client, store):
    """With S3/R2 the CDN serves images; the API's /files route serves nothing."""
    store.put("campaigns/c1/a.jpg", b"image-bytes", "image/jpeg")

    assert client.get("/files/campaigns/c1/a.jpg").status_code == 404
