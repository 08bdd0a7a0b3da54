"""Refuse private, loopback or metadata hosts: the SSRF guard every outbound URL goes through.

`check_url` is the guard: every URL the scraper is about to request (the page, each
redirect hop, each image) goes through it, and so does a job's callback_url at submission
and at delivery.
A host passes only if it is a public name or address: names such as `localhost`,
`*.internal` (`*.railway.internal`), `*.local` and single-label names (which resolve through
search domains to internal services) are refused outright, and every address a name
resolves to must be globally routable. "Globally routable" is the `ipaddress` module's
judgement (`is_global` and none of loopback/private/link-local incl. 169.254.169.254/
multicast/reserved/unspecified; CGNAT 100.64/10 is not global), after unwrapping IPv4
embedded in IPv6 (mapped ::ffff:a.b.c.d, 6to4 2002::/16, NAT64 64:ff9b::/96; the deprecated
IPv4-compatible ::a.b.c.d form is reserved). Hosts that a browser or libc reads as IPv4
(`2130706433`, `0x7f.1`, `017700000001`, `127.1`) are parsed as addresses, never looked up.

`vet_host` is the same decision for a bare host name; backend.urlguard.pinned calls it when a
connection is opened and connects to exactly the addresses it vetted, so a second DNS
answer (rebinding) cannot move the connection elsewhere.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from requests.utils import requote_uri

from backend.errors import BlockedUrlError, FetchFailedError, InvalidUrlError

WEB_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
INTERNAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
OWN_SITE_HINT = (
    "to scrape a site of your own on this machine or network, "
    "name its origin in SCRAPER_ALLOWED_ORIGINS (e.g. http://127.0.0.1:8000)"
)
INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".intranet", ".lan")
NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host name -> the addresses it resolves to, as strings (socket.getaddrinfo's answer by default).
Resolver = Callable[[str], list[str]]
_NUMERIC_HOST = re.compile(r"^[0-9a-fA-Fx.]+$")


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
        raise BlockedUrlError(f"{host} is an internal host name; {OWN_SITE_HINT}")
    addresses = [literal] if literal is not None else _resolve(host, resolver or system_resolver)
    if not allow_private:
        for address in addresses:
            if not is_public_address(address):
                hint = f"; {OWN_SITE_HINT}" if _is_local_network(address) else ""
                raise BlockedUrlError(f"{host} points at a non-public address ({address}){hint}")
    return addresses


def _is_local_network(address: IpAddress) -> bool:
    # Where a site of the user's own would be; link-local (cloud metadata) gets no hint.
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return _is_local_network(embedded)
    return address.is_loopback or (address.is_private and not address.is_link_local)


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
