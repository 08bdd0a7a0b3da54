"""Fetch a page over HTTP with explicit limits: timeouts, a total deadline, a byte cap and checked redirects.

Limits (all from Settings):
- SCRAPER_TIMEOUT is the budget for one fetch, redirects included, on the wall clock: a
  `Deadline` (backend.urlguard.deadline) shuts the request's sockets down when it passes,
  wherever the request is (connect, TLS, status line, headers, body), so a server that
  trickles its headers or body is cut off at the budget. The connect timeout is at most
  CONNECT_TIMEOUT_CAP.
- MAX_PAGE_BYTES caps the body as it streams (decoded, so a gzip bomb is cut off too); a
  larger Content-Length is refused before anything is read.
- SCRAPER_MAX_REDIRECTS hops at most; each hop's target goes through `check_url` again,
  and every connection is pinned to the addresses it vetted (backend.urlguard.pinned).

`open_response` and `read_limited` are shared with the image downloader.
"""

from __future__ import annotations

from email.message import Message
from urllib.parse import urljoin

import requests
import urllib3.exceptions

from backend.errors import (
    FetchFailedError,
    FetchTimeoutError,
    HttpStatusError,
    NotHtmlError,
    PageTooLargeError,
)
from backend.logging import get_logger
from backend.settings import Settings
from backend.urlguard import check_url, session_resolver
from backend.urlguard.deadline import Deadline
from worker.pipeline.types import Page

logger = get_logger(__name__)

CONNECT_TIMEOUT_CAP = 10.0
NO_HTTP_ANSWER = "the server gave no HTTP answer"
READ_CHUNK_BYTES = 64 * 1024
SNIFF_BYTES = 1024
PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Types a server may send for HTML it does not label properly; the bytes decide.
AMBIGUOUS_TYPES = frozenset({"", "text/plain", "application/octet-stream", "binary/octet-stream"})
HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<meta", b"<title", b"<!--")
BINARY_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"RIFF", b"%PDF", b"PK\x03\x04", b"\x1f\x8b", b"\x00")


def fetch_page(url: str, settings: Settings, http: requests.Session) -> Page:
    """Download an HTML page; raises the JobFailedError subclass that names what went wrong."""
    url = check_url(url, settings.allows_private(url), resolver=session_resolver(http))
    with Deadline(settings.scraper_timeout) as deadline:
        response = open_response(http, url, settings, headers={"Accept": PAGE_ACCEPT}, deadline=deadline)
        try:
            if response.status_code >= 400:
                raise HttpStatusError(f"the page answered HTTP {response.status_code}")
            media_type, charset = parse_content_type(response.headers.get("Content-Type", ""))
            if media_type not in HTML_TYPES and media_type not in AMBIGUOUS_TYPES:
                raise NotHtmlError(f"the page is {media_type}, not HTML")
            body = read_limited(response, settings.max_page_bytes, deadline)
        finally:
            response.close()
    if not looks_like_html(body, declared_html=media_type in HTML_TYPES):
        raise NotHtmlError(f"the page's bytes are not HTML (declared {media_type or 'nothing'})")
    return Page(url=response.url, html=body, content_type=media_type, encoding=charset)


def open_response(
    http: requests.Session,
    url: str,
    settings: Settings,
    *,
    headers: dict[str, str],
    deadline: Deadline,
) -> requests.Response:
    """GET `url`, following redirects by hand; each hop is re-checked. The final response is left open.

    Call it inside `with deadline:`, so the deadline watches the sockets the requests use.
    """
    for _hop in range(settings.scraper_max_redirects + 1):
        response = _get(http, url, headers, deadline)
        if not response.is_redirect:
            return response
        location = http.get_redirect_target(response) or ""  # undoes servers' raw UTF-8 in Location
        response.close()
        target = urljoin(url, location)
        url = check_url(target, settings.allows_private(target), resolver=session_resolver(http))
    raise FetchFailedError(f"more than {settings.scraper_max_redirects} redirects")


def _get(http: requests.Session, url: str, headers: dict[str, str], deadline: Deadline) -> requests.Response:
    # Until a status line arrives the messages are fixed: an error naming "connection refused",
    # "reset" or a protocol error would let a caller map open and closed ports of other hosts.
    timeouts = deadline.timeouts(CONNECT_TIMEOUT_CAP)
    try:
        response = http.get(url, headers=headers, stream=True, allow_redirects=False, timeout=timeouts)
    except requests.Timeout as exc:
        logger.info("fetch.no_answer", error=type(exc).__name__)
        raise FetchTimeoutError(f"no answer within {deadline.seconds:g} s") from None
    except requests.RequestException as exc:
        logger.info("fetch.no_answer", error=type(exc).__name__)
        if deadline.expired():  # the deadline shut the socket: that is a timeout, not a broken server
            raise FetchTimeoutError(f"no answer within {deadline.seconds:g} s") from None
        raise FetchFailedError(NO_HTTP_ANSWER) from None
    if deadline.cut_off:  # http.client ends the headers at EOF, so a cut mid-header still parses
        response.close()
        raise FetchTimeoutError(f"no answer within {deadline.seconds:g} s")
    return response


def read_limited(response: requests.Response, max_bytes: int, deadline: Deadline) -> bytes:
    """The body, read in chunks and abandoned (PageTooLargeError) once it passes `max_bytes`."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise PageTooLargeError(f"the body is {declared} bytes; the limit is {max_bytes}")
    body = bytearray()
    try:
        while chunk := _read_chunk(response, deadline):
            body += chunk
            if len(body) > max_bytes:
                raise PageTooLargeError(f"the body exceeds the limit of {max_bytes} bytes")
    finally:
        response.close()
    if deadline.cut_off:  # a body without a length ends at EOF, which is also what a cut socket shows
        raise FetchTimeoutError(f"no complete response within {deadline.seconds:g} s")
    return bytes(body)


def _read_chunk(response: requests.Response, deadline: Deadline) -> bytes:
    deadline.remaining()
    try:
        # read1 returns whatever has arrived, so a trickling server cannot outlast the deadline.
        return response.raw.read1(READ_CHUNK_BYTES, decode_content=True)
    except (urllib3.exceptions.ReadTimeoutError, TimeoutError) as exc:
        raise FetchTimeoutError(f"timed out reading the body: {_short(exc)}") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        if deadline.expired():
            raise FetchTimeoutError(f"no complete response within {deadline.seconds:g} s") from None
        raise FetchFailedError(f"the connection broke while reading: {_short(exc)}") from None


def parse_content_type(header: str) -> tuple[str, str | None]:
    """(media type in lower case, charset or None) from a Content-Type header."""
    if not header.strip():
        return "", None
    message = Message()
    message["Content-Type"] = header
    charset = message.get_param("charset")
    return message.get_content_type(), charset if isinstance(charset, str) and charset else None


def looks_like_html(body: bytes, *, declared_html: bool) -> bool:
    """Sniff the first bytes: known binary magic is never HTML; otherwise trust a declared HTML type."""
    head = body[:SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(BINARY_MAGIC):
        return False
    return declared_html or any(marker in head.lower() for marker in HTML_MARKERS)


def _short(exc: BaseException) -> str:
    return str(exc)[:200]
