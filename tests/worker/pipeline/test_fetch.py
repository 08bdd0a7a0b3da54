"""Page fetching against the loopback shop site: success, redirects, and every limit."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest

from backend.errors import (
    BlockedUrlError,
    FetchFailedError,
    FetchTimeoutError,
    HttpStatusError,
    InvalidUrlError,
    NotHtmlError,
    PageTooLargeError,
)
from tests.services import free_port
from worker.pipeline import make_http_session
from worker.pipeline.fetch import NO_HTTP_ANSWER, fetch_page, looks_like_html, parse_content_type


def test_fetch_page_returns_html_and_headers(shop_site, make_settings, http):
    """A product page comes back with its bytes, media type and charset."""
    page = fetch_page(shop_site.url("/products/basic.html"), make_settings(), http)
    assert page.url == shop_site.url("/products/basic.html")
    assert page.html == shop_site.file_bytes("/products/basic.html")
    assert (page.content_type, page.encoding) == ("text/html", "utf-8")


def test_fetch_page_follows_redirects_to_the_final_url(shop_site, make_settings, http):
    """A 302 is followed and the page's URL is the final one (relative URLs resolve against it)."""
    page = fetch_page(shop_site.url(shop_site.manifest.redirect_to_basic), make_settings(), http)
    assert page.url == shop_site.url("/products/basic.html")


def test_fetch_page_gives_up_after_max_redirects(shop_site, make_settings, http):
    """A redirect loop stops after SCRAPER_MAX_REDIRECTS hops."""
    with pytest.raises(FetchFailedError, match="more than 3 redirects"):
        fetch_page(
            shop_site.url(shop_site.manifest.redirect_loop), make_settings(scraper_max_redirects=3), http
        )


@pytest.mark.parametrize("path", ["/go/file", "/go/ftp"])
def test_every_redirect_hop_is_checked(shop_site, make_settings, http, path):
    """A redirect to a non-web scheme is refused like a submitted URL would be."""
    with pytest.raises(InvalidUrlError):
        fetch_page(shop_site.url(path), make_settings(), http)


def test_fetch_page_refuses_private_addresses_by_default(shop_site, make_settings, http):
    """Without SCRAPER_ALLOW_PRIVATE the loopback site itself is blocked before any request."""
    with pytest.raises(BlockedUrlError):
        fetch_page(shop_site.url("/products/basic.html"), make_settings(scraper_allow_private=False), http)


def test_fetch_page_rejects_invalid_urls(make_settings, http):
    """A URL that is not http(s) fails as invalid_url."""
    with pytest.raises(InvalidUrlError):
        fetch_page("gopher://example.com/", make_settings(), http)


def test_http_error_status_fails(shop_site, make_settings, http):
    """A 404 page fails with HttpStatusError naming the status."""
    with pytest.raises(HttpStatusError, match="404"):
        fetch_page(shop_site.url(shop_site.manifest.missing), make_settings(), http)


@pytest.mark.parametrize("path", ["/feed.json", "/img/basic/hero.jpg"])
def test_non_html_responses_fail(shop_site, make_settings, http, path):
    """JSON and images are not pages."""
    with pytest.raises(NotHtmlError):
        fetch_page(shop_site.url(path), make_settings(), http)


def test_declared_length_over_the_cap_is_refused_unread(shop_site, make_settings, http):
    """A Content-Length above MAX_PAGE_BYTES fails before the body is read."""
    with pytest.raises(PageTooLargeError, match="limit is 1024"):
        fetch_page(shop_site.url("/products/basic.html"), make_settings(max_page_bytes=1024), http)


def test_streamed_body_is_cut_off_at_the_cap(shop_site, make_settings, http):
    """An endless body without Content-Length is abandoned once it passes the cap."""
    started = time.monotonic()
    with pytest.raises(PageTooLargeError):
        fetch_page(shop_site.url("/endless.html"), make_settings(max_page_bytes=64 * 1024), http)
    assert time.monotonic() - started < 2


def test_trickling_server_hits_the_total_deadline(shop_site, make_settings, http):
    """A server sending a few bytes at a time cannot keep the fetch alive past SCRAPER_TIMEOUT."""
    started = time.monotonic()
    with pytest.raises(FetchTimeoutError):
        fetch_page(shop_site.url("/slow/products/basic.html"), make_settings(scraper_timeout=0.5), http)
    assert time.monotonic() - started < 2


def test_silent_server_hits_the_read_timeout(shop_site, make_settings, http):
    """A server that never answers fails with FetchTimeoutError."""
    started = time.monotonic()
    with pytest.raises(FetchTimeoutError):
        fetch_page(shop_site.url("/stall/products/basic.html"), make_settings(scraper_timeout=0.5), http)
    assert time.monotonic() - started < 2


def test_refused_connection_fails(make_settings, http):
    """Nothing listening on the port is fetch_failed."""
    with pytest.raises(FetchFailedError):
        fetch_page(f"http://127.0.0.1:{free_port()}/", make_settings(), http)


@contextlib.contextmanager
def _tcp_server(answer: bytes | None) -> Iterator[int]:
    """A real listening socket that writes `answer` and closes each connection (None: reset it at once)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            if answer is None:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                conn.recv(4096)
                conn.sendall(answer)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        listener.close()


def test_errors_do_not_tell_open_ports_from_closed_ones(make_settings, http):
    """A closed port, an open one speaking SSH, and one resetting the connection fail with one message."""
    settings = make_settings(scraper_timeout=2.0)
    messages = set()
    with _tcp_server(b"SSH-2.0-OpenSSH_9.6\r\n") as ssh, _tcp_server(None) as resetter:
        for port in (free_port(), ssh, resetter):
            with pytest.raises(FetchFailedError) as failure:
                fetch_page(f"http://127.0.0.1:{port}/", settings, http)
            messages.add(failure.value.message)
    assert messages == {NO_HTTP_ANSWER}


def test_session_sends_the_configured_user_agent(shop_site, make_settings):
    """make_http_session sets SCRAPER_USER_AGENT on every request."""
    session = make_http_session(make_settings(scraper_user_agent="TestBot/9"))
    with session:
        headers = json.loads(session.get(shop_site.url("/headers.json"), timeout=5).content)
    assert headers["User-Agent"] == "TestBot/9"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("text/html; charset=UTF-8", ("text/html", "UTF-8")),
        ('Text/HTML;Charset="iso-8859-1"', ("text/html", "iso-8859-1")),
        ("application/xhtml+xml", ("application/xhtml+xml", None)),
        ("", ("", None)),
    ],
)
def test_parse_content_type(header, expected):
    """Media type and charset come out of a Content-Type header, case-insensitively."""
    assert parse_content_type(header) == expected


@pytest.mark.parametrize(
    ("body", "declared_html", "expected"),
    [
        (b"<!DOCTYPE html><html>", False, True),
        (b"\xef\xbb\xbf  <html lang=en>", False, True),
        (b"just some words", False, False),
        (b"just some words", True, True),
        (b"\x89PNG\r\n\x1a\n....", True, False),
        (b"%PDF-1.7", True, False),
    ],
)
def test_looks_like_html_sniffs_bytes(body, declared_html, expected):
    """Binary magic is never HTML; undeclared bytes need an HTML marker."""
    assert looks_like_html(body, declared_html=declared_html) is expected
