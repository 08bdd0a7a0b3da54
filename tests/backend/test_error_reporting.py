"""Sentry is off without SENTRY_DSN and reports to the DSN's host with one (a real local HTTP endpoint)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, tmp_path: Path, **env: str) -> dict[str, object]:
    """Run `script` in a fresh interpreter (Sentry's state is per process) and return its JSON line."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "DATABASE_", "REDIS_"))}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=ROOT,
        env=clean | {"APP_ENV": "test", "VAR_DIR": str(tmp_path / "var"), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


class _Collector(BaseHTTPRequestHandler):
    """Records every body POSTed to it, decompressed, as Sentry's ingest endpoint would receive it."""

    bodies: list[tuple[str, bytes]]

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            raw = gzip.decompress(raw)
        elif encoding == "deflate":
            raw = zlib.decompress(raw)
        self.server.bodies.append((self.path, raw))  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def sentry_endpoint() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    server.bodies = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_off_without_a_dsn(tmp_path):
    """No SENTRY_DSN: nothing is started and sentry_sdk is not even imported, by the API or the worker."""
    found = _run(
        """
        import json, sys
        from backend import create_app
        from backend.error_reporting import init_error_reporting
        from backend.settings import load_settings
        create_app()
        print(json.dumps({"worker": init_error_reporting(load_settings(), "worker"),
                          "loaded": "sentry_sdk" in sys.modules}))
        """,
        tmp_path,
    )
    assert found == {"worker": False, "loaded": False}


def test_the_api_reports_an_unhandled_error_to_the_dsn(tmp_path, sentry_endpoint):
    """With a DSN, a 500 in the API reaches the DSN's host as an event naming the exception."""
    dsn = f"http://public@127.0.0.1:{sentry_endpoint.server_address[1]}/1"
    found = _run(
        """
        import json, sentry_sdk
        from backend import create_app
        app = create_app()
        def boom():
            raise LookupError("sentry-probe-4711")
        app.add_url_rule("/boom", "boom", boom)
        status = app.test_client().get("/boom").status_code
        sentry_sdk.flush(timeout=10)
        client = sentry_sdk.get_client()
        print(json.dumps({"status": status, "integrations": sorted(client.integrations),
                          "environment": client.options["environment"]}))
        """,
        tmp_path,
        SENTRY_DSN=dsn,
    )
    assert found["status"] == 500
    assert "flask" in found["integrations"] and "celery" not in found["integrations"]
    assert found["environment"] == "test"
    events = [body for path, body in sentry_endpoint.bodies if path == "/api/1/envelope/"]
    assert any(b"sentry-probe-4711" in body and b"LookupError" in body for body in events), events


def test_the_worker_reports_through_the_celery_integration_without_flask(tmp_path, sentry_endpoint):
    """The worker's Sentry has the Celery integration, never loads Flask, and its events arrive too."""
    dsn = f"http://public@127.0.0.1:{sentry_endpoint.server_address[1]}/1"
    found = _run(
        """
        import json, logging, sys, sentry_sdk
        from backend.error_reporting import init_error_reporting
        from backend.settings import load_settings
        on = init_error_reporting(load_settings(), "worker")
        logging.getLogger("worker.tasks").error("worker-probe-4712")
        sentry_sdk.flush(timeout=10)
        print(json.dumps({"on": on, "integrations": sorted(sentry_sdk.get_client().integrations),
                          "flask": "flask" in sys.modules}))
        """,
        tmp_path,
        SENTRY_DSN=dsn,
    )
    assert found["on"] is True and found["flask"] is False
    assert "celery" in found["integrations"] and "flask" not in found["integrations"]
    assert any(b"worker-probe-4712" in body for _path, body in sentry_endpoint.bodies)
