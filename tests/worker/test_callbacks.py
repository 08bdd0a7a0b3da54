"""deliver_callback called directly: signed POST to a loopback receiver, SSRF guard, retry or refuse by status."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from backend.models import JobStatus, utcnow
from backend.runtime import Runtime
from backend.webhooks import (
    SIGNATURE_HEADER,
    SIGNATURE_TOLERANCE_SECONDS,
    TIMESTAMP_HEADER,
    ensure_webhook_secret,
    verify,
)
from tests.factories import create_job
from worker import lifecycle
from worker.callbacks import CallbackRetryError, Delivery, deliver_callback, retry_delay
from worker.sweep import sweep_stuck_jobs


@pytest.fixture
def hook() -> Iterator[dict[str, Any]]:
    """A loopback receiver answering with state['status'] and recording bodies and signatures."""
    state: dict[str, Any] = {"status": 200, "seen": [], "headers": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state["seen"].append((body, self.headers.get(SIGNATURE_HEADER)))
            state["headers"].append(dict(self.headers))
            self.send_response(state["status"])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/hook"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


def finished_job(runtime: Runtime, url: str | None, status: JobStatus = JobStatus.SUCCEEDED) -> Any:
    with runtime.db.session() as session:
        job = create_job(session, status=status, callback_url=url)
        session.commit()
        return job.id, job.user_id


def test_delivers_signed_job_json(runtime, hook):
    """A 2xx answer is DELIVERED and the body verifies against the owner's secret."""
    job_id, user_id = finished_job(runtime, hook["url"])
    assert deliver_callback(runtime, job_id) is Delivery.DELIVERED
    with runtime.db.session() as session:
        secret = ensure_webhook_secret(session, user_id)
    [(body, signature)] = hook["seen"]
    [headers] = hook["headers"]
    assert verify(secret, body, headers[TIMESTAMP_HEADER], signature)
    assert f'"id":"{job_id}"'.encode() in body


def test_the_signature_covers_the_timestamp(runtime, hook):
    """A captured callback fails verification with a fresh timestamp, and with its own once past the tolerance."""
    job_id, user_id = finished_job(runtime, hook["url"])
    assert deliver_callback(runtime, job_id) is Delivery.DELIVERED
    with runtime.db.session() as session:
        secret = ensure_webhook_secret(session, user_id)
    [(body, signature)] = hook["seen"]
    sent = hook["headers"][0][TIMESTAMP_HEADER]
    assert verify(secret, body, sent, signature)
    assert not verify(secret, body, str(int(sent) + 60), signature)
    later = int(sent) + SIGNATURE_TOLERANCE_SECONDS + 1
    assert not verify(secret, body, sent, signature, now=later)
    assert verify(secret, body, sent, signature, now=later - 2)


def _documented_verify() -> Any:
    """The `verify` function of the receiver example in docs/operations.md, as a reader would paste it."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    section = text[text.index("## Job callbacks") :]
    code = section[
        section.index("```python") + len("```python") : section.index("```", section.index("```python") + 9)
    ]
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/operations.md", "exec"), namespace)
    return namespace["verify"]


def test_the_documented_receiver_check_accepts_a_real_callback_and_refuses_a_replay(runtime, hook):
    """The docs' verification example accepts a delivered callback and refuses it with a re-dated timestamp."""
    check = _documented_verify()
    job_id, user_id = finished_job(runtime, hook["url"])
    assert deliver_callback(runtime, job_id) is Delivery.DELIVERED
    with runtime.db.session() as session:
        secret = ensure_webhook_secret(session, user_id)
    [(body, _signature)] = hook["seen"]
    [headers] = hook["headers"]
    assert check(secret, body, headers)
    redated = {**headers, TIMESTAMP_HEADER: str(int(headers[TIMESTAMP_HEADER]) + 1)}
    assert not check(secret, body, redated)


@pytest.mark.parametrize("status", [500, 503, 429])
def test_retryable_answers_raise_retry(runtime, hook, status):
    """5xx and 429 mean "try again later"."""
    hook["status"] = status
    job_id, _ = finished_job(runtime, hook["url"])
    with pytest.raises(CallbackRetryError):
        deliver_callback(runtime, job_id)


def test_client_error_is_refused_without_retry(runtime, hook):
    """A 404 from the receiver will not change on retry: REFUSED."""
    hook["status"] = 404
    job_id, _ = finished_job(runtime, hook["url"])
    assert deliver_callback(runtime, job_id) is Delivery.REFUSED


def test_private_callback_url_is_blocked(runtime, hook, make_settings):
    """Without SCRAPER_ALLOW_PRIVATE a loopback callback_url is never contacted."""
    job_id, _ = finished_job(runtime, hook["url"])
    strict = Runtime(settings=make_settings(scraper_allow_private=False), db=runtime.db, store=runtime.store)
    assert deliver_callback(strict, job_id) is Delivery.REFUSED
    assert hook["seen"] == []


def test_unfinished_or_hookless_job_needs_nothing(runtime, hook):
    """A running job, or one without callback_url, sends nothing."""
    running, _ = finished_job(runtime, hook["url"], JobStatus.RUNNING)
    hookless, _ = finished_job(runtime, None)
    assert deliver_callback(runtime, running) is Delivery.NOT_NEEDED
    assert deliver_callback(runtime, hookless) is Delivery.NOT_NEEDED
    assert hook["seen"] == []


def test_only_a_job_with_a_callback_url_asks_for_a_delivery_task(runtime, hook):
    """The worker queues no delivery task for a job without callback_url (it would find nothing to send)."""
    hooked, _ = finished_job(runtime, hook["url"])
    hookless, _ = finished_job(runtime, None)
    assert lifecycle.has_callback(runtime.db, hooked)
    assert not lifecycle.has_callback(runtime.db, hookless)
    assert not lifecycle.has_callback(runtime.db, uuid.uuid4())


def test_backoff_grows_and_is_capped(make_settings):
    """Delays double from CALLBACK_BACKOFF_BASE and never exceed CALLBACK_BACKOFF_MAX."""
    settings = make_settings(callback_backoff_base=5.0, callback_backoff_max=30.0)
    delays = [retry_delay(settings, attempt) for attempt in range(1, 8)]
    assert 4.0 <= delays[0] <= 5.0
    assert 8.0 <= delays[1] <= 10.0
    assert all(delay <= 30.0 for delay in delays)
    assert delays[-1] >= 24.0


def test_sweep_announces_the_jobs_it_fails(runtime):
    """A job the sweep gives up on is handed to on_failed (which queues its callback); revived ones are not."""
    long_ago = utcnow() - timedelta(hours=1)
    with runtime.db.session() as session:
        hopeless = create_job(
            session,
            status=JobStatus.RUNNING,
            attempts=runtime.settings.job_max_attempts,
            heartbeat_at=long_ago,
        )
        create_job(session, status=JobStatus.RUNNING, attempts=1, heartbeat_at=long_ago)
        session.commit()
        hopeless_id = hopeless.id
    announced: list[uuid.UUID] = []

    sweep_stuck_jobs(runtime, lambda _job_id: None, on_failed=announced.append)

    assert announced == [hopeless_id]
