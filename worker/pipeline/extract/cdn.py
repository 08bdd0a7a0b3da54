"""Recognise image-CDN URLs that ask for a resized copy, and build the URL of the largest one.

`largest_variant(url)` returns the URL without its size request, or None when the URL is not a
known resized variant. Each rule is keyed on a host or path shape so that ordinary URLs are left
alone; image proxies that wrap another URL are unwrapped first. The extractor keeps the original
URL beside the upgraded one, so a failed upgrade costs nothing. The CDNs and proxies recognised
are listed in docs/scoring.md §0 ("CDN size variants").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import SplitResult, parse_qs, parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

SCENE7_WIDTH = 2000
SQUARESPACE_WIDTH = 2500  # the largest `format=<n>w` Squarespace's image service renders
EBAY_SIDE = 1600  # the largest `s-l<n>` eBay serves
HOMEDEPOT_SIDE = 1000  # the largest of Home Depot's fixed sizes
ZARA_WIDTH_PX = 1920
DEMANDWARE_PARAMS = frozenset({"sw", "sh", "sm", "sfrm", "q"})
SHOPIFY_SIZE = re.compile(
    r"_(?:\d+x\d*|x\d+|pico|icon|thumb|small|compact|medium|large|grande|master|\d+x)"
    r"(?:_crop_[a-z]+)?(?:@\d+x)?(?=\.[a-z0-9]+$)",
    re.IGNORECASE,
)
WORDPRESS_SIZE = re.compile(r"-\d{2,4}x\d{2,4}(?=\.(?:jpe?g|png|webp|gif)$)", re.IGNORECASE)
AMAZON_SIZE = re.compile(r"\._[A-Z0-9_,.\-]+_(?=\.(?:jpe?g|png|webp|gif)$)", re.IGNORECASE)
MAGENTO_CACHE = re.compile(r"/media/catalog/product/cache/[0-9a-f]{8,}/(?:\d+x\d*/)?", re.IGNORECASE)
STENCIL_SIZE = re.compile(r"(/images/stencil/)(?:\d+x\d+|\{:size\}|\d+w)(/)", re.IGNORECASE)
PRESTASHOP_TYPE = re.compile(r"(/img/p/(?:\d/)+\d+)-[a-z_]+_default(?=\.(?:jpe?g|png|webp)$)", re.IGNORECASE)
CLOUDINARY_TRANSFORM = re.compile(r"(/image/upload/)(?:[a-z]{1,3}_[^/]*,?)+/", re.IGNORECASE)
WIX_TRANSFORM = re.compile(r"(/media/[^/]+)/v1/(?:fill|fit|crop)/.*$", re.IGNORECASE)
SQUARESPACE_FORMAT = re.compile(r"(?<![^&])format=\d+w(?=&|$)")
EBAY_SIZE = re.compile(r"(/images/g/[^/]+/s-l)\d+(?=\.(?:jpe?g|png|webp|gif)$)", re.IGNORECASE)
ETSY_SIZE = re.compile(r"/il_\d+x(?:\d+|N)\.", re.IGNORECASE)
ALIEXPRESS_SUFFIX = re.compile(r"(/kf/[^/]+?\.(?:jpe?g|png|webp))_[^/]+$", re.IGNORECASE)
VTEX_SIZE = re.compile(r"(/arquivos/ids/\d+)-(?:\d+|auto)-(?:\d+|auto)(?=/)", re.IGNORECASE)
IMAGEKIT_TRANSFORM = re.compile(r"/tr:[^/]*")
STORYBLOK_TRANSFORM = re.compile(r"(\.(?:jpe?g|png|webp|gif))/m/.*$", re.IGNORECASE)
SHOPWARE_THUMBNAIL = re.compile(
    r"^/thumbnail/((?:[0-9a-f]{2}/){3}\d+/[^/]+)_\d+x\d+(\.[a-z0-9]+)$", re.IGNORECASE
)
OPENCART_CACHE = re.compile(r"(/image/)cache/(.+)-\d{2,4}x\d{2,4}(?=\.(?:jpe?g|png|gif)$)", re.IGNORECASE)
WEBFLOW_RESPONSIVE = re.compile(
    r"-p-\d{2,4}(?:x\d{2,4})?(?:q\d{1,3})?(?=\.(?:jpe?g|png|webp|gif)$)", re.IGNORECASE
)
MAGENTO1_CACHE = re.compile(
    r"/media/catalog/product/cache/\d+/[a-z_]+/(?:\d+x\d*/)?[0-9a-f]{32}/", re.IGNORECASE
)
BESTBUY_PARAMS = re.compile(r"(\.(?:jpe?g|png|webp|gif));.*$", re.IGNORECASE)
HOMEDEPOT_SIZE = re.compile(r"_(?:65|100|145|300|400|600)(?=\.(?:jpe?g|webp)$)", re.IGNORECASE)
ZARA_WIDTH = re.compile(r"/w/\d+/")
SHEIN_THUMBNAIL = re.compile(r"_thumbnail_\d+x\d*(?=\.[a-z0-9]+$)", re.IGNORECASE)
IPX_MODIFIERS = re.compile(r"(/_ipx/)(?!_/)[^/]+/")
CLOUDFLARE_OPTIONS = re.compile(r"/cdn-cgi/image/[^/]+/(.+)$")
SANITY_PARAMS = frozenset({"w", "h", "fit", "crop", "rect", "dpr", "q", "max-w", "max-h", "min-w", "min-h"})
IMGIX_PARAMS = SANITY_PARAMS | {"ar"}
CONTENTFUL_PARAMS = frozenset({"w", "h", "fit", "f", "r", "q", "fm", "fl"})
FASTLY_IO_PARAMS = frozenset({"width", "height", "fit", "crop", "quality", "auto", "format", "dpr", "canvas"})
WALMART_PARAMS = frozenset({"odnHeight", "odnWidth", "odnBg", "odnDynImageQuality"})
# Akamai Image Manager, on any host: `imwidth` asks for a derivative of that width.
AKAMAI_WIDTH = "imwidth="
AKAMAI_IM_PARAMS = frozenset({"imwidth", "imheight", "imdensity"})


Upgrade = Callable[[SplitResult], SplitResult]


def largest_variant(url: str) -> str | None:
    """The URL of the largest copy this CDN URL is a resized variant of, or None."""
    return _largest(url, unwrap=True)


def _largest(url: str, *, unwrap: bool) -> str | None:
    if not CDN_MARKERS.search(url):
        return None
    parts = urlsplit(url)
    where = parts.netloc.lower() + parts.path
    for marker, source_of in PROXY_MARKER_RULES:  # before the CDNs: the wrapped URL can hold their markers
        if marker in where:
            return _unwrapped(url, source_of(parts)) if unwrap else None
    upgrade = next((upgrade for marker, upgrade in MARKER_RULES if marker in where), None)
    if upgrade is None and AKAMAI_WIDTH in parts.query:  # no host or path rule: any host's Akamai query
        upgrade = _akamai
    if upgrade is None:
        return None
    upgraded = urlunsplit(upgrade(parts))
    return upgraded if upgraded != url else None


def _unwrapped(url: str, source: SplitResult | None) -> str | None:
    """The URL a proxy serves, itself upsized where it is a CDN variant (no proxy in a proxy); None if none."""
    if source is None or source.scheme not in ("http", "https") or not source.netloc:
        return None
    inner = urlunsplit(source)
    inner = _largest(inner, unwrap=False) or inner
    return inner if inner != url else None


def _drop_query(
    parts: SplitResult, names: frozenset[str], extra: dict[str, str] | None = None
) -> SplitResult:
    """The query without `names`; `extra` is added when something was dropped."""
    if not parts.query:  # nothing to drop, nothing to add
        return parts
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = [(key, value) for key, value in pairs if key not in names]
    if len(query) == len(pairs):  # re-encoding alone would make a new URL for the same copy
        return parts
    if extra:
        query += list(extra.items())
    return parts._replace(query=urlencode(query))


def _sub_path(pattern: re.Pattern[str], replacement: str) -> Upgrade:
    def upgrade(parts: SplitResult) -> SplitResult:
        return parts._replace(path=pattern.sub(replacement, parts.path, count=1))

    return upgrade


_shopify_path = _sub_path(SHOPIFY_SIZE, "")


def _shopify(parts: SplitResult) -> SplitResult:
    return _shopify_path(_drop_query(parts, frozenset({"width", "height", "crop"})))


def _scene7(parts: SplitResult) -> SplitResult:
    return _drop_query(parts, frozenset({"wid", "hei", "fit", "scl", "size"}), {"wid": str(SCENE7_WIDTH)})


def _magento(parts: SplitResult) -> SplitResult:
    """Magento 2's cache segment (/cache/<hash>/), else Magento 1's (/cache/<store>/<type>/<size>/<hash>/);
    and the resize query of Fastly's image optimizer (Magento Cloud, PWA Studio: ?width=640&fit=cover)."""
    path = MAGENTO_CACHE.sub("/media/catalog/product/", parts.path, count=1)
    if path == parts.path:
        path = MAGENTO1_CACHE.sub("/media/catalog/product/", parts.path, count=1)
    return _drop_query(parts._replace(path=path), FASTLY_IO_PARAMS)


