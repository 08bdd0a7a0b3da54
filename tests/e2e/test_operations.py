"""Operations through real processes: signed callbacks with retries, worker liveness, graceful shutdown, no secrets in logs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from backend.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests import processes, services
from tests.conftest import settings_env
from tests.e2e.conftest import SLOW_PAGE, start_system
from tests.processes import ROOT, wait_until
from tests.test_log_calls import EVENT_NAME

pytestmark = pytest.mark.e2e


@dataclass
class Receiver:
    """A loopback webhook receiver that answers 500 to the first `failures` deliveries."""

    url: str
    failures: int
    secret: str = ""
    attempts: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP server on loopback that records each delivery and checks its signature."""
    state = Receiver(url="", failures=2)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            signature = self.headers.get(SIGNATURE_HEADER, "")
            state.attempts.append(
                {
                    "body": body,
                    "signed": bool(state.secret)
                    and verify(state.secret, body, self.headers.get(TIMESTAMP_HEADER, ""), signature),
                    "timestamp": self.headers.get(TIMESTAMP_HEADER),
                }
            )
            self.send_response(500 if len(state.attempts) <= state.failures else 204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/job"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def fast_settings(make_settings, database_url, redis_url, s3_settings):
    """Production-shaped settings with short callback backoff and a quick worker heartbeat."""
    return make_settings(
        database_url=database_url,
        redis_url=redis_url,
        callback_backoff_base=0.2,
        callback_backoff_max=1.0,
        worker_heartbeat_interval=0.5,
        worker_heartbeat_max_age=2.0,
        **s3_settings,
    )


@pytest.fixture
def fast_system(fast_settings, db, store, new_api_key, tmp_path):
    running = start_system(fast_settings, tmp_path, new_api_key)
    yield running
    running.worker.stop()
    running.api.stop()


def test_callback_is_signed_and_retried_until_delivered(fast_system, shop, receiver):
    """The finished job is POSTed to callback_url, signed; the first 2 attempts fail, the third lands."""
    receiver.secret = fast_system.get("/api/v1/account/webhook-secret").json()["webhook_secret"]
    page = shop.manifest.pages["basic"]
    job = fast_system.post(
        "/api/v1/jobs", json={"sales_page_url": shop.url(page.path), "callback_url": receiver.url}
    ).json()
    final = fast_system.wait_for_job(job["id"])

    wait_until(lambda: len(receiver.attempts) >= 3, timeout=60, what="three callback attempts")
    time.sleep(1.0)  # a fourth attempt would be a bug
    assert len(receiver.attempts) == 3
    assert all(attempt["signed"] for attempt in receiver.attempts)
    delivered = json.loads(receiver.attempts[-1]["body"])
    assert delivered["id"] == job["id"]
    assert delivered["status"] == final["status"] == "succeeded"
    assert delivered["progress"] == final["progress"]
    assert int(receiver.attempts[-1]["timestamp"]) == pytest.approx(time.time(), abs=120)
    log = fast_system.worker.log_path.read_text()
    for attempt in (1, 2):
        assert f"callback.failed attempt={attempt} status=500" in log
    assert "callback.delivered attempt=3 status=204" in log


def liveness(settings_env_: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "worker.liveness"],
        cwd=ROOT,
        env={**os.environ, **settings_env_},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_liveness_goes_stale_when_the_consumer_stops(fast_system, fast_settings):
    """Fresh while the worker consumes; stale (exit 1) while it is stopped; fresh again after SIGCONT."""
    env = settings_env(fast_settings)
    fresh = liveness(env)
    assert (fresh.returncode, fresh.stdout.split(":")[:2]) == (0, ["liveness", " ok"]), fresh.stdout

    worker = fast_system.worker
    os.killpg(worker.pid, signal.SIGSTOP)
    try:
        time.sleep(fast_settings.worker_heartbeat_max_age + 1.5)
        stale = liveness(env)
    finally:
        os.killpg(worker.pid, signal.SIGCONT)
    assert stale.returncode == 1
    assert stale.stdout.startswith("liveness: stale: heartbeat"), stale.stdout

    wait_until(lambda: liveness(env).returncode == 0, timeout=20, what="fresh heartbeat after SIGCONT")


def test_liveness_without_a_heartbeat_file_is_stale(tmp_path):
    """No heartbeat file at all (worker never consumed) is exit 1, naming the file."""
    result = liveness({"VAR_DIR": str(tmp_path), "APP_ENV": "test"})
    assert result.returncode == 1
    assert result.stdout.strip() == f"liveness: stale: no heartbeat file at {tmp_path / 'worker-heartbeat'}"


def test_worker_sigterm_is_a_warm_shutdown(system, shop):
    """SIGTERM while a job runs: the worker finishes the job, then exits 0."""
    job = system.post("/api/v1/jobs", json={"sales_page_url": shop.url(SLOW_PAGE)}).json()
    wait_until(
        lambda: system.get(f"/api/v1/jobs/{job['id']}").json()["status"] == "running",
        timeout=30,
        what="job running",
    )
    system.worker.signal(signal.SIGTERM)
    returncode = system.worker.process.wait(timeout=60)

    final = system.get(f"/api/v1/jobs/{job['id']}").json()
    assert final["status"] == "succeeded", final
    assert final["attempts"] == 1
    assert returncode == 0
    assert "Warm shutdown" in system.worker.log_path.read_text()


@pytest.fixture
def slow_page() -> Iterator[str]:
    """A loopback page that takes 2 s to answer."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(2.0)
            body = b"<html><body><p>slow</p></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/slow.html"
    server.shutdown()
    server.server_close()


def test_gunicorn_sigterm_finishes_the_request_in_flight(
    settings, db, store, new_api_key, tmp_path, slow_page
):
    """SIGTERM to gunicorn mid-request: the request still gets its answer, then gunicorn exits 0."""
    port = services.free_port()
    api = processes.api_process(port, settings_env(settings) | {"PORT": str(port)}, tmp_path).start()
    worker = processes.worker_process(
        settings_env(settings), tmp_path, concurrency=1
    ).start()  # runs the preview
    try:
        processes.wait_for_http(f"http://127.0.0.1:{port}/health/live", api)
        processes.wait_for_worker(worker)
        result: dict[str, Any] = {}

        def call() -> None:
            result["response"] = requests.post(
                f"http://127.0.0.1:{port}/api/v1/analyze",
                json={"url": slow_page},
                headers={"Authorization": f"Bearer {new_api_key}"},
                timeout=30,
            )

        caller = threading.Thread(target=call)
        caller.start()
        time.sleep(0.8)
        api.signal(signal.SIGTERM)
        caller.join(timeout=30)
        returncode = api.process.wait(timeout=30)
    finally:
        api.stop()
        worker.stop()
    assert result["response"].status_code == 200, result["response"].text
    assert result["response"].json()["url"] == slow_page
    assert returncode == 0


def test_no_secret_reaches_the_logs(make_settings, database_url, redis_url, s3_settings, db, store,
                                    new_api_key, shop, tmp_path: Path):  # fmt: skip
    """A job and API calls write JSON lines of named events with fields, and no secret in any of them.

    The API key, R2 secret, DB password and webhook secret appear nowhere.
    """
    password = "Db-Pa55-never-logged"
    url_with_password = database_url.replace("postgres@", f"postgres:{password}@", 1)
    settings = make_settings(
        database_url=url_with_password, redis_url=redis_url, log_format="json", **s3_settings
    )
    running = start_system(settings, tmp_path, new_api_key)
    try:
        secret = running.get("/api/v1/account/webhook-secret").json()["webhook_secret"]
        job = running.post(
            "/api/v1/jobs", json={"sales_page_url": shop.url(shop.manifest.pages["basic"].path)}
        ).json()
        assert running.wait_for_job(job["id"])["status"] == "succeeded"
        running.get("/api/v1/jobs", params={"campaign_id": job["campaign_id"]})
        requests.get(
            f"{running.base_url}/api/v1/jobs", headers={"Authorization": "Bearer pis_wrong"}, timeout=10
        )
    finally:
        running.worker.stop()
        running.api.stop()
    logs = running.api.log_path.read_text() + running.worker.log_path.read_text()
    for value in (new_api_key, services.S3_SECRET_KEY, password, secret):
        assert value not in logs
    # Celery's banner goes to stdout as plain text; every log line is a JSON object.
    entries = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    ours = [entry for entry in entries if entry["logger"].startswith(("backend", "worker"))]
    assert ours and all(EVENT_NAME.match(entry["event"]) for entry in ours), (
        "events are names, data are fields"
    )
    of_job = {entry["event"]: entry for entry in ours if entry.get("job_id") == job["id"]}
    claimed, done, succeeded = of_job["job.claimed"], of_job["pipeline.done"], of_job["job.succeeded"]
    assert (claimed["attempt"], claimed["task"], claimed["level"]) == (1, "scraper.run_job", "info")
    assert claimed["task_id"] == done["task_id"] == succeeded["task_id"], "task_id bound for the whole task"
    assert isinstance(done["duration_ms"], int) and done["kept"] >= 1 and succeeded["saved"] >= 1
    submitted = of_job["job.submitted"]
    requests_logged = [entry for entry in ours if entry["event"] == "http.request"]
    [submit] = [entry for entry in requests_logged if entry["request_id"] == submitted["request_id"]]
    assert (submit["method"], submit["route"], submit["status"]) == ("POST", "/api/v1/jobs", 202)
    assert isinstance(submit["duration_ms"], float)
    assert {entry["status"] for entry in requests_logged} >= {200, 202, 401}
