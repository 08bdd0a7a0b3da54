"""The page's own product in a web app's state: the galleries that only JavaScript draws.

Storefronts built as web apps send the product as data and draw its gallery in the browser, so
their HTML has no `<img>` for it. The state holds other products too (recommendations), so only
the object that names this page (by its route's last segment or id) and has a gallery field is
read. The walk is bounded (MAX_DEPTH, MAX_NODES), as every blob is a stranger's. The identity and
gallery fields are listed in docs/scoring.md §0 ("Web-app state").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from worker.pipeline.extract.devalue import unflatten
from worker.pipeline.extract.jsstate import assigned_states
from worker.pipeline.extract.links import route_key
from worker.pipeline.extract.structured import (
    GALLERY,
    HERO,
    JSONLD_MAX_IMAGES,
    MAX_SCRIPT_CHARS,
    PlatformImage,
    connection_nodes,
    load_lenient_json,
)

IMAGE_FILE_IN = re.compile(r"\.(?:jpe?g|png|webp|gif|avif)\b", re.IGNORECASE)
# The id a slug may end with; five characters or more, so a model number ("x500") or a year is not one.
TRAILING_ID = re.compile(r"[-_]([a-z0-9]*[0-9][a-z0-9]*)$", re.IGNORECASE)
MIN_ID_CHARS = 5
MAX_DEPTH = 12
MAX_NODES = 20_000
IDENTITY_KEYS = (
    "handle", "slug", "url", "link", "href", "path", "productUrl", "canonicalUrl", "id", "productId",
    "product_id", "itemId", "item_id", "sku", "code",
)  # fmt: skip
HERO_KEYS = ("featuredImage", "featured_image", "mainImage", "main_image", "primaryImage", "heroImage")
GALLERY_KEYS = (
    "images", "imageList", "imagePathList", "imageUrls", "image_urls", "gallery", "galleryImages",
    "media", "photos", "pictures", "imageGroups",
)  # fmt: skip
# Where headless commerce APIs keep a product's gallery: on its master or selected variant
# (commercetools, Vue Storefront), beside the identity the product object carries.
VARIANT_KEYS = ("masterVariant", "master", "selectedVariant", "currentVariant")
URL_KEYS = (
    "url", "src", "originalSrc", "original", "full", "large", "zoom", "hiRes", "fullsize", "imageUrl", "href",
    "link", "disBaseLink",
)  # fmt: skip
# Salesforce Commerce Cloud's imageGroups come in view types; the small ones repeat the large.
SMALL_VIEW_TYPES = frozenset({"small", "swatch", "thumbnail", "thumb", "tiny"})
MEDIA_TYPE_KEYS = ("mediaType", "media_type", "type", "__typename", "kind")
MOVING_SUFFIXES = (".mp4", ".webm", ".mov", ".m3u8", ".glb", ".usdz")


def state_images(
    script_type: str, text: str, page_key: str, *, devalue: bool = False
) -> Iterator[PlatformImage]:
    """The page's own product's images in one script's app state (JSON, or what its JavaScript assigns).

    `devalue`: the script is a devalue payload (Nuxt 3's `__NUXT_DATA__`), rebuilt before it is read.
    """
    # A state naming the page holds its name (as the URL writes it), and a gallery holds a file
    # name: two scans, before any parse.
    names = page_names(page_key)
    if (
        not names
        or len(text) > MAX_SCRIPT_CHARS
        or not any(name in text for name in names)
        or not IMAGE_FILE_IN.search(text)
    ):
        return
    for state in _states(script_type, text, devalue=devalue):
        product = _page_product(state, frozenset(name.lower() for name in names))
        if product is not None:
            yield from product_gallery(product)
            return


def page_names(page_key: str) -> tuple[str, ...]:
    """What a state may call the page: its route key, and the id the key ends with if it ends with one."""
    if not page_key:
        return ()
    trailing = TRAILING_ID.search(page_key)
    if trailing is None or len(trailing.group(1)) < MIN_ID_CHARS:
        return (page_key,)
    return (page_key, trailing.group(1))


def _states(script_type: str, text: str, *, devalue: bool) -> Iterator[Any]:
    """The state a script holds: all of it for a JSON type, else what its JavaScript assigns (jsstate.py)."""
    if script_type == "application/json":
        state = load_lenient_json(text)
        if devalue:
            state = unflatten(state)
        if state is not None:
            yield state
        return
    yield from assigned_states(text)


def _page_product(root: Any, names: frozenset[str]) -> dict[str, Any] | None:
    """The first object (depth first, bounded) naming the page (one of `names`, lower-cased) with a gallery field.

    An object naming the page without one may keep its gallery in a sibling module instead
    (`{"productInfo": {"productId": 1005}, "imageModule": {"imagePathList": […]}}`): the first
    sibling object with a gallery field that names no page of its own is taken then.
    """
    stack: list[tuple[Any, int, dict[str, Any] | None]] = [(root, 0, None)]
    searched: set[int] = set()  # parents whose modules were looked through: once each, not per child
    visited = 0
    while stack and visited < MAX_NODES:
        node, depth, parent = stack.pop()
        visited += 1
        if isinstance(node, dict):
            if _names_page(node, names):
                if _has_gallery(node):
                    return node
                if parent is not None and id(parent) not in searched:
                    searched.add(id(parent))
                    module = _gallery_module(parent, node)
                    if module is not None:
                        return module
            children: Any = node.values()
            holder: dict[str, Any] | None = node
        elif isinstance(node, list):
            children, holder = node, None  # items of a list are records of their own, not modules
        else:
            continue
        if depth < MAX_DEPTH:
            stack.extend(
                (child, depth + 1, holder)
                for child in reversed(list(children))
                if isinstance(child, dict | list)
            )
    return None


def _gallery_module(parent: dict[str, Any], named: dict[str, Any]) -> dict[str, Any] | None:
    """A sibling of `named` inside `parent` that has a gallery field and no identity of its own."""
    modules = (sibling for sibling in parent.values() if isinstance(sibling, dict) and sibling is not named)
    return next(
        (
            module
            for module in modules
            if _has_gallery(module)
            and not any(isinstance(module.get(key), str | int) for key in IDENTITY_KEYS)
        ),
        None,
    )


def _names_page(node: dict[str, Any], names: frozenset[str]) -> bool:
    for key in IDENTITY_KEYS:
        value = node.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and value and route_key(value).lower() in names:
            return True
    return False


def _holders(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The product object and its master/selected variant objects: where its gallery fields may be."""
    return [node, *(variant for key in VARIANT_KEYS if isinstance(variant := node.get(key), dict))]


def _has_gallery(node: dict[str, Any]) -> bool:
    return any(holder.get(key) for holder in _holders(node) for key in (*HERO_KEYS, *GALLERY_KEYS))


def product_gallery(product: dict[str, Any]) -> Iterator[PlatformImage]:
    """The hero field's image first, then each gallery field's, at most JSONLD_MAX_IMAGES in all."""
    count = 0
    for keys, hints in ((HERO_KEYS, HERO), (GALLERY_KEYS, GALLERY)):
        for holder in _holders(product):
            for key in keys:
                for url in _urls(holder.get(key), depth=0):
                    if count == JSONLD_MAX_IMAGES:
                        return
                    count += 1
                    yield url, hints


def _urls(value: Any, depth: int) -> Iterator[str]:
    """URLs in a gallery value: a URL, a list, an object with a URL field, or a GraphQL connection."""
    if depth > 3:
        return
    if isinstance(value, str):
        if _looks_like_image_address(value):
            yield value
    elif isinstance(value, list):
        for item in value[:JSONLD_MAX_IMAGES]:
            yield from _urls(item, depth + 1)
    elif isinstance(value, dict):
        if "edges" in value or "nodes" in value:
            yield from _urls(connection_nodes(value), depth + 1)
            return
        if _is_moving_media(value) or str(value.get("viewType", "")).lower() in SMALL_VIEW_TYPES:
            return
        url = next((value[key] for key in URL_KEYS if isinstance(value.get(key), str)), None)
        if url is not None:
            if _looks_like_image_address(url):
                yield url
        elif isinstance(value.get("images"), list):  # an image group: {"viewType": "large", "images": [...]}
            yield from _urls(value["images"], depth + 1)


def _is_moving_media(entry: dict[str, Any]) -> bool:
    """A gallery entry that is a video or a 3D model (Shopify's `media_type`, GraphQL's `__typename`, …)."""
    kind = " ".join(str(entry.get(key, "")) for key in MEDIA_TYPE_KEYS).lower()
    return "video" in kind or "model" in kind


def _looks_like_image_address(value: str) -> bool:
    text = value.strip()
    if text.lower().endswith(MOVING_SUFFIXES):
        return False
    return text.startswith(("http://", "https://", "//", "/")) or IMAGE_FILE_IN.search(text) is not None
