"""Web origins (`scheme://host:port`): the one spelling SCRAPER_ALLOWED_ORIGINS and the SSRF guard compare.

An allowed origin lets the scraper reach a loopback or private address, but only at that
exact scheme, host and port (the dev server's demo shop, a site of your own on this
machine); every other URL still goes through the full guard.
"""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(scheme: str, host: str, port: int | None) -> str:
    host = host.rstrip(".").lower()
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    return f"{scheme}://{host}:{port or DEFAULT_PORTS[scheme]}"


def origin_of(url: str) -> str | None:
    """`url`'s origin with its port spelled out, or None if the URL has no http(s) origin."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return _origin(scheme, parts.hostname, port)


def connection_origin(scheme: str, host: str, port: int | None) -> str:
    """The origin of a connection about to open (urllib3 gives scheme, host and port apart)."""
    return _origin(scheme, host.strip("[]"), port)


def parse_origin(text: str) -> str:
    """One allow-list entry, normalized; ValueError unless it is exactly scheme://host[:port]."""
    origin = origin_of(text)
    parts = urlsplit(text.strip())
    if origin is None or parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{text!r} is not an origin such as http://127.0.0.1:8000")
    return origin


def parse_origins(text: str) -> tuple[str, ...]:
    """A comma- or space-separated list of origins, normalized, in order, without repeats."""
    entries = text.replace(",", " ").split()
    return tuple(dict.fromkeys(parse_origin(entry) for entry in entries))
