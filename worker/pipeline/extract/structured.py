"""Image URLs from structured data in a page: JSON-LD Product images and the product JSON of shop platforms.

Each find is (url, hints): the hints say how strongly the page vouches for the image. Only the
page's own product is read, not the products it names by relation, lists or links to. Broken JSON
is repaired where that is cheap, else gives nothing. The shapes read, per schema and platform, are
in docs/scoring.md §0 ("Structured data") and §1 (hints `jsonld_product`, `platform`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from worker.pipeline.types import Hint

PlatformImage = tuple[str, frozenset[Hint]]

GALLERY = frozenset({Hint.PLATFORM, Hint.GALLERY})
HERO = frozenset({Hint.PLATFORM, Hint.GALLERY, Hint.HERO})
MAX_SCRIPT_CHARS = 2_000_000  # larger inline blobs are app state, not a product's images
BCDATA = re.compile(r"\bBCData\s*=\s*(\{.*?\})\s*;\s*(?:</script>|$|\n)", re.DOTALL)
PRODUCT_TYPES = frozenset({"product", "productgroup", "productmodel", "individualproduct"})
JSONLD_MAX_DEPTH = 12
# Properties through which a Product names other products (schema.org): never the page's own.
OTHER_PRODUCT_KEYS = frozenset({"isRelatedTo", "isSimilarTo", "isAccessoryOrSparePartFor", "isConsumableFor"})
ITEM_LIST_TYPES = frozenset({"itemlist", "offercatalog"})
JSONLD_MAX_IMAGES = 100
# schema.org spells it contentUrl; Etsy and others write contentURL.
IMAGE_OBJECT_URL_KEYS = ("contentUrl", "contentURL", "url")
TRAILING_COMMA = re.compile(r",\s*([}\]])")
# Control characters inside strings are allowed (strict=False); one decoder for the process,
# because json.loads builds a new one for every call that passes an option (half its cost here).
LENIENT_DECODER = json.JSONDecoder(strict=False)


def product_image_urls(script_text: str, elsewhere: Callable[[str], bool] | None = None) -> list[str]:
    """The image URLs of the page's Products in a JSON-LD block (string, list, ImageObject, @graph); [] if unreadable.

    `elsewhere(url)` tells whether a Product's `url` or `@id` is another page than this one.
    """
    if "image" not in script_text and "\\u" not in script_text:
        return []  # no "image" key, and no \u escape that could spell one: not worth parsing
    data = load_lenient_json(script_text)
    if data is None:
        return []
    walk = _ProductWalk(ImageIds(data), elsewhere or _nowhere)
    return list(walk.images(data, depth=0))


def load_lenient_json(text: str) -> Any:
    """JSON as pages really write it: HTML comment or CDATA wrappers, trailing commas; None if still broken."""
    text = text.strip().removeprefix("<!--").removesuffix("-->").strip()
    text = text.removeprefix("//<![CDATA[").removesuffix("//]]>").strip()
    for attempt in (text, TRAILING_COMMA.sub(r"\1", text)):
        try:
            return LENIENT_DECODER.decode(attempt)
        except (ValueError, RecursionError):
            continue
    return None


def _nowhere(_url: str) -> bool:
    return False


class _ProductWalk:
    """One walk of a JSON-LD block for the images of the page's own products."""

    def __init__(self, ids: ImageIds, elsewhere: Callable[[str], bool]) -> None:
        self.ids = ids
        self.elsewhere = elsewhere

    def images(self, node: Any, depth: int) -> Iterator[str]:
        if depth > JSONLD_MAX_DEPTH:
            return
        if isinstance(node, list):
            for item in node:
                yield from self.images(item, depth + 1)
            return
        if not isinstance(node, dict) or self._lists_several(node):
            return
        if _has_type(node, PRODUCT_TYPES):
            if self._names_another_page(node):
                return
            yield from _image_urls(node.get("image"), self.ids)
        for key, value in node.items():
            if key != "image" and key not in OTHER_PRODUCT_KEYS and isinstance(value, dict | list):
                yield from self.images(value, depth + 1)

    def _names_another_page(self, product: dict[str, Any]) -> bool:
        return any(
            isinstance(address, str) and self.elsewhere(address.partition("#")[0])
            for address in (product.get("url"), product.get("@id"))
        )

    @staticmethod
    def _lists_several(node: dict[str, Any]) -> bool:
        """An ItemList (or OfferCatalog) of more than one item: a list of products, none the page's own."""
        items = node.get("itemListElement")
        return _has_type(node, ITEM_LIST_TYPES) and isinstance(items, list) and len(items) > 1


