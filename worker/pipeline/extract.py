"""Find every candidate image a page references, with the signals around it; pure lxml, no I/O.

Sources, in document order: `<img src>` and `srcset` (largest entry), lazy-load attributes
(their placeholder `src` is ignored), `<picture><source srcset>`, zoom/full-size attributes
and links to image files, `og:image`/`twitter:image` meta, `itemprop=image`, `<link
rel=image_src>` and image preloads, JSON-LD `Product.image`, and `url()` in inline styles.
URLs are resolved against `<base href>` and the page's final URL; `data:` URIs and SVGs are
recorded so the pipeline can skip them with a reason. A URL found twice becomes one
candidate whose hints are the union of both finds. The hints are explained in docs/scoring.md.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import lxml.html
from lxml import etree

from worker.pipeline.types import Candidate, Page
from worker.pipeline.urls import largest_srcset_entry, resolve_url

LAZY_SRC_ATTRS = ("data-src", "data-lazy-src", "data-original", "data-lazy", "data-echo", "data-hi-res-src")
LAZY_SRCSET_ATTRS = ("data-srcset", "data-lazy-srcset", "data-original-set")
ZOOM_ATTRS = ("data-zoom-image", "data-large_image", "data-zoom", "data-zoom-src", "data-large", "data-full")
BACKGROUND_ATTRS = ("data-bg", "data-background", "data-background-image")
META_IMAGE_NAMES = frozenset(
    {"og:image", "og:image:url", "og:image:secure_url", "twitter:image", "twitter:image:src"}
)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif")
PLACEHOLDER_WORDS = frozenset({"placeholder", "blank", "spacer", "loading", "loader", "lazy", "transparent"})
NEAR_ANCESTORS = 4  # how far up class/id still describe this image rather than the page section
SHORT_ALT_WORDS = 4  # "Acme logo" names a logo; "Mug with our logo printed" describes a product
CHROME_TAGS = frozenset({"header", "footer", "nav"})
CONTENT_TAGS = frozenset({"main", "article"})

# hint -> comma-separated phrases matched against the tokens of class, id, short alt text and
# (for URL_HINTS only) the URL path.
HINT_PHRASES: dict[str, str] = {
    "logo": "logo, logos, site logo, brand logo",
    "icon": "icon, icons, ico, favicon, glyph, emoji",
    "sprite": "sprite, sprites",
    "badge": "badge, badges, payment, payments, pay, trust, seal, visa, mastercard, paypal, amex, rating, stars, flag, flags, award",
    "avatar": "avatar, avatars, gravatar, reviewer, author photo, user photo, profile photo",
    "placeholder": "placeholder, spacer, spinner, loader, no image, noimage, coming soon",
    "pixel": "pixel, tracking, tracker, beacon, 1x1",
    "promo": "promo, promotion, advert, advertisement, sponsored",
    "gallery": "gallery, product image, product images, product media, product photo, product photos, slideshow, media gallery",
    "hero": "hero, main image, primary image, featured image, main photo",
    "zoom": "zoom, zoomable, lightbox, fullsize, full size, large image",
    "lifestyle": "lifestyle, in use, scene, lookbook",
}
RELATED_PHRASES_TEXT = (
    "related, recommended, recommendations, recommendation, upsell, upsells, up sell, cross sell, "
    "crosssell, also bought, also viewed, also like, you may, similar products, recently viewed, "
    "more products, other products, customers also"
)


def _phrases(text: str) -> tuple[str, ...]:
    return tuple(phrase.strip() for phrase in text.split(","))


HINT_KEYWORDS = {hint: _phrases(phrases) for hint, phrases in HINT_PHRASES.items()}
RELATED_PHRASES = _phrases(RELATED_PHRASES_TEXT)
# Only unambiguous words count when they appear in a file name ("blank-notebook.jpg" is a product).
URL_HINTS = ("logo", "icon", "sprite", "placeholder", "pixel", "avatar")
TRACKING_HOST_WORDS = frozenset({"doubleclick", "analytics", "pixel", "tracking", "beacon"})


@dataclass
class CandidateCollector:
    """Accumulates candidates by URL, merging repeated finds, up to `limit` distinct URLs."""

    base_url: str
    limit: int
    found: dict[str, Candidate] = field(default_factory=dict)

    def add(
        self,
        raw: str | None,
        source: str,
        hints: Iterable[str] = (),
        *,
        alt: str | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> None:
        url = resolve_url(raw, self.base_url)
        if url is None:
            return
        all_hints = frozenset(hints) | url_hints(url)
        found = Candidate(url, source, len(self.found), alt or None, width, height, all_hints)
        if url in self.found:
            self.found[url] = merge_candidates(self.found[url], found)
        elif len(self.found) < self.limit:
            self.found[url] = found


def extract_candidates(page: Page, *, limit: int) -> list[Candidate]:
    """Every image the page references (at most `limit` distinct URLs), in order of discovery."""
    document = parse_document(page)
    if document is None:
        return []
    collector = CandidateCollector(base_url=document_base_url(document, page.url), limit=limit)
    for element in document.iter(etree.Element):
        handler = ELEMENT_HANDLERS.get(str(element.tag).lower())
        if handler is not None:
            handler(element, collector)
        collect_backgrounds(element, collector)
    return list(collector.found.values())


def parse_document(page: Page) -> Any:
    """The lxml tree of the page, or None if there is no markup at all."""
    parser = None
    if page.encoding:
        try:
            parser = lxml.html.HTMLParser(encoding=page.encoding)
        except LookupError:
            parser = None
    try:
        return lxml.html.document_fromstring(page.html, parser=parser)
    except (etree.ParserError, ValueError):
        return None


def document_base_url(document: Any, page_url: str) -> str:
    """The `<base href>` resolved against the page URL, else the page URL."""
    for base in document.iter("base"):
        resolved = resolve_url(base.get("href"), page_url)
        if resolved and not resolved.startswith("data:"):
            return resolved
    return page_url


def merge_candidates(first: Candidate, second: Candidate) -> Candidate:
    """One candidate for a URL found twice: first position, all hints, any size and alt found."""
    return dataclasses.replace(
        first,
        alt=first.alt or second.alt,
        width_hint=_larger(first.width_hint, second.width_hint),
        height_hint=_larger(first.height_hint, second.height_hint),
        hints=first.hints | second.hints,
    )


def _larger(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def collect_img(element: Any, collector: CandidateCollector) -> None:
    """`<img>`: lazy attributes first, then src (unless it is the lazy loader's placeholder), srcset, zoom."""
    hints = element_hints(element)
    if (element.get("itemprop") or "").strip().lower() == "image":
        hints |= {"microdata"}
    source = "noscript" if _has_ancestor(element, {"noscript"}) else "img"
    if _has_ancestor(element, {"picture"}):
        source = "picture"
    alt = element.get("alt")
    width, height = int_attr(element.get("width")), int_attr(element.get("height"))
    lazy = [element.get(name) for name in LAZY_SRC_ATTRS if element.get(name)]
    lazy += [_largest_url(element.get(name)) for name in LAZY_SRCSET_ATTRS if element.get(name)]
    for url in lazy:
        collector.add(url, "lazy", hints, alt=alt)
    src = element.get("src")
    if not (lazy and is_placeholder_src(src)):
        collector.add(
            src, source, hints | _declared_pixel(width, height), alt=alt, width=width, height=height
        )
    collect_srcset(element.get("srcset"), "srcset", hints, alt, collector)
    collect_zoom(element, hints, alt, collector)


def collect_source(element: Any, collector: CandidateCollector) -> None:
    """`<picture><source srcset>`: the largest entry of each source."""
    if not _has_ancestor(element, {"picture"}):
        return
    hints = element_hints(element)
    for name in ("srcset", *LAZY_SRCSET_ATTRS):
        collect_srcset(element.get(name), "picture", hints, None, collector)


def collect_srcset(
    srcset: str | None, source: str, hints: frozenset[str], alt: str | None, collector: CandidateCollector
) -> None:
    entry = largest_srcset_entry(srcset) if srcset else None
    if entry is not None:
        collector.add(entry.url, source, hints, alt=alt, width=entry.width)


def _largest_url(srcset: str | None) -> str | None:
    entry = largest_srcset_entry(srcset) if srcset else None
    return entry.url if entry else None


def collect_zoom(element: Any, hints: frozenset[str], alt: str | None, collector: CandidateCollector) -> None:
    for name in ZOOM_ATTRS:
        if element.get(name):
            collector.add(element.get(name), "zoom", hints | {"zoom"}, alt=alt)


def collect_meta(element: Any, collector: CandidateCollector) -> None:
    """`og:image`, `twitter:image` and `itemprop=image` meta tags."""
    name = (element.get("property") or element.get("name") or "").strip().lower()
    if name in META_IMAGE_NAMES:
        collector.add(element.get("content"), "twitter" if name.startswith("twitter") else "og", {"og"})
    elif (element.get("itemprop") or "").strip().lower() == "image":
        collector.add(element.get("content"), "microdata", {"microdata"})


def collect_link(element: Any, collector: CandidateCollector) -> None:
    """`<link rel=image_src>`, `<link rel=preload as=image>` and `<link itemprop=image>`."""
    rel = (element.get("rel") or "").lower().split()
    if "image_src" in rel:
        collector.add(element.get("href"), "link", {"og"})
    elif "preload" in rel and (element.get("as") or "").lower() == "image":
        collector.add(element.get("href"), "preload")
        collect_srcset(element.get("imagesrcset"), "preload", frozenset(), None, collector)
    elif (element.get("itemprop") or "").strip().lower() == "image":
        collector.add(element.get("href"), "microdata", {"microdata"})


def collect_anchor(element: Any, collector: CandidateCollector) -> None:
    """`<a href="…/large.jpg">`: a link to an image file, often the full-size version of a thumbnail."""
    href = element.get("href") or ""
    if urlsplit(href.strip()).path.lower().endswith(IMAGE_EXTENSIONS):
        collector.add(href, "anchor", element_hints(element) | {"linked"})


def collect_jsonld(element: Any, collector: CandidateCollector) -> None:
    """`<script type=application/ld+json>`: the images of every Product in it."""
    if (element.get("type") or "").strip().lower() != "application/ld+json":
        return
    for url in product_image_urls(element.text or ""):
        collector.add(url, "jsonld", {"jsonld_product"})


def collect_backgrounds(element: Any, collector: CandidateCollector) -> None:
    """`url()` in an inline style, and lazy background attributes, on any element."""
    style = element.get("style")
    lazy = [element.get(name) for name in BACKGROUND_ATTRS if element.get(name)]
    if not lazy and not (style and "url(" in style.lower()):
        return
    hints = element_hints(element) | {"css"}
    for url in [*css_urls(style or ""), *lazy]:
        collector.add(url, "css", hints)


CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""", re.IGNORECASE | re.DOTALL)


def css_urls(style: str) -> list[str]:
    """The URLs inside `url(...)` in a CSS declaration list."""
    return [match.group(2) for match in CSS_URL.finditer(style)]


ELEMENT_HANDLERS: dict[str, Callable[[Any, CandidateCollector], None]] = {
    "img": collect_img,
    "source": collect_source,
    "meta": collect_meta,
    "link": collect_link,
    "a": collect_anchor,
    "script": collect_jsonld,
}


def element_hints(element: Any) -> frozenset[str]:
    """Hints from the element's own class/id/short alt and its ancestors' class/id and tags."""
    ancestors = list(element.iterancestors())
    near = [_describe(element, with_alt=True), *(_describe(node) for node in ancestors[:NEAR_ANCESTORS])]
    hints = keyword_hints(" ".join(near), HINT_KEYWORDS)
    if keyword_hints(" ".join(_describe(node) for node in ancestors), {"related": RELATED_PHRASES}):
        hints.add("related")
    if _in_page_chrome(ancestors):
        hints.add("chrome")
    return frozenset(hints)


def _describe(element: Any, *, with_alt: bool = False) -> str:
    parts = [element.get("class") or "", element.get("id") or "", element.get("aria-label") or ""]
    alt = element.get("alt") or ""
    if with_alt and len(alt.split()) <= SHORT_ALT_WORDS:
        parts.append(alt)
    return " ".join(parts)


def _in_page_chrome(ancestors: list[Any]) -> bool:
    tags = [str(node.tag).lower() for node in ancestors]
    return any(tag in CHROME_TAGS for tag in tags) and not any(tag in CONTENT_TAGS for tag in tags)


def _has_ancestor(element: Any, tags: set[str]) -> bool:
    return any(str(node.tag).lower() in tags for node in element.iterancestors())


CAMEL_BOUNDARY = re.compile(r"([a-z])([A-Z])")
NON_WORD = re.compile(r"[^a-z0-9]+")


def tokens_of(text: str) -> list[str]:
    """Lower-case word tokens; camelCase, kebab-case and snake_case are split."""
    return [token for token in NON_WORD.split(CAMEL_BOUNDARY.sub(r"\1 \2", text).lower()) if token]


def keyword_hints(text: str, table: dict[str, tuple[str, ...]]) -> set[str]:
    """The hints whose phrases occur as whole tokens in `text` ("icon32" counts as "icon")."""
    tokens = tokens_of(text)
    words = set(tokens) | {token.rstrip("0123456789") for token in tokens}
    joined = f" {' '.join(tokens)} "
    return {
        hint
        for hint, phrases in table.items()
        if any((f" {phrase} " in joined) if " " in phrase else (phrase in words) for phrase in phrases)
    }


def url_hints(url: str) -> frozenset[str]:
    """Hints read from the URL: unambiguous file-name words, tracking hosts, SVG and data: URIs."""
    if url.startswith("data:"):
        return frozenset({"data_uri", "svg"} if url.lower().startswith("data:image/svg") else {"data_uri"})
    parts = urlsplit(url)
    table = {hint: HINT_KEYWORDS[hint] for hint in URL_HINTS}
    hints = keyword_hints(parts.path, table)
    if set(tokens_of(parts.hostname or "")) & TRACKING_HOST_WORDS:
        hints.add("pixel")
    if parts.path.lower().endswith((".svg", ".svgz")):
        hints.add("svg")
    return frozenset(hints)


def is_placeholder_src(src: str | None) -> bool:
    """True for the stand-in `src` a lazy loader swaps out: a data: URI or a blank/loading image."""
    if not src or src.strip().lower().startswith("data:"):
        return True
    return bool(set(tokens_of(urlsplit(src.strip()).path)) & PLACEHOLDER_WORDS)


def int_attr(value: str | None) -> int | None:
    """An HTML length attribute as whole pixels ("300", "300px"); None if absent or relative."""
    match = re.fullmatch(r"\s*(\d{1,6})(?:\.\d*)?\s*(?:px)?\s*", value or "")
    return int(match.group(1)) if match else None


def _declared_pixel(width: int | None, height: int | None) -> frozenset[str]:
    if width is not None and height is not None and width <= 2 and height <= 2:
        return frozenset({"pixel"})
    return frozenset()


PRODUCT_TYPES = frozenset({"product", "productgroup", "productmodel", "individualproduct"})
JSONLD_MAX_DEPTH = 12
JSONLD_MAX_IMAGES = 100
TRAILING_COMMA = re.compile(r",\s*([}\]])")


def product_image_urls(script_text: str) -> list[str]:
    """The image URLs of every Product in a JSON-LD block (string, list, ImageObject, @graph); [] if unreadable."""
    data = load_lenient_json(script_text)
    return list(_product_images(data, depth=0)) if data is not None else []


def load_lenient_json(text: str) -> Any:
    """JSON as pages really write it: HTML comment or CDATA wrappers, trailing commas; None if still broken."""
    text = text.strip().removeprefix("<!--").removesuffix("-->").strip()
    text = text.removeprefix("//<![CDATA[").removesuffix("//]]>").strip()
    for attempt in (text, TRAILING_COMMA.sub(r"\1", text)):
        try:
            return json.loads(attempt, strict=False)
        except (ValueError, RecursionError):
            continue
    return None


def _product_images(node: Any, depth: int) -> Iterator[str]:
    if depth > JSONLD_MAX_DEPTH:
        return
    if isinstance(node, list):
        for item in node:
            yield from _product_images(item, depth + 1)
        return
    if not isinstance(node, dict):
        return
    if _is_product(node):
        yield from _image_urls(node.get("image"))
    for key, value in node.items():
        if key != "image" and isinstance(value, dict | list):
            yield from _product_images(value, depth + 1)


def _is_product(node: dict[str, Any]) -> bool:
    kinds = node.get("@type")
    names = kinds if isinstance(kinds, list) else [kinds]
    return any(isinstance(name, str) and _last_segment(name) in PRODUCT_TYPES for name in names)


def _last_segment(type_name: str) -> str:
    return re.split(r"[/:#]", type_name.strip())[-1].lower()


def _image_urls(value: Any) -> Iterator[str]:
    """URLs from a schema.org `image` value: a URL, an ImageObject, or a list of either."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value[:JSONLD_MAX_IMAGES]:
            yield from _image_urls(item)
    elif isinstance(value, dict):
        for key in ("contentUrl", "url"):
            if isinstance(value.get(key), str):
                yield value[key]
                return
