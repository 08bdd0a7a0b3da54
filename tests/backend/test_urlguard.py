"""The SSRF guard, table-driven: every address family and spelling that must be refused, and what must pass."""

from __future__ import annotations

import ipaddress

import pytest

from backend.errors import BlockedUrlError, FetchFailedError, InvalidUrlError
from backend.urlguard import check_url, ip_literal, is_public_address, vet_host

PUBLIC_V4 = "93.184.216.34"


def resolver_to(*answers: str):
    """A resolver that answers every name with `answers` (a real function, no network)."""

    def resolve(host: str) -> list[str]:
        return list(answers)

    return resolve


def no_dns(host: str) -> list[str]:
    raise AssertionError(f"{host} must be decided without a DNS lookup")


BLOCKED_LITERALS = {
    # IPv4 ranges the ipaddress module knows
    "loopback": "http://127.0.0.1/",
    "loopback-high": "http://127.255.255.254:8080/",
    "private-10": "http://10.0.0.5/",
    "private-172": "http://172.16.3.4/",
    "private-192": "http://192.168.1.1/",
    "metadata": "http://169.254.169.254/latest/meta-data/",
    "link-local": "http://169.254.1.1/",
    "cgnat": "http://100.64.0.1/",
    "cgnat-top": "http://100.127.255.254/",
    "unspecified-v4": "http://0.0.0.0/",
    "this-network": "http://0.1.2.3/",
    "multicast-v4": "http://224.0.0.1/",
    "reserved-v4": "http://240.0.0.1/",
    "broadcast": "http://255.255.255.255/",
    "benchmark": "http://198.18.0.1/",
    "documentation-v4": "http://192.0.2.1/",
    "ietf-protocol": "http://192.0.0.1/",
    # IPv6
    "loopback-v6": "http://[::1]/",
    "unspecified-v6": "http://[::]/",
    "link-local-v6": "http://[fe80::1]/",
    "link-local-v6-scoped": "http://[fe80::1%25eth0]/",
    "ula": "http://[fd00::1]/",
    "ula-fc": "http://[fc00::abcd]/",
    "multicast-v6": "http://[ff02::1]/",
    "documentation-v6": "http://[2001:db8::1]/",
    "site-local-v6": "http://[fec0::1]/",
    # IPv4 wrapped in IPv6
    "mapped-loopback": "http://[::ffff:127.0.0.1]/",
    "mapped-metadata": "http://[::ffff:169.254.169.254]/",
    "mapped-hex": "http://[::ffff:7f00:1]/",
    "compatible-loopback": "http://[::127.0.0.1]/",
    "compatible-private": "http://[::10.0.0.1]/",
    "6to4-loopback": "http://[2002:7f00:1::]/",
    "6to4-private": "http://[2002:c0a8:101::1]/",
    "6to4-metadata": "http://[2002:a9fe:a9fe::]/",
    "nat64-private": "http://[64:ff9b::a00:1]/",
    "nat64-loopback": "http://[64:ff9b::127.0.0.1]/",
    "nat64-metadata": "http://[64:ff9b::a9fe:a9fe]/",
    "nat64-local-use": "http://[64:ff9b:1::a00:1]/",
    "teredo": "http://[2001::1]/",
    # IPv4 spellings libc and browsers read as addresses
    "decimal": "http://2130706433/",
    "decimal-metadata": "http://2852039166/",
    "hex": "http://0x7f000001/",
    "hex-dotted": "http://0x7f.1/",
    "hex-each": "http://0x7f.0x0.0x0.0x1/",
    "octal": "http://017700000001/",
    "octal-dotted": "http://0177.0.0.1/",
    "short": "http://127.1/",
    "short-three": "http://10.0.1/",
    "short-private": "http://192.168.257/",
    "trailing-dot": "http://127.0.0.1./",
    # userinfo tricks: the host is what follows the last @
    "userinfo": "http://user@example.com@127.0.0.1/",
    "userinfo-port": "http://example.com:80@10.1.2.3/",
}


@pytest.mark.parametrize("url", BLOCKED_LITERALS.values(), ids=BLOCKED_LITERALS.keys())
def test_non_public_addresses_are_blocked_without_dns(url):
    """Every non-public address, in every spelling, is refused as blocked_url before any lookup."""
    with pytest.raises(BlockedUrlError):
        check_url(url, allow_private=False, resolver=no_dns)


