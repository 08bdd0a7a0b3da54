"""Connections are pinned to the address the SSRF guard vetted: DNS rebinding cannot move them.

The resolver is injected as a plain function (no DNS server is needed): names such as
`shop.test` resolve to the loopback servers started here, and a "rebinding" resolver
answers a public address first and loopback afterwards.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from backend.errors import BlockedUrlError, FetchFailedError, ImageRejectedError
from backend.models import Job, JobStatus
from backend.runtime import Runtime
from backend.urlguard import PinnedAdapter
from tests.factories import create_job
from worker.pipeline import make_http_session
from worker.pipeline.download import download_image
from worker.pipeline.fetch import fetch_page
from worker.pipeline.types import Candidate
from worker.runner import Outcome, execute_job

PUBLIC_V4 = "93.184.216.34"
PAGE = b"<!DOCTYPE html><html><head><title>p</title></head><body><p>hi</p></body></html>"


class Recorder(BaseHTTPRequestHandler):
    """Answers every GET with a small page and records the Host header it was sent."""

    protocol_version = "HTTP/1.1"
    seen: list[str]

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Host", ""))
        body = json.dumps({"host": self.headers.get("Host")}).encode() if self.path == "/host" else PAGE
        self.send_response(200)
        self.send_header("Content-Type", "application/json" if self.path == "/host" else "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextlib.contextmanager
def recording_server(tls: ssl.SSLContext | None = None) -> Iterator[tuple[int, list[str]]]:
    seen: list[str] = []
    handler = type("Handler", (Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class ScriptedResolver:
    """A resolver (a real function object) that gives its answers in order and logs every question."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.questions: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.questions.append(host)
        return self.answers[min(len(self.questions), len(self.answers)) - 1]


@pytest.fixture
def server() -> Iterator[tuple[int, list[str]]]:
    with recording_server() as running:
        yield running


def test_connection_goes_to_the_resolved_address_with_the_original_host_header(server, make_settings):
    """A name resolved by the injected resolver reaches the loopback server, Host header unchanged."""
    port, seen = server
    resolver = ScriptedResolver(["127.0.0.1"])
    with make_http_session(make_settings(scraper_allow_private=True), resolver=resolver) as http:
        answer = http.get(f"http://shop.test:{port}/host", timeout=5).json()
    assert answer == {"host": f"shop.test:{port}"}
    assert seen == [f"shop.test:{port}"]
    assert resolver.questions == ["shop.test"]


def test_rebinding_to_loopback_after_the_check_is_refused_and_touches_nothing(server, make_settings):
    """Check sees a public address, the connection sees 127.0.0.1: blocked_url, no request sent."""
    port, seen = server
    resolver = ScriptedResolver([PUBLIC_V4], ["127.0.0.1"])
    settings = make_settings(scraper_allow_private=False)
    with (
        make_http_session(settings, resolver=resolver) as http,
        pytest.raises(BlockedUrlError, match=r"127\.0\.0\.1"),
    ):
        fetch_page(f"http://shop.example.com:{port}/", settings, http)
    assert resolver.questions == ["shop.example.com", "shop.example.com"]
    assert seen == []


def test_rebinding_on_an_image_download_fails_that_image_as_blocked(server, make_settings):
    """Image downloads use the same pinned session: a rebound image host is blocked_url."""
    port, seen = server
    resolver = ScriptedResolver([PUBLIC_V4], ["10.0.0.7"])
    settings = make_settings(scraper_allow_private=False)
    candidate = Candidate(url=f"http://cdn.example.com:{port}/a.jpg", source="img", position=0)
    with (
        make_http_session(settings, resolver=resolver) as http,
        pytest.raises(ImageRejectedError) as caught,
    ):
        download_image(candidate, settings, http, referer="")
    assert (caught.value.reason, caught.value.failed) == ("blocked_url", True)
    assert seen == []


def test_a_later_answer_cannot_move_an_open_connection(server, make_settings):
    """The resolver is asked once per connection; later answers do not redirect the kept-alive one."""
    port, seen = server
    resolver = ScriptedResolver(["127.0.0.1"], ["127.0.0.2"])
    with make_http_session(make_settings(scraper_allow_private=True), resolver=resolver) as http:
        for _ in range(3):
            assert http.get(f"http://shop.test:{port}/", timeout=5).status_code == 200
    assert resolver.questions == ["shop.test"]
    assert len(seen) == 3


def test_connection_never_falls_back_to_the_system_resolver(server, make_settings):
    """A name only the injected resolver knows works, so no second (system) lookup happens."""
    port, _seen = server
    resolver = ScriptedResolver(["127.0.0.1"])
    settings = make_settings(scraper_allow_private=True)
    with make_http_session(settings, resolver=resolver) as http:
        page = fetch_page(f"http://only-our-resolver-knows.invalid:{port}/", settings, http)
    assert page.html == PAGE


