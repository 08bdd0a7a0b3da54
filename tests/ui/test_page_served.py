"""`/` and its static files as the Flask app serves them, and the clear failure when Chromium is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from backend.web import CONTENT_SECURITY_POLICY

ROOT = Path(__file__).resolve().parent.parent.parent


def test_index_is_served_with_a_strict_content_security_policy(client):
    """GET / answers the page, which loads only its own script and stylesheet, under a CSP."""
    response = client.get("/")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    html = response.get_data(as_text=True)
    assert '<script src="/static/app.js" defer></script>' in html
    assert 'href="/static/app.css"' in html
    assert "<script>" not in html, "no inline script (the CSP would block it)"
    assert 'aria-live="polite"' in html


def test_static_files_are_served_with_their_types(client):
    """The page's script and stylesheet come from the app itself, not a CDN."""
    script = client.get("/static/app.js")
    style = client.get("/static/app.css")

    assert (script.status_code, style.status_code) == (200, 200)
    assert script.mimetype == "text/javascript"
    assert style.mimetype == "text/css"
    assert "localStorage" in script.get_data(as_text=True)
    script.close()
    style.close()


def test_a_missing_chromium_fails_the_ui_tests_with_one_clear_line(tmp_path):
    """With no browser at the expected path the UI tests fail (not skip), naming the fix."""
    env = {**os.environ, "UI_CHROMIUM": str(tmp_path / "no-chromium")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/ui/test_web_page.py", "-k", "keyboard"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode == 1, result.stdout[-2000:]
    assert "1 error" in result.stdout
    assert "skipped" not in result.stdout
    assert (
        f"UI tests need Chromium at {tmp_path / 'no-chromium'}: run `apt-get install -y chromium`"
        in result.stdout
    )
