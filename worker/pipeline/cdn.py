"""Recognise image-CDN URLs that ask for a resized copy, and build the URL of the largest one.

`largest_variant(url)` returns the URL without its size request, or None when the URL is
not a known resized variant. The extractor keeps the original URL as a candidate beside
the upgraded one: if the upgrade fails (404, refused), the original still stands, and if
both load, de-duplication keeps the larger. Rules, each keyed on a host or path shape so
that ordinary URLs are left alone:

- Shopify (`cdn.shopify.com`, `/cdn/shop/`): file-name size suffixes (`_100x`, `_x800`,
  `_200x200`, `_grande`, `_medium`, `@2x`, `_crop_center`) and `width`/`height`/`crop` query.
- Scene7 (`/is/image/`): `wid`/`hei`/`fit`/`scl` query → `wid=SCENE7_WIDTH`.
- Salesforce Commerce / Demandware (`/dw/image/`, `demandware.static`): `sw`/`sh`/`sm`/`sfrm`.
- Magento (`/media/catalog/product/cache/<hash>/`): the cache segment.
- WordPress/WooCommerce (`/wp-content/uploads/`): `-150x150` before the extension.
- Amazon (`/images/I/`): `._AC_SX300_.` style size tokens.
- BigCommerce (`/images/stencil/<size>/`): size → `original`.
- Cloudinary (`/image/upload/`): a transformation segment with w_/h_/c_.
- PrestaShop (`/img/p/1/2/12-home_default.jpg`): the image-type suffix.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

SCENE7_WIDTH = 2000
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


Upgrade = Callable[[SplitResult], SplitResult]


def largest_variant(url: str) -> str | None:
    """The URL of the largest copy this CDN URL is a resized variant of, or None."""
    if not CDN_MARKERS.search(url):
        return None
    parts = urlsplit(url)
    where = parts.netloc.lower() + parts.path
    for marker, upgrade in MARKER_RULES:
        if marker in where:
            upgraded = urlunsplit(upgrade(parts))
            return upgraded if upgraded != url else None
    return None


def _drop_query(
    parts: SplitResult, names: frozenset[str], extra: dict[str, str] | None = None
) -> SplitResult:
    """The query without `names`; `extra` is added when something was dropped."""
    if not parts.query:  # nothing to drop, nothing to add
        return parts
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = [(key, value) for key, value in pairs if key not in names]
    if extra and len(query) < len(pairs):
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


# (markers, any of which in "host/path" identifies the CDN; the upgrade)
RULES: tuple[tuple[tuple[str, ...], Upgrade], ...] = (
    (("cdn.shopify.com/", "/cdn/shop/"), _shopify),
    (("/is/image/",), _scene7),
    (("/dw/image/", "demandware.static"), lambda parts: _drop_query(parts, DEMANDWARE_PARAMS)),
    (("/media/catalog/product/cache/",), _sub_path(MAGENTO_CACHE, "/media/catalog/product/")),
    (("/wp-content/uploads/",), _sub_path(WORDPRESS_SIZE, "")),
    (("/images/I/",), _sub_path(AMAZON_SIZE, "")),
    (("/images/stencil/",), _sub_path(STENCIL_SIZE, r"\1original\2")),
    (("/image/upload/",), _sub_path(CLOUDINARY_TRANSFORM, r"\1")),
    (("/img/p/",), _sub_path(PRESTASHOP_TYPE, r"\1")),
)
# Flat, in RULES order: the first marker found picks the same rule as "the first rule with any marker".
MARKER_RULES = tuple((marker, upgrade) for markers, upgrade in RULES for marker in markers)
_MARKERS = [marker for marker, _upgrade in MARKER_RULES]
# The markers that start with "/" share it, so the regex engine skips ahead to each "/".
CDN_MARKERS = re.compile(
    "|".join(
        [
            "/(?:" + "|".join(re.escape(marker[1:]) for marker in _MARKERS if marker.startswith("/")) + ")",
            *(re.escape(marker) for marker in _MARKERS if not marker.startswith("/")),
        ]
    )
)