INTERNAL_NAMES = {
    "localhost": "http://localhost/",
    "localhost-upper-dot": "http://LOCALHOST./admin",
    "localhost-sub": "http://api.localhost/",
    "localhost-localdomain": "http://localhost.localdomain/",
    "ip6-localhost": "http://ip6-localhost/",
    "railway": "http://postgres.railway.internal:5432/",
    "railway-redis": "http://redis.railway.internal/",
    "gcp-metadata": "http://metadata.google.internal/computeMetadata/v1/",
    "internal": "http://api.internal/",
    "mdns": "http://printer.local/",
    "home-arpa": "http://nas.home.arpa/",
    "lan": "http://router.lan/",
    "single-label": "http://redis:6379/",
    "single-label-metadata": "http://metadata/",
}


@pytest.mark.parametrize("url", INTERNAL_NAMES.values(), ids=INTERNAL_NAMES.keys())
def test_internal_names_are_blocked_without_dns(url):
    """Internal service names and single-label names are refused by name alone."""
    with pytest.raises(BlockedUrlError):
        check_url(url, allow_private=False, resolver=no_dns)


@pytest.mark.parametrize(
    "answers",
    [
        ("127.0.0.1",),
        ("10.1.2.3",),
        ("169.254.169.254",),
        ("100.100.100.200",),
        ("::1",),
        ("fd12:3456::1",),
        ("::ffff:192.168.0.1",),
        ("64:ff9b::7f00:1",),
        (PUBLIC_V4, "127.0.0.1"),  # one bad answer among good ones is enough
    ],
    ids=",".join,
)
def test_names_resolving_to_non_public_addresses_are_blocked(answers):
    """A public-looking name is refused if any address it resolves to is non-public."""
    with pytest.raises(BlockedUrlError, match="non-public"):
        check_url("https://shop.example.com/p/1", allow_private=False, resolver=resolver_to(*answers))


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/a",
        "file:///etc/passwd",
        "gopher://example.com:70/",
        "dict://127.0.0.1:11211/",
        "javascript:alert(1)",
        "data:text/html,<script>",
        "example.com/page",
        "http://",
        "http://example.com:0/",
        "http://example.com:99999/",
    ],
)
def test_only_http_and_https_urls_pass(url):
    """Any other scheme, or a URL without a usable host or port, is invalid_url."""
    with pytest.raises(InvalidUrlError):
        check_url(url, allow_private=False, resolver=no_dns)


@pytest.mark.parametrize(
    "url",
    [
        f"http://{PUBLIC_V4}/page",
        "https://[2606:4700:4700::1111]/x",
        "http://[::ffff:8.8.8.8]/",
        "http://[64:ff9b::808:808]/",
        "http://[2002:808:808::1]/",
        "http://0x5db8d822/",
        "http://1572395042/",
    ],
)
def test_public_addresses_pass(url):
    """Public addresses pass, including public IPv4 wrapped in IPv6 or spelled as a number."""
    assert check_url(url, allow_private=False, resolver=no_dns).startswith("http")


def test_public_names_pass_with_their_resolved_addresses():
    """A name whose every address is public passes, and vet_host returns exactly those addresses."""
    resolver = resolver_to(PUBLIC_V4, "2606:2800:220:1:248:1893:25c8:1946")
    assert check_url("https://shop.example.com/p", allow_private=False, resolver=resolver)
    assert vet_host("shop.example.com", allow_private=False, resolver=resolver) == [
        ipaddress.ip_address(PUBLIC_V4),
        ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946"),
    ]


def test_unresolvable_name_is_fetch_failed_not_blocked():
    """A name that does not resolve could not be reached: fetch_failed (retry-worthy), not blocked_url."""

    def nxdomain(host: str) -> list[str]:
        raise OSError(f"{host}: Name or service not known")

    with pytest.raises(FetchFailedError):
        check_url("https://no-such-shop.example.com/", allow_private=False, resolver=nxdomain)


def test_allow_private_lets_loopback_through():
    """SCRAPER_ALLOW_PRIVATE=true (tests, local use) accepts loopback names and addresses."""
    assert check_url("http://localhost:8000/a", allow_private=True) == "http://localhost:8000/a"
    assert vet_host("127.0.0.1", allow_private=True) == [ipaddress.ip_address("127.0.0.1")]


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("cafe.be", None),
        ("shop.example.com", None),
        ("999.1.1.1", None),
    ],
)
def test_ip_literal_reads_every_numeric_spelling(host, expected):
    """Numeric hosts are parsed the way libc reads them; names are left to the resolver."""
    literal = ip_literal(host)
    assert expected == (str(literal) if literal is not None else None)


@pytest.mark.parametrize(
    ("address", "public"),
    [("8.8.8.8", True), ("100.64.0.1", False), ("::ffff:10.0.0.1", False), ("2002:808:808::", True)],
)
def test_is_public_address_unwraps_embedded_ipv4(address, public):
    """IPv4 embedded in IPv6 is judged by the IPv4 it wraps."""
    assert public is is_public_address(ipaddress.ip_address(address))
