"""URL resolution, normalization, srcset parsing (worker.pipeline.extract.srcset) and the SSRF guard."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest

from backend.errors import BlockedUrlError, InvalidUrlError
from backend.urlguard import check_url, normalize_url
from worker.pipeline.extract.srcset import (
    SrcsetEntry,
    _simple_srcset,
    largest_srcset_entry,
    parse_srcset,
    parse_srcset_standard,
)
from worker.pipeline.extract.urls import PageUrls, clean_url_text, resolve_url

PAGE = "https://shop.example.com/products/mug.html"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("img/a.jpg", "https://shop.example.com/products/img/a.jpg"),
        ("/img/a.jpg", "https://shop.example.com/img/a.jpg"),
        ("../img/a.jpg", "https://shop.example.com/img/a.jpg"),
        ("//cdn.example.net/a.jpg", "https://cdn.example.net/a.jpg"),
        ("  \n/img/a.jpg\t ", "https://shop.example.com/img/a.jpg"),
        ("/a.jpg?w=1&amp;h=2", "https://shop.example.com/a.jpg?w=1&h=2"),
        ("/a.jpg?x=1&copy=2", "https://shop.example.com/a.jpg?x=1&copy=2"),
        ("/a b.jpg", "https://shop.example.com/a%20b.jpg"),
        ("/a.jpg#zoom", "https://shop.example.com/a.jpg"),
        ("HTTPS://CDN.Example.NET:443/A.jpg", "https://cdn.example.net/A.jpg"),
        ("http://cdn.example.net:8080/a.jpg", "http://cdn.example.net:8080/a.jpg"),
        (
            "https://b\u00fccher.example/\u00e4.jpg?q=\u00fc",
            "https://xn--bcher-kva.example/%C3%A4.jpg?q=%C3%BC",
        ),
        ("/a%20b.jpg", "https://shop.example.com/a%20b.jpg"),
        ("http://[2001:db8::1]:8080/a.jpg", "http://[2001:db8::1]:8080/a.jpg"),
    ],
)
def test_resolve_url_makes_absolute_normalized_urls(raw, expected):
    """Relative, protocol-relative, padded and entity-encoded references resolve against the page."""
    assert expected == resolve_url(raw, PAGE)


def test_an_image_server_query_is_written_as_a_browser_requests_it():
    """Spaces in an image server's query are percent-encoded, as a browser serializes img.src (WHATWG URL);
    brackets and commas stay. original_url is this form, not the page's spelling: a URL with a space is
    no URL a client can request, and the page's two spellings of one image stay one image."""
    spelled = "//lp.example.com/prod?set=key[source],value[/model/E00 0459 001.jpg]&call=url[file:/large]"
    expected = (
        "https://lp.example.com/prod?set=key[source],value[/model/E00%200459%20001.jpg]&call=url[file:/large]"
    )
    assert resolve_url(spelled, PAGE) == expected
    assert resolve_url(spelled.replace(" ", "%20"), PAGE) == expected


@pytest.mark.parametrize(
    "raw", ["", "   ", "#", "#top", "javascript:void(0)", "about:blank", "mailto:a@b.c", "blob:x"]
)
def test_resolve_url_ignores_non_image_references(raw):
    """Empty values, fragments and script/mail/blob URLs are not image addresses."""
    assert resolve_url(raw, PAGE) is None


def test_resolve_url_keeps_data_uris_shortened():
    """data: URIs come back (shortened) so the pipeline can record why it skipped them."""
    data_uri = "data:image/png;base64," + "A" * 500
    resolved = resolve_url(data_uri, PAGE)
    assert resolved is not None
    assert resolved.startswith("data:image/png;base64,")
    assert len(resolved) == 100


def test_resolve_url_against_base_href():
    """A <base href> (already absolute) is the base for relative references."""
    assert (
        resolve_url("a.jpg", "https://cdn.example.net/assets/p/") == "https://cdn.example.net/assets/p/a.jpg"
    )


def test_clean_url_text_only_decodes_closed_entities():
    """`&amp;` is decoded, but `&copy=` in a query is data, not an entity."""
    assert clean_url_text(" /a?x=1&amp;y=2&copy=3 ") == "/a?x=1&y=2&copy=3"


