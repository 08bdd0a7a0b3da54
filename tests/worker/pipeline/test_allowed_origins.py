"""SCRAPER_ALLOWED_ORIGINS lets the scraper reach exactly the named loopback origins, nothing beside them."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from backend.errors import BlockedUrlError, ConfigError
from backend.origins import origin_of, parse_origins
from worker.pipeline import make_http_session
from worker.pipeline.fetch import fetch_page

PAGE = b"<!DOCTYPE html><html><head><title>p</title></head><body><p>hi</p></body></html>"


class Page(BaseHTTPRequestHandler):
    """A page at every path but /away, which redirects to `target`."""

    protocol_version = "HTTP/1.1"
    target = ""

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        if self.path == "/away":
            self.send_response(302)
            self.send_header("Location", self.target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)


@contextlib.contextmanager
def page_server(target: str = "") -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (Page,), {"target": target}))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_origins_are_compared_with_their_default_ports_spelled_out():
    assert parse_origins("http://127.0.0.1:8000, HTTPS://Shop.Local/ http://[::1]:81") == (
        "http://127.0.0.1:8000",
        "https://shop.local:443",
        "http://[::1]:81",
    )
    assert origin_of("http://LOCALHOST/products/a?b=c") == "http://localhost:80"
    assert origin_of("ftp://127.0.0.1/") is None


@pytest.mark.parametrize("entry", ["http://127.0.0.1:8000/shop", "127.0.0.1:8000", "http://u@127.0.0.1:1"])
def test_an_entry_that_is_not_an_origin_stops_the_process(make_settings, entry):
    with pytest.raises(ConfigError, match="SCRAPER_ALLOWED_ORIGINS"):
        make_settings(scraper_allow_private=False, scraper_allowed_origins=entry)


def test_only_the_named_origin_is_let_through(make_settings):
    """The same host on another port, or with another scheme, stays blocked."""
    settings = make_settings(scraper_allow_private=False, scraper_allowed_origins="http://127.0.0.1:8000")
    assert settings.allows_private("http://127.0.0.1:8000/products/a")
    assert not settings.allows_private("http://127.0.0.1:8001/products/a")
    assert not settings.allows_private("https://127.0.0.1:8000/products/a")
    assert not settings.allows_private("http://localhost:8000/products/a")


def test_an_allowed_loopback_origin_is_fetched_and_its_neighbour_is_refused_with_a_hint(make_settings):
    with page_server() as allowed, page_server() as other:
        settings = make_settings(
            scraper_allow_private=False, scraper_allowed_origins=f"http://127.0.0.1:{allowed}"
        )
        with make_http_session(settings) as http:
            page = fetch_page(f"http://127.0.0.1:{allowed}/products/a", settings, http)
            with pytest.raises(BlockedUrlError) as refused:
                fetch_page(f"http://127.0.0.1:{other}/products/a", settings, http)
    assert page.html.startswith(b"<!DOCTYPE html>")
    assert "SCRAPER_ALLOWED_ORIGINS" in refused.value.message


def test_a_redirect_from_an_allowed_origin_to_another_loopback_port_is_refused(make_settings):
    with page_server() as other, page_server(target=f"http://127.0.0.1:{other}/") as allowed:
        settings = make_settings(
            scraper_allow_private=False, scraper_allowed_origins=f"http://127.0.0.1:{allowed}"
        )
        with make_http_session(settings) as http, pytest.raises(BlockedUrlError):
            fetch_page(f"http://127.0.0.1:{allowed}/away", settings, http)


def test_the_pinned_connection_itself_refuses_an_origin_not_on_the_list(make_settings):
    """Even a URL that skipped check_url cannot open a socket to a loopback port off the list."""
    with page_server() as allowed, page_server() as other:
        settings = make_settings(
            scraper_allow_private=False, scraper_allowed_origins=f"http://127.0.0.1:{allowed}"
        )
        with make_http_session(settings) as http:
            assert http.get(f"http://127.0.0.1:{allowed}/", timeout=5).status_code == 200
            with pytest.raises(BlockedUrlError):
                http.get(f"http://127.0.0.1:{other}/", timeout=5)


def test_the_blocked_message_for_metadata_addresses_has_no_hint(make_settings):
    settings = make_settings(scraper_allow_private=False)
    with make_http_session(settings) as http, pytest.raises(BlockedUrlError) as refused:
        fetch_page("http://169.254.169.254/latest/meta-data/", settings, http)
    assert "SCRAPER_ALLOWED_ORIGINS" not in refused.value.message
