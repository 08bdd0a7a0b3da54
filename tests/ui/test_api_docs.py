"""/docs: the OpenAPI document as a browsable page, every file from this service, none from a CDN."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.sync_api import expect

from backend.apidocs import CONTENT_SECURITY_POLICY


def test_docs_page_and_its_assets_are_served_by_the_app(client):
    page = client.get("/docs")
    html = page.get_data(as_text=True)

    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "<script>" not in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(source.startswith("/") for source in sources), sources
    assert 'data-spec="/api/v1/openapi.json"' in html
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200, source
        asset.close()
    assert client.get("/docs/assets/oauth2-redirect.html").status_code == 404


def test_docs_render_every_operation_in_chromium_without_leaving_the_origin(page, ui_system):
    system = ui_system
    origin = urlsplit(system.base_url).netloc
    requests: list[str] = []
    failures: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: failures.append(message.text) if message.type == "error" else None)
    page.on("response", lambda response: failures.append(f"{response.status} {response.url}") if response.status >= 400 else None)  # fmt: skip

    page.goto(system.base_url + "/docs")

    expect(page.get_by_text("/api/v1/campaigns", exact=True).first).to_be_visible()
    page.get_by_text("/api/v1/campaigns", exact=True).first.click()
    expect(page.get_by_text("next_cursor").first).to_be_visible()
    assert {urlsplit(url).netloc for url in requests if url.startswith("http")} == {origin}
    assert failures == []