def test_normalize_url_adds_root_path_and_drops_default_port():
    """The default port and fragment disappear and an empty path becomes '/'."""
    assert normalize_url("HTTP://Example.COM:80?q=1#frag") == "http://example.com/?q=1"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a.jpg 400w, b.jpg 800w", [SrcsetEntry("a.jpg", 400), SrcsetEntry("b.jpg", 800)]),
        ("a.jpg, b.jpg 2x", [SrcsetEntry("a.jpg", density=1.0), SrcsetEntry("b.jpg", density=2.0)]),
        ("a.jpg 1.5x,b.jpg 3x", [SrcsetEntry("a.jpg", density=1.5), SrcsetEntry("b.jpg", density=3.0)]),
        (
            "/c_fill,w_400/a.jpg 400w, /c_fill,w_800/a.jpg 800w",
            [SrcsetEntry("/c_fill,w_400/a.jpg", 400), SrcsetEntry("/c_fill,w_800/a.jpg", 800)],
        ),
        ("a.jpg,, b.jpg 2x", [SrcsetEntry("a.jpg", density=1.0), SrcsetEntry("b.jpg", density=2.0)]),
        ("\n  a.jpg   100w ,\n b.jpg 200w  ", [SrcsetEntry("a.jpg", 100), SrcsetEntry("b.jpg", 200)]),
        ("a.jpg 100w 50h", [SrcsetEntry("a.jpg", 100)]),
        ("a.jpg 10q, b.jpg -2x, c.jpg 100w 2x, d.jpg 50h, e.jpg 0w", []),
        ("a.jpg 100w (min-width: 1px, x), b.jpg 200w", [SrcsetEntry("b.jpg", 200)]),
        ("", []),
    ],
)
def test_parse_srcset_follows_the_html_standard(value, expected):
    """Entries split at commas after URLs/descriptors; invalid descriptors drop their entry."""
    assert expected == parse_srcset(value)
    assert expected == parse_srcset_standard(value)


SIMPLE_SRCSETS = [
    "a.jpg 400w, b.jpg 800w",
    "a.jpg 400w,b.jpg 800w",
    "\n  a.jpg   100w ,\n b.jpg 200w  ",
    "a.jpg 1x, b.jpg 2x",
    "a.jpg 1.5x,b.jpg 3x",
    "a.jpg 01x",
    "/cdn/shop/p_360x.jpg?v=1&w=2 360w, /cdn/shop/p_720x.jpg?v=1 720w",
    "https://cdn.example.net/a(1).jpg 100w",
    "a.jpg 100w, b.jpg 2x",
    "a\u00a0b.jpg 100w",  # no-break space is not srcset whitespace: part of the URL
]
OTHER_SRCSETS = [
    "a.jpg",
    "a.jpg, b.jpg 2x",
    "a.jpg,b.jpg 2x",  # one URL with a comma in it
    "a.jpg 400w,",
    ", a.jpg 400w",
    "a.jpg 0w",
    "a.jpg 0400w",
    "a.jpg 400W",
    "a.jpg 1.x",
    "a.jpg .5x",
    "a.jpg 1e1x",
    "a.jpg 100w 50h",
    "a.jpg 100w (x), b.jpg 2x",
    "a.jpg\v100w",
    "a.jpg 400wx, b.jpg 800w",
    "/c_fill,w_400/a.jpg 400w",
    "a.jpg 100w b.jpg 200w",
    "a.jpg 100\u0663w",
    "",
]


@pytest.mark.parametrize("value", SIMPLE_SRCSETS + OTHER_SRCSETS)
def test_parse_srcset_fast_path_agrees_with_the_standard_parser(value):
    """The regex reads only the usual shape (those in SIMPLE_SRCSETS), and reads it as the parser does."""
    assert parse_srcset(value) == parse_srcset_standard(value)
    assert (_simple_srcset(value) is not None) == (value in SIMPLE_SRCSETS)


