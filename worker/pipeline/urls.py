"""Normalize and resolve URLs found in pages (srcset included), and refuse private, loopback or metadata hosts.

`check_url` is the SSRF guard: every URL the scraper is about to request (the page, each
redirect hop, each image) goes through it, and so does a job's callback_url at submission.
A host passes only if it is a public name or address: names such as `localhost`,
`*.internal` (`*.railway.internal`), `*.local` and single-label names (which resolve through
search domains to internal services) are refused outright, and every address a name
resolves to must be globally routable. "Globally routable" is the `ipaddress` module's
judgement (`is_global` and none of loopback/private/link-local incl. 169.254.169.254/
multicast/reserved/unspecified; CGNAT 100.64/10 is not global), after unwrapping IPv4
embedded in IPv6 (mapped ::ffff:a.b.c.d, 6to4 2002::/16, NAT64 64:ff9b::/96; the deprecated
IPv4-compatible ::a.b.c.d form is reserved). Hosts that a browser or libc reads as IPv4
(`2130706433`, `0x7f.1`, `017700000001`, `127.1`) are parsed as addresses, never looked up.

`vet_host` is the same decision for a bare host name; worker.pipeline.http calls it when a
connection is opened and connects to exactly the addresses it vetted, so a second DNS
answer (rebinding) cannot move the connection elsewhere.
"""

from __future__ import annotations

import html
import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urljoin, urlsplit, urlunsplit

from requests.utils import requote_uri

from backend.errors import BlockedUrlError, FetchFailedError, InvalidUrlError

WEB_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
INTERNAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".intranet", ".lan")
NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")
DATA_URI_KEEP_CHARS = 100  # a data: URI is never fetched; its head is enough to name it in a skip

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host name -> the addresses it resolves to, as strings (socket.getaddrinfo's answer by default).
Resolver = Callable[[str], list[str]]
_NUMERIC_HOST = re.compile(r"^[0-9a-fA-Fx.]+$")

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


def normalize_url(url: str) -> str:
    """Lower-case scheme and host (IDNA-encoded), drop the default port and the fragment, percent-encode the rest.

    Raises ValueError (UnicodeError included) for a port or host name that cannot be encoded.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    host = f"[{host}]" if ":" in host else host.encode("idna").decode("ascii")
    port = parts.port
    netloc = host if port is None or port == DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    if parts.username is not None:
        netloc = f"{parts.netloc.rpartition('@')[0]}@{netloc}"
    return f"{scheme}://{netloc}" + requote_uri(urlunsplit(("", "", parts.path or "/", parts.query, "")))


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


def check_url(url: str, allow_private: bool, *, resolver: Resolver | None = None) -> str:
    """The normalized URL if it may be requested; InvalidUrlError or BlockedUrlError otherwise.

    With `allow_private` (tests, a loopback shop site) only the scheme and shape are checked.
    A name that does not resolve raises FetchFailedError (it could not be reached, not refused).
    """
    host = _checked_host(url)
    if not allow_private:
        vet_host(host, allow_private=False, resolver=resolver)
    try:
        return normalize_url(url.strip())
    except ValueError as exc:
        raise InvalidUrlError(f"malformed URL: {exc}") from None


def vet_host(host: str, *, allow_private: bool, resolver: Resolver | None = None) -> list[IpAddress]:
    """The addresses `host` may be reached at; BlockedUrlError if any of them (or the name) is internal.

    IP literals and numeric IPv4 spellings are used as they are; names go through `resolver`
    (the system resolver by default) exactly once. With `allow_private` nothing is refused.
    """
    host = host.strip("[]").rstrip(".").lower()
    literal = ip_literal(host)
    if literal is None and not allow_private and _is_internal_name(host):
        raise BlockedUrlError(f"{host} is an internal host name")
    addresses = [literal] if literal is not None else _resolve(host, resolver or system_resolver)
    if not allow_private:
        for address in addresses:
            if not is_public_address(address):
                raise BlockedUrlError(f"{host} points at a non-public address ({address})")
    return addresses


def _checked_host(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # parsing it is the check: "host:99999" or "host:x" raise ValueError
    except ValueError as exc:
        raise InvalidUrlError(f"malformed URL: {exc}") from None
    if parts.scheme.lower() not in WEB_SCHEMES:
        raise InvalidUrlError(f"only http and https URLs can be scraped, not {parts.scheme or 'no scheme'!r}")
    if not parts.hostname:
        raise InvalidUrlError("the URL has no host")
    if port == 0:
        raise InvalidUrlError("port 0 is not a valid port")
    return parts.hostname.rstrip(".").lower()


def _is_internal_name(host: str) -> bool:
    return host in INTERNAL_NAMES or host.endswith(INTERNAL_SUFFIXES) or "." not in host


def ip_literal(host: str) -> IpAddress | None:
    """The address a host spells, IPv6 or any IPv4 form libc accepts (`0x7f.1`, `2130706433`); else None."""
    bare = host.strip("[]").partition("%")[0]
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    if not _NUMERIC_HOST.match(bare):
        return None
    try:
        # The WHATWG URL parser and getaddrinfo both read these as IPv4: decimal, octal, hex, short forms.
        return ipaddress.IPv4Address(socket.inet_aton(bare))
    except OSError:
        return None


def system_resolver(host: str) -> list[str]:
    """The addresses the system resolver gives for `host` (raises OSError/UnicodeError as getaddrinfo does)."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _resolve(host: str, resolver: Resolver) -> list[IpAddress]:
    try:
        answers = resolver(host)
    except UnicodeError:
        raise InvalidUrlError(f"{host!r} is not a valid host name") from None
    except OSError as exc:
        raise FetchFailedError(f"cannot resolve {host}: {exc}") from None
    addresses = [ipaddress.ip_address(answer.partition("%")[0]) for answer in answers]
    if not addresses:
        raise FetchFailedError(f"cannot resolve {host}: no addresses")
    return addresses


def is_public_address(address: IpAddress) -> bool:
    """True if the address is globally routable (IPv4 embedded in IPv6 is judged by its IPv4)."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return is_public_address(embedded)
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)  # deprecated fec0::/10
    )


def _embedded_ipv4(address: IpAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


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