def _squarespace(parts: SplitResult) -> SplitResult:
    return parts._replace(query=SQUARESPACE_FORMAT.sub(f"format={SQUARESPACE_WIDTH}w", parts.query, count=1))


def _imagekit(parts: SplitResult) -> SplitResult:
    return _drop_query(parts._replace(path=IMAGEKIT_TRANSFORM.sub("", parts.path)), frozenset({"tr"}))


def _next_image(parts: SplitResult) -> SplitResult | None:
    """Next.js's optimizer serves `?url=` (a path on the same site or a whole URL) resized to `w`."""
    source = parse_qs(parts.query).get("url")
    return urlsplit(urljoin(urlunsplit(parts), source[0])) if source else None


def _cloudflare(parts: SplitResult) -> SplitResult | None:
    """Cloudflare's /cdn-cgi/image/<options>/<source>: the source is a whole URL or a path on this host."""
    match = CLOUDFLARE_OPTIONS.search(parts.path)
    if match is None:
        return None
    source = match.group(1)
    if source.startswith(("http://", "https://")):
        return urlsplit(source + (f"?{parts.query}" if parts.query else ""))
    return parts._replace(path="/" + source.lstrip("/"))


def _akamai(parts: SplitResult) -> SplitResult:
    return _drop_query(parts, AKAMAI_IM_PARAMS)