@pytest.mark.parametrize(
    ("value", "expected_url"),
    [
        ("s.jpg 400w, l.jpg 1200w, m.jpg 800w", "l.jpg"),
        ("a.jpg, b.jpg 2x, c.jpg 1.5x", "b.jpg"),
        ("only.jpg", "only.jpg"),
    ],
)
def test_largest_srcset_entry_prefers_widest_then_densest(value, expected_url):
    """The widest `w` entry wins; without widths the densest `x` entry wins."""
    entry = largest_srcset_entry(value)
    assert entry is not None
    assert expected_url == entry.url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/a",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "example.com/page",
        "http://",
        "http:///path",
        "http://example.com:99999/",
        "http://[::1/",
    ],
)
def test_check_url_rejects_malformed_or_non_web_urls(url):
    """Only well-formed http(s) URLs with a host may be fetched."""
    with pytest.raises(InvalidUrlError):
        check_url(url, allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.8.9.10:8080/",
        "http://10.0.0.5/",
        "http://172.16.3.4/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://255.255.255.255/",
        "http://[::1]/",
        "http://[::]/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
        "http://[ff02::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://[2002:7f00:1::]/",
        "http://[64:ff9b::a00:1]/",
        "http://user@example.com@127.0.0.1/",
        "http://example.com:80@10.1.2.3/",
    ],
)
def test_check_url_blocks_non_public_addresses(url):
    """Loopback, private, link-local (metadata), CGNAT, multicast, reserved and mapped addresses are refused."""
    with pytest.raises(BlockedUrlError):
        check_url(url, allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/",
        "http://LOCALHOST./admin",
        "http://api.localhost/",
        "http://metadata.google.internal/",
        "http://postgres.railway.internal:5432/",
        "http://printer.local/",
        "http://redis:6379/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://127.1/",
    ],
)
def test_check_url_blocks_internal_names(url):
    """Internal names, single-label names and numeric host spellings of loopback are refused without DNS."""
    with pytest.raises(BlockedUrlError):
        check_url(url, allow_private=False)


@pytest.mark.parametrize(
    "url", ["http://93.184.216.34/page", "https://[2606:4700:4700::1111]/x", "http://8.8.8.8:8080/a?b=c"]
)
def test_check_url_accepts_public_addresses(url):
    """Public IP literals pass (no connection is made here)."""
    assert check_url(url, allow_private=False).startswith(url.split(":")[0])


def test_check_url_with_allow_private_only_checks_shape():
    """With allow_private (tests, loopback shop site) loopback and localhost pass."""
    assert check_url(" http://127.0.0.1:8000/a ", allow_private=True) == "http://127.0.0.1:8000/a"
    assert check_url("http://localhost", allow_private=True) == "http://localhost/"


def _resolve_reference(raw: str, base_url: str) -> str | None:
    """resolve_url without its fast paths: always urljoin, then normalize_url."""
    text = clean_url_text(raw)
    lowered = text.lower()
    if not text or lowered.startswith(("javascript:", "about:", "mailto:", "tel:", "blob:", "#")):
        return None
    if lowered.startswith("data:"):
        return text[:100]
    try:
        absolute = urljoin(base_url, text)
        parts = urlsplit(absolute)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        return normalize_url(absolute)
    except ValueError:
        return None