def _has_type(node: dict[str, Any], types: frozenset[str]) -> bool:
    kinds = node.get("@type")
    names = kinds if isinstance(kinds, list) else [kinds]
    return any(isinstance(name, str) and _last_segment(name) in types for name in names)


def _last_segment(type_name: str) -> str:
    return re.split(r"[/:#]", type_name.strip())[-1].lower()


def _image_urls(value: Any, ids: ImageIds) -> Iterator[str]:
    """URLs from a schema.org `image` value: a URL, an ImageObject, a reference to one, or a list of these."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value[:JSONLD_MAX_IMAGES]:
            yield from _image_urls(item, ids)
    elif isinstance(value, dict):
        url = _image_object_url(value)
        if url is None and isinstance(value.get("@id"), str):
            url = ids.url_of(value["@id"])
        if url is not None:
            yield url


def _image_object_url(node: Any) -> str | None:
    if isinstance(node, dict):
        for key in IMAGE_OBJECT_URL_KEYS:
            url = node.get(key)
            if isinstance(url, str):
                return url
    return None


class ImageIds:
    """The URL of each node of a JSON-LD block that has an @id and a URL (Yoast's `…#primaryimage`).

    Built on the first lookup, in one walk of the block, so references cost a dict lookup each.
    """

    def __init__(self, root: Any) -> None:
        self.root = root
        self._urls: dict[str, str] | None = None

    def url_of(self, node_id: str) -> str | None:
        if self._urls is None:
            self._urls = {}
            _collect_ids(self.root, self._urls, depth=0)
        return self._urls.get(node_id)


def _collect_ids(node: Any, urls: dict[str, str], depth: int) -> None:
    if depth > JSONLD_MAX_DEPTH:
        return
    children: Any = ()
    if isinstance(node, dict):
        node_id, url = node.get("@id"), _image_object_url(node)
        if isinstance(node_id, str) and url is not None:
            urls.setdefault(node_id, url)
        children = node.values()
    elif isinstance(node, list):
        children = node
    for child in children:
        if isinstance(child, dict | list):
            _collect_ids(child, urls, depth + 1)


def script_images(script_type: str, attributes: dict[str, str], text: str) -> Iterator[PlatformImage]:
    """Platform product images inside one `<script>` (not JSON-LD); nothing for ordinary code."""
    if len(text) > MAX_SCRIPT_CHARS:
        return
    if script_type == "text/x-magento-init" and "mage/gallery/gallery" in text:
        yield from magento_gallery_images(load_lenient_json(text))
    elif script_type == "application/json" and attributes.get("id") == "__NEXT_DATA__":
        if '"product"' in text:
            yield from storefront_product_images(_next_page_product(load_lenient_json(text)))
    elif script_type == "application/json" and ('"images"' in text or '"media"' in text):
        data = load_lenient_json(text)
        if _is_shopify_product(data, attributes):
            yield from shopify_product_images(data.get("product", data))
    elif "BCData" in text:
        yield from bigcommerce_images(text)


def _is_shopify_product(data: Any, attributes: dict[str, str]) -> bool:
    if not isinstance(data, dict):
        return False
    product = data.get("product", data)
    marked = "data-product-json" in attributes or "product" in attributes.get("id", "").lower()
    shaped = isinstance(product, dict) and "variants" in product
    return isinstance(product, dict) and (marked or shaped) and ("images" in product or "media" in product)


def shopify_product_images(product: dict[str, Any]) -> Iterator[PlatformImage]:
    """`featured_image` (the hero), then `images`, then image `media`."""
    featured = product.get("featured_image")
    if isinstance(featured, dict):
        featured = featured.get("src")
    if isinstance(featured, str):
        yield featured, HERO
    for image in _as_list(product.get("images")):
        url = image.get("src") if isinstance(image, dict) else image
        if isinstance(url, str):
            yield url, GALLERY
    for media in _as_list(product.get("media")):
        if isinstance(media, dict) and media.get("media_type", "image") == "image":
            preview = media.get("preview_image")
            url = media.get("src") or (preview.get("src") if isinstance(preview, dict) else None)
            if isinstance(url, str):
                yield url, GALLERY


def _next_page_product(data: Any) -> Any:
    """`props.pageProps.product` of a Next.js page's state, or None."""
    for key in ("props", "pageProps", "product"):
        data = data.get(key) if isinstance(data, dict) else None
    return data


def storefront_product_images(product: Any) -> Iterator[PlatformImage]:
    """Shopify Storefront API shape: `featuredImage` (the hero), then `images` (a list or a connection)."""
    if not isinstance(product, dict):
        return
    featured = _image_url(product.get("featuredImage"))
    if featured is not None:
        yield featured, HERO
    images = product.get("images")
    if isinstance(images, dict):
        images = connection_nodes(images)
    for image in _as_list(images)[:JSONLD_MAX_IMAGES]:
        url = _image_url(image)
        if url is not None:
            yield url, GALLERY


def connection_nodes(connection: dict[str, Any]) -> Any:
    """The items of a GraphQL connection: its `nodes`, else each of its `edges[].node`."""
    return connection.get("nodes") or [
        edge.get("node") for edge in _as_list(connection.get("edges")) if isinstance(edge, dict)
    ]


def _image_url(image: Any) -> str | None:
    """A Storefront API image's URL (`url`, or the older `originalSrc` / `src`), or a plain string."""
    if isinstance(image, dict):
        image = image.get("url") or image.get("originalSrc") or image.get("src")
    return image if isinstance(image, str) else None


def woocommerce_variation_images(value: str) -> Iterator[PlatformImage]:
    """The full-size image of each variation in a `data-product_variations` attribute."""
    for variation in _as_list(load_lenient_json(value)):
        image = variation.get("image") if isinstance(variation, dict) else None
        if not isinstance(image, dict):
            continue
        url = image.get("full_src") or image.get("url") or image.get("src")
        if isinstance(url, str):
            yield url, GALLERY


def magento_gallery_images(data: Any, depth: int = 0) -> Iterator[PlatformImage]:
    """`mage/gallery/gallery` → `data` entries (full size first) anywhere in an x-magento-init blob."""
    if depth > JSONLD_MAX_DEPTH or not isinstance(data, dict | list):
        return
    items = data.values() if isinstance(data, dict) else data
    gallery = data.get("mage/gallery/gallery") if isinstance(data, dict) else None
    if isinstance(gallery, dict):
        yield from magento_data_images(gallery.get("data"))
        return
    for item in items:
        yield from magento_gallery_images(item, depth + 1)


def magento_data_images(entries: Any) -> Iterator[PlatformImage]:
    """Entries of a Magento gallery `data` list (also the `data-gallery` attribute)."""
    for entry in _as_list(entries):
        if not isinstance(entry, dict) or entry.get("type", "image") != "image":
            continue
        url = entry.get("full") or entry.get("img")
        if isinstance(url, str):
            yield url, HERO if entry.get("isMain") else GALLERY


def bigcommerce_images(text: str) -> Iterator[PlatformImage]:
    """The main image of `var BCData = {…}`; `{:size}` is asked for in its original size."""
    match = BCDATA.search(text)
    data = load_lenient_json(match.group(1)) if match else None
    attributes = data.get("product_attributes") if isinstance(data, dict) else None
    image = attributes.get("image") if isinstance(attributes, dict) else None
    url = image.get("data") if isinstance(image, dict) else None
    if isinstance(url, str):
        yield url.replace("{:size}", "original"), HERO


def dynamic_image_url(value: str) -> tuple[str, int | None] | None:
    """The largest URL of Amazon's `data-a-dynamic-image` ({url: [width, height]}) and its width."""
    data = load_lenient_json(value)
    if not isinstance(data, dict) or not data:
        return None
    sizes = {url: _first_int(size) for url, size in data.items() if isinstance(url, str)}
    if not sizes:
        return None
    url = max(sizes, key=lambda key: sizes[key] or 0)
    return url, sizes[url]


def _first_int(value: Any) -> int | None:
    if isinstance(value, list) and value and isinstance(value[0], int | float):
        return int(value[0])
    return None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
