"""Normalize and resolve URLs found in pages (srcset attributes are parsed by worker.pipeline.extract.srcset).

Which hosts may be requested is not decided here: backend.urlguard (`check_url`, the SSRF
guard) does that for the page, every image and every callback.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from backend.urlguard import WEB_SCHEMES, normalize_url

DATA_URI_KEEP_CHARS = 100  # a data: URI is never fetched; its head is enough to name it in a skip

# Only entities closed by ";" are decoded: "&copy=1" in a query string is data, not "©=1".
_ENTITY = re.compile(r"&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_IGNORED_PREFIXES = ("javascript:", "about:", "mailto:", "tel:", "blob:", "#")
# An absolute URL that urljoin and normalize_url both give back unchanged: lower-case http(s)
# scheme and ASCII host, no port, user or fragment, a path, a non-empty query if any, and only
# characters requote_uri leaves alone. No "%" (requote_uri may rewrite an escape) and no ";"
# (urljoin drops an empty ";params"). Most URLs in pages are like this; the rest go the slow way.
_NORMAL_URL = re.compile(
    r"https?://(?:[a-z0-9-]{1,63}\.)*[a-z0-9-]{1,63}"
    r"/[A-Za-z0-9\-._~!$&'()*+,/:=@]*(?:\?[A-Za-z0-9\-._~!$&'()*+,/:=@?]+)?"
)


def clean_url_text(raw: str) -> str:
    """Strip surrounding whitespace and decode leftover HTML entities (e.g. `&amp;` in JSON-LD)."""
    text = raw.strip(" \t\n\r\f\v")
    if "&" in text:
        text = _ENTITY.sub(lambda match: html.unescape(match.group(0)), text)
    return text


def resolve_url(raw: str | None, base_url: str) -> str | None:
    """The absolute, normalized form of a URL found in a page; None when it is not an image address.

    Handles whitespace padding, leftover entities, protocol-relative (`//cdn/x.jpg`) and relative
    references. `data:` URIs come back as they are (shortened) so the caller can record them.
    """
    if not raw:
        return None
    text = clean_url_text(raw)
    joined = _join_normal(text, base_url)  # an http(s) URL: neither ignored nor data:
    if joined is not None:
        return joined
    lowered = text.lower()
    if not text or lowered.startswith(_IGNORED_PREFIXES):
        return None
    if lowered.startswith("data:"):
        return text[:DATA_URI_KEEP_CHARS]
    return _join_and_normalize(text, base_url)


def _join_normal(text: str, base_url: str) -> str | None:
    """urljoin + normalize_url for the common shapes, whose result needs no normalizing: an absolute
    URL already in normal form, a protocol-relative or root-relative one without dot segments."""
    joined = text
    if text.startswith("/") and "/." not in text:
        origin = _origin(base_url)
        if origin is None:
            return None
        joined = origin.partition("//")[0] + text if text.startswith("//") else origin + text
    return joined if _NORMAL_URL.fullmatch(joined) else None


@lru_cache(maxsize=64)
def _origin(base_url: str) -> str | None:
    """`scheme://netloc` of an http(s) base URL as urljoin writes it (scheme lower-cased), else None."""
    try:
        parts = urlsplit(base_url)
    except ValueError:  # bad IPv6 literal: the slow path decides
        return None
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in WEB_SCHEMES and parts.netloc else None


def _join_and_normalize(text: str, base_url: str) -> str | None:
    try:
        absolute = urljoin(base_url, text)
        if _NORMAL_URL.fullmatch(absolute):
            return absolute
        parts = urlsplit(absolute)
        if parts.scheme.lower() not in WEB_SCHEMES or not parts.hostname:
            return None
        return normalize_url(absolute)
    except ValueError:  # bad port, bad IPv6 literal
        return None


class PageUrls:
    """resolve_url for the references of one page, remembering each reference and each directory.

    A relative reference (`../img/p1/a.jpg`) costs a urljoin; its siblings in the same
    directory reuse it: urljoin(base, "dir/name") is urljoin(base, "dir/") + name when name
    has no "/" and is no dot segment. The joined URL must still be in normal form.
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._resolved: dict[str, str | None] = {}
        self._directories: dict[str, str | None] = {}

    def resolve(self, raw: str) -> str | None:
        if raw not in self._resolved:
            text = clean_url_text(raw)
            self._resolved[raw] = (
                _join_normal(text, self.base_url)
                or self._in_known_directory(text)
                or resolve_url(raw, self.base_url)
            )
        return self._resolved[raw]

    def _in_known_directory(self, text: str) -> str | None:
        head, slash, name = text.rpartition("/")
        if (
            not slash
            or text.startswith("/")
            or ":" in text
            or "?" in head
            or "#" in head
            or name in (".", "..")
        ):
            return None  # absolute, root- or protocol-relative (resolve_url's fast path), or unusual
        if head not in self._directories:
            try:
                self._directories[head] = urljoin(self.base_url, head + "/")
            except ValueError:  # a malformed base: resolve_url decides
                self._directories[head] = None
        directory = self._directories[head]
        joined = directory + name if directory is not None else ""
        return joined if _NORMAL_URL.fullmatch(joined) else None