def _ipx(parts: SplitResult) -> SplitResult:
    return parts._replace(path=IPX_MODIFIERS.sub(r"\1_/", parts.path, count=1))


# Proxies: (markers; the URL they wrap, or None), tried before RULES. Cloudflare's comes first:
# its path can hold a whole other URL, a Next.js one included, while Next.js's is only /_next/image.
SourceOf = Callable[[SplitResult], SplitResult | None]
PROXY_RULES: tuple[tuple[tuple[str, ...], SourceOf], ...] = (
    (("/cdn-cgi/image/",), _cloudflare),
    (("/_next/image",), _next_image),
)
# (markers, any of which in "host/path" identifies the CDN; the upgrade)
RULES: tuple[tuple[tuple[str, ...], Upgrade], ...] = (
    (("/_ipx/",), _ipx),
    (("cdn.shopify.com/", "/cdn/shop/"), _shopify),
    (("/is/image/",), _scene7),
    (("/dw/image/", "demandware.static"), lambda parts: _drop_query(parts, DEMANDWARE_PARAMS)),
    (("/media/catalog/product/",), _magento),
    (("/wp-content/uploads/",), _sub_path(WORDPRESS_SIZE, "")),
    (("/images/I/",), _sub_path(AMAZON_SIZE, "")),
    (("/images/stencil/",), _sub_path(STENCIL_SIZE, r"\1original\2")),
    (("/image/upload/",), _sub_path(CLOUDINARY_TRANSFORM, r"\1")),
    (("/img/p/",), _sub_path(PRESTASHOP_TYPE, r"\1")),
    ((".imgix.net/",), lambda parts: _drop_query(parts, IMGIX_PARAMS)),
    (("cdn.sanity.io/images/",), lambda parts: _drop_query(parts, SANITY_PARAMS)),
    (("images.ctfassets.net/",), lambda parts: _drop_query(parts, CONTENTFUL_PARAMS)),
    (("/v1/fill/", "/v1/fit/", "/v1/crop/"), _sub_path(WIX_TRANSFORM, r"\1")),
    (("squarespace-cdn.com/", "/content/v1/"), _squarespace),
    (("/images/g/",), _sub_path(EBAY_SIZE, rf"\g<1>{EBAY_SIDE}")),
    (("/il_",), _sub_path(ETSY_SIZE, "/il_fullxfull.")),
    (("/kf/",), _sub_path(ALIEXPRESS_SUFFIX, r"\1")),
    (("/arquivos/ids/",), _sub_path(VTEX_SIZE, r"\1")),
    (("walmartimages.com/",), lambda parts: _drop_query(parts, WALMART_PARAMS)),
    (("ik.imagekit.io/",), _imagekit),
    (("a.storyblok.com/",), _sub_path(STORYBLOK_TRANSFORM, r"\1")),
    (("/thumbnail/",), _sub_path(SHOPWARE_THUMBNAIL, r"/media/\1\2")),
    (("bbystatic.com/",), _sub_path(BESTBUY_PARAMS, r"\1")),
    (("thdstatic.com/",), _sub_path(HOMEDEPOT_SIZE, f"_{HOMEDEPOT_SIDE}")),
    (("static.zara.net/photos/",), _sub_path(ZARA_WIDTH, f"/w/{ZARA_WIDTH_PX}/")),
    (("ltwebstatic.com/",), _sub_path(SHEIN_THUMBNAIL, "")),
    (("thumbnail.image.rakuten.co.jp/",), lambda parts: _drop_query(parts, frozenset({"_ex"}))),
    (("/image/cache/",), _sub_path(OPENCART_CACHE, r"\1\2")),
    (("website-files.com/", "uploads-ssl.webflow.com/"), _sub_path(WEBFLOW_RESPONSIVE, "")),
)
# Flat, in RULES order: the first marker found picks the same rule as "the first rule with any marker".
MARKER_RULES = tuple((marker, upgrade) for markers, upgrade in RULES for marker in markers)
PROXY_MARKER_RULES = tuple((marker, source_of) for markers, source_of in PROXY_RULES for marker in markers)
_MARKERS = [marker for marker, _rule in (*PROXY_MARKER_RULES, *MARKER_RULES)]
# The markers that start with "/" share it, so the regex engine skips ahead to each "/".
CDN_MARKERS = re.compile(
    "|".join(
        [
            "/(?:" + "|".join(re.escape(marker[1:]) for marker in _MARKERS if marker.startswith("/")) + ")",
            *(re.escape(marker) for marker in _MARKERS if not marker.startswith("/")),
            re.escape(AKAMAI_WIDTH),
        ]
    )
)