FAST_PATH_BASES = [
    PAGE,
    "http://shop.example.com/a/b/",
    "https://cdn.example.net/assets/p/",  # a <base href>
    "HTTPS://Shop.Example.COM:443/x/y.html",
    "https://user@shop.example.com:8443/x",
    "https://shop.example.com",
    "https://shop.example.com?q=1",
    "https://shop.example.com:443/x",
    "file:///srv/page.html",
]
FAST_PATH_REFERENCES = [
    "https://cdn.example.net/files/a-b_c.jpg?v=1&w=200",
    "http://cdn.example.net/a.jpg",
    "https://cdn.example.net/a.jpg?",  # an empty query is dropped
    "https://cdn.example.net/a.jpg;",  # urljoin drops empty ;params
    "https://cdn.example.net/a.jpg;v=2",
    "https://cdn.example.net/a.jpg#zoom",
    "https://cdn.example.net/a%20b.jpg",
    "https://cdn.example.net/%41.jpg",  # an escaped unreserved character is unescaped
    "https://cdn.example.net/a%zz.jpg",
    "https://cdn.example.net",
    "https://cdn.example.net?x=1",
    "https://CDN.example.net/a.jpg",
    "https://cdn.example.NET/a.jpg",
    "HTTPS://cdn.example.net/a.jpg",
    "https://cdn.example.net./a.jpg",
    "https://cdn..example.net/a.jpg",
    "https://" + "a" * 63 + ".example/a.jpg",
    "https://" + "a" * 64 + ".example/a.jpg",
    "https://example." + "a" * 64 + "/a.jpg",
    "https://cdn.example.net:443/a.jpg",
    "https://cdn.example.net:8080/a.jpg",
    "https://u:p@cdn.example.net/a.jpg",
    "https://cdn.example.net/a/../b/./c.jpg",
    "https://cdn.example.net//a.jpg",
    "https://cdn.example.net/a b.jpg",
    "https://cdn.example.net/a\tb.jpg",
    "https://cdn.example.net/\u00e4.jpg",
    "https://cdn.example.net/[a].jpg",
    "https://cdn.example.net/a.jpg?q=a|b",
    "https://cdn.example.net/a.jpg?w=1&amp;h=2",
    "  https://cdn.example.net/a.jpg\n",
    "https:/cdn.example.net/a.jpg",
    "https:cdn.example.net/a.jpg",
    "ftp://cdn.example.net/a.jpg",
    "//cdn.example.net/a.jpg",
    "//cdn.example.net/a.jpg;",
    "//CDN.example.net:443/a.jpg",
    "//cdn.example.net",
    "///a.jpg",
    "/img/a.jpg",
    "/img/../a.jpg",
    "/img/./a.jpg",
    "/img/.",
    "/.well-known/a.jpg",
    "/a//b.jpg",
    "/",
    "/?x=1",
    "/a.jpg?",
    "/a.jpg?w=2&h=3",
    "/a;b.jpg",
    "/%41.jpg",
    "/A B.jpg",
    "/\u00e4.jpg",
    "//cdn.example.net/./a.jpg",
    "//cdn.example.net/a.jpg?",
    "img/a.jpg",
    "./img/a.jpg",
    "../../../a.jpg",
    "?v=2",
    "a.jpg#x",
]


@pytest.mark.parametrize("base_url", FAST_PATH_BASES)
def test_resolve_url_fast_paths_agree_with_urljoin_and_normalize(base_url):
    """Already-normal absolute and protocol-relative URLs skip urljoin/normalize_url with the same result."""
    for raw in FAST_PATH_REFERENCES:
        assert resolve_url(raw, base_url) == _resolve_reference(raw, base_url), (raw, base_url)


def test_resolve_url_with_a_malformed_base():
    """Only references that need the base fail with it (urljoin alone would also refuse absolute ones).

    extract never passes such a base: the page URL passed check_url, a <base href> passed resolve_url.
    """
    assert resolve_url("https://cdn.example.net/a.jpg", "http://[::1/x") == "https://cdn.example.net/a.jpg"
    assert resolve_url("/a.jpg", "http://[::1/x") is None
    assert resolve_url("//cdn.example.net/a.jpg", "http://[::1/x") is None


PAGE_RELATIVE_REFERENCES = [
    "img/a.jpg",
    "img/b.jpg?v=1&w=2",
    "img/c.jpg#zoom",
    "img/d.jpg;",
    "img/",
    "img/.",
    "img/..",
    "img/sub/../e.jpg",
    "./img/a.jpg",
    "../img/a.jpg",
    "../../../../img/a.jpg",
    "img//f.jpg",
    "img\t/g.jpg",
    "img/h i.jpg",
    "img/%41.jpg",
    "img?x=/a.jpg",
    "img#x/a.jpg",
    "a:b/c.jpg",
    "img/\u00e4.jpg",
    "&#105;mg/a.jpg",
    " img/a.jpg ",
    "a.jpg",
    "",
]


@pytest.mark.parametrize(
    "base_url", [*FAST_PATH_BASES, "https://shop.example.com/a/b/page?q=1#top", "http://[::1/x"]
)
def test_page_urls_agree_with_resolve_url(base_url):
    """PageUrls (remembered references and directories) resolves every reference as resolve_url does."""
    page = PageUrls(base_url)
    for _ in range(2):  # the second round is answered from what the first remembered
        for raw in PAGE_RELATIVE_REFERENCES + FAST_PATH_REFERENCES:
            assert page.resolve(raw) == resolve_url(raw, base_url), (raw, base_url)
