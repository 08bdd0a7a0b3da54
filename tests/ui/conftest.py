"""Browser fixtures: Debian's Chromium driven by Playwright, against the real API, worker and shop site."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.settings import Settings
from tests.backend.api.conftest import app, client  # noqa: F401 - fixtures shared with the API tests
from tests.e2e.conftest import RunningSystem, new_api_key, shop, start_system  # noqa: F401 - fixtures
from tests.services import S3Server

CHROMIUM = Path(os.environ.get("UI_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in tests/ui carries the `ui` marker (`-m "not ui"` leaves the browser out)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.ui)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the session; a missing browser fails the tests with one clear line."""
    if not CHROMIUM.is_file():
        pytest.fail(
            f"UI tests need Chromium at {CHROMIUM}: run `apt-get install -y chromium` (or .ci/run)",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only the UI tests need it

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh browser context (empty localStorage) with clipboard access, at desktop width."""
    context = chromium.new_context(viewport=DESKTOP, permissions=["clipboard-read", "clipboard-write"])
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where screenshots go: UI_SCREENSHOT_DIR (e.g. docs/screenshots) if set, else the test's tmp dir."""
    target = Path(os.environ.get("UI_SCREENSHOT_DIR") or tmp_path / "screenshots")
    target.mkdir(parents=True, exist_ok=True)
    return target


@pytest.fixture
def ui_system(
    make_settings: Any,
    database_url: str,
    redis_url: str,
    s3_settings: dict[str, Any],
    s3_server: S3Server,
    db: Any,
    store: Any,
    new_api_key: str,  # noqa: F811 - the e2e fixture, imported above
    tmp_path: Path,
) -> Iterator[RunningSystem]:
    """API + worker on Postgres, Redis and S3, with image URLs the browser can load (the S3 server itself).

    The bucket is made public-read for the test, as an R2 bucket behind a public domain is.
    """
    s3 = s3_server.client()
    s3.put_bucket_policy(Bucket=s3_server.bucket, Policy=json.dumps(public_read(s3_server.bucket)))
    public = {**s3_settings, "r2_public_base_url": f"{s3_server.endpoint}/{s3_server.bucket}"}
    settings: Settings = make_settings(database_url=database_url, redis_url=redis_url, **public)
    running = start_system(settings, tmp_path, new_api_key)
    yield running
    running.worker.stop()
    running.api.stop()
    s3.delete_bucket_policy(Bucket=s3_server.bucket)


def public_read(bucket: str) -> dict[str, Any]:
    """A bucket policy letting anyone GET objects (what a public CDN bucket allows)."""
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    return {"Version": "2012-10-17", "Statement": [statement]}