def test_unresolvable_name_at_connect_is_fetch_failed(make_settings):
    """A resolver failure when connecting becomes fetch_failed, not a crash."""

    def nxdomain(host: str) -> list[str]:
        raise OSError("Name or service not known")

    settings = make_settings(scraper_allow_private=True)
    with make_http_session(settings, resolver=nxdomain) as http, pytest.raises(FetchFailedError):
        fetch_page("http://gone.test/", settings, http)


def test_page_and_image_requests_share_the_pinned_adapter(make_settings):
    """make_http_session mounts the pinned adapter for both schemes."""
    with make_http_session(make_settings()) as http:
        assert isinstance(http.get_adapter("http://a.example/"), PinnedAdapter)
        assert isinstance(http.get_adapter("https://a.example/"), PinnedAdapter)
        assert http.trust_env is False


def test_proxies_are_refused(make_settings):
    """A proxy would connect to an address nobody vetted, so the adapter refuses to use one."""
    with make_http_session(make_settings()) as http, pytest.raises(FetchFailedError, match="prox"):
        http.get("http://shop.test/", proxies={"http": "http://127.0.0.1:9"}, timeout=2)


# --- TLS: SNI and certificate checks still use the original host name ----------------------


def _self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path, list[str]]]:
    cert, key = _self_signed(tmp_path, "shop.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    sni: list[str] = []
    context.sni_callback = lambda _sock, name, _ctx: sni.append(name or "")  # type: ignore[assignment]
    with recording_server(context) as (port, _seen):
        yield port, cert, sni


def test_https_keeps_sni_and_certificate_checks_on_the_host_name(tls_server, make_settings):
    """The socket goes to 127.0.0.1, but SNI says shop.test and the certificate is checked for it."""
    port, cert, sni = tls_server
    resolver = ScriptedResolver(["127.0.0.1"])
    with make_http_session(make_settings(scraper_allow_private=True), resolver=resolver) as http:
        answer = http.get(f"https://shop.test:{port}/host", timeout=5, verify=str(cert)).json()
    assert answer == {"host": f"shop.test:{port}"}
    assert sni == ["shop.test"]


def test_https_to_the_same_address_under_another_name_fails_verification(tls_server, make_settings):
    """Pinning does not weaken TLS: a certificate for shop.test does not pass for evil.test."""
    port, cert, _sni = tls_server
    resolver = ScriptedResolver(["127.0.0.1"])
    with (
        make_http_session(make_settings(scraper_allow_private=True), resolver=resolver) as http,
        pytest.raises(requests.exceptions.SSLError),
    ):
        http.get(f"https://evil.test:{port}/host", timeout=5, verify=str(cert))


def test_vetted_address_list_is_what_the_socket_connects_to(server, make_settings):
    """With several answers the socket tries them in order; a dead first address falls through to the next."""
    port, seen = server
    dead = str(ipaddress.ip_address("127.0.0.1") + 2)  # loopback, nothing listens there
    resolver = ScriptedResolver([dead, "127.0.0.1"])
    with make_http_session(make_settings(scraper_allow_private=True), resolver=resolver) as http:
        assert http.get(f"http://shop.test:{port}/", timeout=5).status_code == 200
    assert len(seen) == 1


# --- through execute_job: a refused URL fails the job with blocked_url and touches nothing -------


def _job_for(runtime, url: str):
    with runtime.db.session() as session:
        job = create_job(session, url=url)
        session.commit()
        return job.id


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/meta-data/", "http://0x7f.1/", "http://redis.railway.internal/"]
)
def test_job_for_a_blocked_url_fails_with_blocked_url(runtime, url):
    """A job whose page is internal ends failed with code blocked_url."""

    settings = runtime.settings.model_copy(update={"scraper_allow_private": False})
    job_id = _job_for(runtime, url)
    outcome = execute_job(Runtime(settings=settings, db=runtime.db, store=runtime.store), job_id)
    assert outcome == Outcome.FAILED
    with runtime.db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert (job.status, job.error_code) == (JobStatus.FAILED, "blocked_url")


def test_rebinding_job_fails_blocked_url_and_the_server_sees_nothing(runtime, server):
    """A name that answers public, then loopback, fails the job with blocked_url before any request."""

    port, seen = server
    settings = runtime.settings.model_copy(update={"scraper_allow_private": False})
    job_id = _job_for(runtime, f"http://shop.example.com:{port}/")
    resolver = ScriptedResolver([PUBLIC_V4], ["127.0.0.1"])
    with make_http_session(settings, resolver=resolver) as http:
        outcome = execute_job(
            Runtime(settings=settings, db=runtime.db, store=runtime.store), job_id, http=http
        )
    assert outcome == Outcome.FAILED
    with runtime.db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert job.error_code == "blocked_url"
    assert seen == []
