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
from tests.slowserver import slow_server, trickled_header
from worker import lifecycle
from worker.callbacks import CallbackRetryError, Delivery, deliver_callback, retry_delay
from worker.sweep import sweep_stuck_jobs


@pytest.fixture
def hook() -> Iterator[dict[str, Any]]:
    """A loopback receiver answering with state['status'] and recording bodies and signatures."""
    state: dict[str, Any] = {"status": 200, "seen": [], "headers": [], "hosts": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state["seen"].append((body, self.headers.get(SIGNATURE_HEADER)))
            state["headers"].append(dict(self.headers))
            state["hosts"].append(self.headers.get("Host"))
            self.send_response(state["status"])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["port"] = server.server_address[1]
    state["url"] = f"http://127.0.0.1:{state['port']}/hook"
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


# --- the pinned, proxy-free session (issue 22 §1) --------------------------------------------

PUBLIC_V4 = "93.184.216.34"


class ScriptedResolver:
    """A resolver giving its answers in order (the last one repeats) and logging every question."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.questions: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.questions.append(host)
        return self.answers[min(len(self.questions), len(self.answers)) - 1]


def strict(runtime: Runtime, make_settings: Any, **overrides: Any) -> Runtime:
    settings = make_settings(scraper_allow_private=False, **overrides)
    return Runtime(settings=settings, db=runtime.db, store=runtime.store)


def test_callback_connects_to_the_address_its_check_vetted(runtime, hook):
    """A name only the injected resolver knows is delivered to that answer: the name is never looked up again."""
    job_id, _ = finished_job(runtime, f"http://hooks.test:{hook['port']}/hook")
    resolver = ScriptedResolver(["127.0.0.1"], ["127.0.0.2"])
    assert deliver_callback(runtime, job_id, resolver=resolver) is Delivery.DELIVERED
    # SCRAPER_ALLOW_PRIVATE (the test default) spares the check its lookup: the socket's vetting is the one.
    assert resolver.questions == ["hooks.test"]
    assert hook["hosts"] == [f"hooks.test:{hook['port']}"]


def test_rebinding_a_callback_to_loopback_is_refused_before_anything_is_sent(runtime, hook, make_settings):
    """Public at the check, loopback at connect time: refused, and the loopback receiver sees nothing."""
    job_id, _ = finished_job(runtime, f"http://hooks.example.com:{hook['port']}/hook")
    resolver = ScriptedResolver([PUBLIC_V4], ["127.0.0.1"])
    assert deliver_callback(strict(runtime, make_settings), job_id, resolver=resolver) is Delivery.REFUSED
    assert resolver.questions == ["hooks.example.com", "hooks.example.com"]
    assert hook["seen"] == []


def test_a_name_that_does_not_resolve_at_delivery_is_retried(runtime, make_settings):
    """DNS failing now may work later: the attempt asks for a retry instead of giving up."""

    def nxdomain(_host: str) -> list[str]:
        raise OSError("Name or service not known")

    job_id, _ = finished_job(runtime, "http://hooks.example.com/hook")
    with pytest.raises(CallbackRetryError):
        deliver_callback(strict(runtime, make_settings), job_id, resolver=nxdomain)


def test_http_proxy_in_the_environment_does_not_carry_callbacks(runtime, hook, monkeypatch):
    """HTTP_PROXY points at a live canary; the callback goes straight to the receiver and the canary hears nothing."""
    canary: dict[str, Any] = {"status": 200, "seen": []}

    class Canary(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            canary["seen"].append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Canary)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.server_address[1]}")
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        job_id, _ = finished_job(runtime, hook["url"])
        assert deliver_callback(runtime, job_id) is Delivery.DELIVERED
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert canary["seen"] == []
    assert len(hook["seen"]) == 1


def test_a_receiver_trickling_its_headers_is_cut_at_the_callback_timeout(runtime, make_settings):
    """The callback's one deadline covers the receiver's status line and headers: cut, then retried."""
    with slow_server(lambda _path: trickled_header(0.25, 40)) as server:
        job_id, _ = finished_job(runtime, server.url("/hook"))
        quick = Runtime(settings=make_settings(callback_timeout=0.6), db=runtime.db, store=runtime.store)
        with pytest.raises(CallbackRetryError, match="timeout"):
            deliver_callback(quick, job_id)
        assert server.finished() == [False]
