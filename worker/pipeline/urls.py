"""Normalize and resolve URLs found in pages (srcset included).

Which hosts may be requested is not decided here: backend.urlguard (`check_url`, the SSRF
guard) does that for the page, every image and every callback.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
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


@dataclass(frozen=True)
class SrcsetEntry:
    """One image candidate of a srcset: its URL and its width (`w`) or pixel density (`x`) descriptor."""

    url: str
    width: int | None = None
    density: float | None = None


SRCSET_SPACE = " \t\n\r\f"
_FLOAT = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def parse_srcset(value: str) -> list[SrcsetEntry]:
    """The entries of a srcset attribute, parsed as the HTML standard says; invalid entries are dropped.

    URLs may contain commas (`/c_fill,w_400/a.jpg 400w`); a comma ends an entry only after
    its URL, or after descriptors outside parentheses. The usual shape is read with a regex.
    """
    simple = _simple_srcset(value)
    return simple if simple is not None else parse_srcset_standard(value)


def parse_srcset_standard(value: str) -> list[SrcsetEntry]:
    """parse_srcset by the standard's algorithm, character by character, for any srcset."""
    entries: list[SrcsetEntry] = []
    position = 0
    while True:
        while position < len(value) and value[position] in SRCSET_SPACE + ",":
            position += 1
        if position >= len(value):
            return entries
        end = position
        while end < len(value) and value[end] not in SRCSET_SPACE:
            end += 1
        url, position = value[position:end], end
        descriptors: list[str] = []
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            descriptors, position = _srcset_descriptors(value, position)
        entry = _srcset_entry(url, descriptors)
        if entry is not None:
            entries.append(entry)


# The usual srcset: "url 400w, url 800w" or "url 1x, url 1.5x"; every URL followed by whitespace
# and one plain descriptor, so no URL can hold a comma. Anything else goes through the full parser.
_SRCSET_WS = "[ \t\n\r\f]"
_SIMPLE_SRCSET_ENTRY = rf"([^ \t\n\r\f,]+){_SRCSET_WS}+(?:([1-9][0-9]*)w|([0-9]+(?:\.[0-9]+)?)x)"
_SIMPLE_SRCSET = re.compile(
    rf"{_SRCSET_WS}*{_SIMPLE_SRCSET_ENTRY}(?:{_SRCSET_WS}*,{_SRCSET_WS}*{_SIMPLE_SRCSET_ENTRY})*{_SRCSET_WS}*"
)
_SIMPLE_SRCSET_ENTRIES = re.compile(_SIMPLE_SRCSET_ENTRY)


def _simple_srcset(value: str) -> list[SrcsetEntry] | None:
    """parse_srcset's answer for a srcset of the usual shape, read with a regex; None for any other."""
    if not _SIMPLE_SRCSET.fullmatch(value):
        return None
    return [
        SrcsetEntry(url=url, width=int(width)) if width else SrcsetEntry(url=url, density=float(density))
        for url, width, density in _SIMPLE_SRCSET_ENTRIES.findall(value)
    ]


def _srcset_descriptors(value: str, position: int) -> tuple[list[str], int]:
    tokens: list[str] = []
    current, in_parens = "", False
    while position < len(value):
        char = value[position]
        position += 1
        if in_parens:
            current += char
            in_parens = char != ")"
        elif char == ",":
            break
        elif char in SRCSET_SPACE:
            if current:
                tokens.append(current)
            current = ""
        else:
            current += char
            in_parens = char == "("
    if current:
        tokens.append(current)
    return tokens, position


def _srcset_entry(url: str, descriptors: list[str]) -> SrcsetEntry | None:
    width: int | None = None
    density: float | None = None
    height: int | None = None
    for descriptor in descriptors:
        number, kind = descriptor[:-1], descriptor[-1:].lower()
        if kind == "w" and width is None and density is None and number.isdigit() and int(number) > 0:
            width = int(number)
        elif kind == "x" and width is None and density is None and _FLOAT.fullmatch(number):
            density = float(number)
        elif kind == "h" and height is None and number.isdigit() and int(number) > 0:
            height = int(number)
        else:
            return None
    if not url or (height is not None and width is None):
        return None
    if width is None and density is None:
        density = 1.0  # the standard's default for an entry without descriptors
    return SrcsetEntry(url=url, width=width, density=density)


def largest_srcset_entry(value: str) -> SrcsetEntry | None:
    """The srcset entry meant for the largest display: widest `w`, else densest `x` (no descriptor = 1x)."""
    entries = parse_srcset(value)
    widths = [entry for entry in entries if entry.width is not None]
    if widths:
        return max(widths, key=lambda entry: entry.width or 0)
    return max(entries, key=lambda entry: entry.density or 0.0, default=None)
