"""Pipeline fixtures: the shop site, built once per session and served on loopback, and an HTTP session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.shopsite import ServedSite, build_site, serve_site
from worker.pipeline import make_http_session

# Redirects only the tests need: a hop to a scheme the scraper must refuse.
TEST_REDIRECTS = {"/go/file": "file:///etc/passwd", "/go/ftp": "ftp://127.0.0.1/x.jpg"}


@pytest.fixture(scope="session")
def shop_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedSite]:
    root = tmp_path_factory.mktemp("shop")
    manifest = build_site(root)
    with serve_site(root, redirects=TEST_REDIRECTS) as base_url:
        yield ServedSite(manifest=manifest, base_url=base_url, root=root)


@pytest.fixture
def http(make_settings: Any) -> Iterator[requests.Session]:
    session = make_http_session(make_settings())
    yield session
    session.close()
