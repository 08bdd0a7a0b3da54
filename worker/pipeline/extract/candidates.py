"""Find every candidate image a page references, with the hints around it; pure lxml, no I/O.

Sources are read in document order; a URL found twice becomes one candidate whose hints are the
union of both finds. Structured data, web-app state, CDN variants and product cards come from
the sibling modules (structured.py, state.py, cdn.py, links.py, cards.py). The sources and hints
are listed in docs/scoring.md §0–§1. Every page goes through here, so it is built for speed
(plain lxml.etree elements, one XPath union, hints worked out once per ancestor, URLs resolved
through urls.PageUrls); bench/extract_speed.py measures it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import lxml.html
from lxml import etree

from worker.pipeline.extract.cards import CardFinder
from worker.pipeline.extract.cdn import largest_variant
from worker.pipeline.extract.hints import (
    HEADING_CLASS_TOKENS,
    NAMING_HEADING_TAGS,
    AncestorCache,
    element_hints,
    keyword_hints,
    lineage_of,
    mark_related_block,
    tokens_of,
    url_hints,
)
from worker.pipeline.extract.links import SiblingPages, route_key
from worker.pipeline.extract.srcset import SrcsetEntry, largest_srcset_entry, parse_srcset
from worker.pipeline.extract.state import state_images
from worker.pipeline.extract.structured import (
    PlatformImage,
    dynamic_image_url,
    load_lenient_json,
    magento_data_images,
    product_image_urls,
    script_images,
    woocommerce_variation_images,
)
from worker.pipeline.extract.urls import PageUrls, resolve_url
from worker.pipeline.types import Candidate, Hint, Page

__all__ = ["extract_candidates", "keyword_hints", "load_lenient_json", "product_image_urls"]

# Lazy loaders: lazysizes, lozad, Flickity, Slick, Owl, theme code of Shopify/WooCommerce/Magento/BigCommerce.
LAZY_SRC_ATTRS = (
    "data-src",
    "data-lazy-src",
    "data-original",
    "data-lazy",
    "data-echo",
    "data-hi-res-src",
    "data-flickity-lazyload",
    "data-lazyload",
    "data-image",
    "data-img-src",
    "data-main-image",
)
LAZY_SRCSET_ATTRS = ("data-srcset", "data-lazy-srcset", "data-original-set", "data-bgset")
ZOOM_ATTRS = (
    "data-zoom-image",
    "data-large_image",
    "data-zoom",
    "data-zoom-src",
    "data-large",
    "data-full",
    "data-old-hires",
    "data-large-image",
    "data-full-image",
    "data-image-gallery-zoom-image-url",
    "data-image-large-src",  # PrestaShop thumbnails
    "data-src-zoom-image",  # Etsy listing carousels
)
LAZY_ATTRS = frozenset((*LAZY_SRC_ATTRS, *LAZY_SRCSET_ATTRS))
ZOOM_ATTR_NAMES = frozenset(ZOOM_ATTRS)
BACKGROUND_ATTRS = ("data-bg", "data-background", "data-background-image", "data-bgset")
# lazysizes' bgset: srcsets separated by "|", each with an optional media query in brackets:
# "a.jpg 400w, b.jpg 800w [(max-width: 600px)] | c.jpg".
BGSET_MEDIA = re.compile(r"\[[^\]]*\]\s*$")
# Attributes that name an image on any element (BigCommerce thumbnails are <a>, Magento uses <div>).
PLATFORM_ATTRS = (
    "data-product_variations",
    "data-gallery",
    "data-image-gallery-new-image-url",
    "data-image-gallery-zoom-image-url",
    "data-zoom-image",
)
BACKGROUND_ATTRS_ALL = ("style", *BACKGROUND_ATTRS)
# One XPath union returns the elements and attributes worth a look, in document order (about
# half a parse on the corpus pages); a Python-level walk over every element costs as much or
# more, an XPath predicate tested on every element one to three parses.
CANDIDATE_XPATH = etree.XPath(
    " | ".join(
        [
            *(f"//{tag}" for tag in ("img", "source", "script", "noscript", "meta", "link", "a")),
            *(f"//{tag}" for tag in NAMING_HEADING_TAGS),
            *(f"//@{name}" for name in (*BACKGROUND_ATTRS_ALL, *PLATFORM_ATTRS)),
            # Section titles styled as headings (hints.heading_level, which reads whole class tokens):
            # selecting attributes costs about a sixth of a parse on the shared corpus, an element
            # predicate tested on every element half of one; each contains() is one more pass, so the
            # class test is one substring per token ("itle" for title and Title).
            "//@role[. = 'heading']",
            "//@class[{}]".format(
                " or ".join(f"contains(., '{token[1:]}')" for token in HEADING_CLASS_TOKENS)
            ),
        ]
    )
)
HTML_PARSER = etree.HTMLParser()  # lxml.html's parser options, without its element classes
DECODABLE_TYPES = frozenset(
    {"", "image/jpeg", "image/jpg", "image/pjpeg", "image/png", "image/webp", "image/gif"}
)
WIDTH_PLACEHOLDER = re.compile(r"\{width\}", re.IGNORECASE)
PLACEHOLDER_WIDTH = "2048"  # Shopify themes write _{width}x and fill it in with JS
# The data-* attributes collect_img and collect_backgrounds read by name; other_data_images reads the rest.
IMG_DATA_ATTRS_READ = frozenset(
    (*LAZY_ATTRS, *ZOOM_ATTR_NAMES, *BACKGROUND_ATTRS, *PLATFORM_ATTRS, "data-a-dynamic-image")
)
META_IMAGE_NAMES = frozenset(
    {"og:image", "og:image:url", "og:image:secure_url", "twitter:image", "twitter:image:src"}
)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif")
IMAGE_EXTENSION_IN = re.compile("|".join(re.escape(ext) for ext in IMAGE_EXTENSIONS), re.IGNORECASE)
# Sources that are tags about the page, not pictures shown in it: a URL found only there gets
# the hint "meta_only" (a site-wide share banner is one).
META_SOURCES = frozenset({"og", "twitter", "link"})
# Sources that only name a picture (tags and data about the page), as opposed to markup that shows
# one: a URL found only there gets the hint "unshown" (choose_hero prefers pictures the page shows).
NAMING_SOURCES = frozenset({*META_SOURCES, "jsonld", "microdata", "platform"})
MAX_RELATED_HEADINGS = 16
HEADING_ATTRS = frozenset({"role", "class"})
PLACEHOLDER_WORDS = frozenset({"placeholder", "blank", "spacer", "loading", "loader", "lazy", "transparent"})
NO_HINTS: frozenset[Hint] = frozenset()
OTHER_PRODUCT = frozenset({Hint.OTHER_PRODUCT})
MICRODATA = frozenset({Hint.MICRODATA})
# <img usemap>: a picture with clickable areas, a banner or a menu drawn as one image, never a product photo.
IMAGE_MAP = frozenset({Hint.IMAGE_MAP})
TITLED = frozenset({Hint.TITLED})
PRIORITY = frozenset(
    {Hint.PRIORITY}
)  # fetchpriority="high": the first screen's main picture, by its author's word
NUXT_DATA_ID = "__NUXT_DATA__"  # Nuxt 3's payload script; several apps on a page mark theirs data-nuxt-data


class Found:
    """A candidate while the page is read: one per URL, later finds merged in (no Candidate per find)."""

    __slots__ = ("alt", "fallbacks", "height", "hints", "in_page", "shown", "source", "upsized_from", "width")

    def __init__(
        self, source: str, alt: str | None, width: int | None, height: int | None, hints: AbstractSet[Hint]
    ) -> None:
        self.source, self.alt, self.width, self.height = source, alt, width, height
        self.hints = set(hints)
        self.fallbacks: list[str] = []
        self.upsized_from: str | None = None
        self.in_page = source not in META_SOURCES
        self.shown = source not in NAMING_SOURCES

    def merge(
        self, source: str, alt: str | None, width: int | None, height: int | None, hints: AbstractSet[Hint]
    ) -> None:
        """A later find of the same URL: first source kept, all hints, any size and alt found."""
        self.alt = self.alt or alt
        self.width = _larger(self.width, width)
        self.height = _larger(self.height, height)
        self.hints |= hints
        self.in_page = self.in_page or source not in META_SOURCES
        self.shown = self.shown or source not in NAMING_SOURCES

    def tags(self) -> frozenset[Hint]:
        """Its hints, with `meta_only` / `unshown` when no find was in the page / showed it."""
        extra = (() if self.in_page else (Hint.META_ONLY,)) + (() if self.shown else (Hint.UNSHOWN,))
        return frozenset(self.hints.union(extra)) if extra else frozenset(self.hints)


@dataclass
class CandidateCollector:
    """Accumulates candidates by URL, merging repeated finds, up to `limit` distinct URLs."""

    base_url: str
    limit: int
    page_url: str = ""  # the page's own URL (base_url when not given): which links lead elsewhere
    aliases: tuple[str, ...] = ()  # other addresses the page gives itself (page_aliases), as written
    titles: frozenset[str] = frozenset()  # the product's name as the page's h1s write it (title_key)
    found: dict[str, Found] = field(default_factory=dict)
    ancestors: AncestorCache = field(default_factory=dict)  # element_hints' memo for this document
    # Each related heading costs a walk over part of the page; a hostile page repeating one would
    # make the extraction quadratic. Real pages have a handful of recommendation blocks.
    related_headings_left: int = MAX_RELATED_HEADINGS
    urls: PageUrls = field(init=False)
    siblings: SiblingPages = field(init=False)
    cards: CardFinder = field(init=False)
    page_key: str = field(init=False)  # the page's name in its route, how app state names it

    def __post_init__(self) -> None:
        page = self.page_url or self.base_url
        self.urls = PageUrls(self.base_url)
        resolved = (self.urls.resolve(alias) for alias in self.aliases)
        self.siblings = SiblingPages(page, [alias for alias in resolved if alias is not None])
        self.cards = CardFinder(self.siblings, self.urls.resolve)
        self.page_key = route_key(page)

    def names_sibling(self, href: str) -> bool:
        """Whether `href` (as the page writes it) is a sibling page: another product (links.py)."""
        return self.siblings.is_sibling(href, self.urls.resolve)

    def microdata_hints(self, element: Any) -> frozenset[Hint]:
        """For an `itemprop=image`: `microdata` (the page vouches for it), or `other_product` when its
        item is a product at a sibling page (cards.py)."""
        return OTHER_PRODUCT if self.cards.item_elsewhere(element) else MICRODATA

    def card_hints(self, element: Any, tags: AbstractSet[str]) -> frozenset[Hint]:
        """`other_product` for a picture in a link to a sibling product page (links.py), or in a card beside
        one (cards.py); `tags` are its ancestors'."""
        if "a" not in tags:
            return OTHER_PRODUCT if self.cards.beside_sibling_link(element) else NO_HINTS
        anchor = next(element.iterancestors("a"), None)
        href = anchor.get("href") if anchor is not None else None
        return OTHER_PRODUCT if href and self.names_sibling(href) else NO_HINTS

    def add(
        self,
        raw: str | None,
        source: str,
        hints: AbstractSet[Hint] = frozenset(),
        *,
        alt: str | None = None,
        width: int | None = None,
        height: int | None = None,
        fallback: str | None = None,
    ) -> None:
        """Add one find; `fallback` is an already resolved smaller copy of the same picture."""
        if raw and "{" in raw:
            raw = WIDTH_PLACEHOLDER.sub(PLACEHOLDER_WIDTH, raw)
        if raw is None:
            return
        url = self.urls.resolve(raw)
        if url is None:
            return
        all_hints = hints | url_hints(url)
        larger = largest_variant(url) if not url.startswith("data:") else None
        if larger is not None:  # the full-size copy first; the original stays as the fallback
            self.put(
                larger, source, alt=alt or None, width=None, height=None, hints=all_hints | {Hint.UPSIZED}
            )
            upsized = self.found.get(larger)
            if upsized is not None and upsized.upsized_from is None:
                upsized.upsized_from = url
        self.put(url, source, alt=alt or None, width=width, height=height, hints=all_hints)
        found = self.found.get(url)
        if fallback is not None and found is not None and fallback != url and fallback not in found.fallbacks:
            found.fallbacks.append(fallback)

    def put(
        self,
        url: str,
        source: str,
        *,
        alt: str | None,
        width: int | None,
        height: int | None,
        hints: AbstractSet[Hint],
    ) -> None:
        found = self.found.get(url)
        if found is not None:
            found.merge(source, alt, width, height, hints)
        elif len(self.found) < self.limit:
            self.found[url] = Found(source, alt, width, height, hints)

    def candidates(self) -> list[Candidate]:
        """The candidates in order of discovery (`position` is that order)."""
        return [
            Candidate(
                url,
                found.source,
                position,
                found.alt,
                found.width,
                found.height,
                found.tags(),
                tuple(found.fallbacks),
                found.upsized_from,
            )
            for position, (url, found) in enumerate(self.found.items())
        ]


def extract_candidates(page: Page, *, limit: int) -> list[Candidate]:
    """Every image the page references (at most `limit` distinct URLs), in order of discovery."""
    document = parse_document(page)
    if document is None:
        return []
    collector = CandidateCollector(
        base_url=document_base_url(document, page.url),
        limit=limit,
        page_url=page.url,
        aliases=page_aliases(document),
        titles=product_titles(document),
    )
    for node in CANDIDATE_XPATH(document):
        if not isinstance(node, str):
            ELEMENT_HANDLERS[node.tag](node, collector)
            continue
        # An attribute hit: lxml's "smart string" knows its attribute's name and its element.
        hit: Any = node
        name, element = hit.attrname, hit.getparent()
        if name in PLATFORM_ATTRS:
            if element.tag != "img":  # collect_img reads its own zoom attributes
                collect_platform_attributes(element, name, collector)
        elif name in HEADING_ATTRS:
            collect_styled_heading(element, name, collector)
        else:
            collect_backgrounds(element, name, collector)
    return collector.candidates()


H1_XPATH = etree.XPath("//h1")
MAX_TITLE_CHARS = 300
MIN_TITLE_WORDS = 2  # one word ("Shop", "Sale") names no product


def product_titles(document: Any) -> frozenset[str]:
    """The page's h1 texts (its product's name on a product page), each as `title_key` writes it."""
    keys = (title_key(" ".join(h1.itertext())) for h1 in H1_XPATH(document))
    return frozenset(key for key in keys if key)


def title_key(text: str | None) -> str:
    """Text compared as a product name: lower-case word tokens; "" when too short or too long to be one."""
    if not text or len(text) > MAX_TITLE_CHARS:
        return ""
    tokens = tokens_of(text)
    return " ".join(tokens) if len(tokens) >= MIN_TITLE_WORDS else ""


def parse_document(page: Page) -> Any:
    """The lxml tree of the page, or None if there is no markup at all.

    lxml.html.document_fromstring with plain etree elements: lxml.html's HtmlElement classes
    are chosen by a Python callback for every element object handed out (XPath results,
    getparent), which cost more than the parse; nothing here uses their extra methods.
    """
    parser = HTML_PARSER
    if page.encoding:
        try:
            parser = etree.HTMLParser(encoding=page.encoding)
        except LookupError:
            parser = HTML_PARSER
    try:
        return lxml.html.document_fromstring(page.html, parser=parser)  # type: ignore[arg-type]  # an etree parser on purpose (docstring)
    except (etree.ParserError, ValueError):
        return None


def document_base_url(document: Any, page_url: str) -> str:
    """The `<base href>` resolved against the page URL, else the page URL."""
    for base in document.iter("base"):
        resolved = resolve_url(base.get("href"), page_url)
        if resolved and not resolved.startswith("data:"):
            return resolved
    return page_url


def page_aliases(document: Any) -> tuple[str, ...]:
    """The addresses the page's head gives it besides its URL: `<link rel=canonical>` and og:url."""
    head = document.find("head")
    if head is None:
        return ()
    aliases = []
    for element in head.iter("link", "meta"):
        if element.tag == "link" and "canonical" in (element.get("rel") or "").lower().split():
            aliases.append(element.get("href"))
        elif element.tag == "meta" and (element.get("property") or "").strip().lower() == "og:url":
            aliases.append(element.get("content"))
    return tuple(alias for alias in aliases if alias)


def _larger(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def collect_img(element: Any, collector: CandidateCollector) -> None:
    """`<img>`: lazy attributes first, then src (unless it is the lazy loader's placeholder), srcset, zoom."""
    attrs = dict(element.items())  # one C call; an img is asked for some thirty attributes
    hints = element_hints(element, collector.ancestors) | img_attribute_hints(element, attrs, collector)
    tags = lineage_of(element, collector.ancestors).tags
    hints |= collector.card_hints(element, tags)
    source = "picture" if "picture" in tags else "noscript" if "noscript" in tags else "img"
    alt = attrs.get("alt")
    width, height = int_attr(attrs.get("width")), int_attr(attrs.get("height"))
    deferred: list[str | None] = []  # the lazy loader's srcset (largest entry) and src, set by script later
    if not LAZY_ATTRS.isdisjoint(attrs):
        deferred = [_largest_url(attrs[name]) for name in LAZY_SRCSET_ATTRS if attrs.get(name)]
        deferred += [attrs[name] for name in LAZY_SRC_ATTRS if attrs.get(name)]
    picture = next(element.iterancestors("picture"), None) if source == "picture" else None
    shown = picture_choice(picture) if picture is not None else None
    data_images = other_data_images(attrs)
    for url in data_images if shown is not None else deferred + data_images:
        collector.add(url, "lazy", hints, alt=alt)
    src = attrs.get("src")
    if (deferred or data_images) and is_placeholder_src(src):
        src = None
    if shown is not None:
        # The <img> of a <picture> is the fallback of what its <source> shows (the same picture
        # in another format), its lazy loader's src and srcset included: downloaded only if that
        # one cannot be.
        for fallback in (_largest_url(attrs.get("srcset")), *deferred, src):
            fallback_url = collector.urls.resolve(fallback) if fallback else None
            collector.add(shown, "picture", hints, alt=alt, fallback=fallback_url)
        src = None
    src_entry = _srcset_with_its_src(attrs.get("srcset"), src, collector) if src else None
    if src_entry is not None:
        # The standard makes src the srcset's own 1x entry: the same picture, smaller. It is
        # downloaded only if the largest entry cannot be.
        collector.add(src_entry.url, "srcset", hints, alt=alt, width=src_entry.width, fallback=src_entry.src)
    elif shown is None:
        collector.add(
            src, source, hints | _declared_pixel(width, height), alt=alt, width=width, height=height
        )
        collect_srcset(attrs.get("srcset"), "srcset", hints, alt, collector)
    for name in () if ZOOM_ATTR_NAMES.isdisjoint(attrs) else ZOOM_ATTRS:
        if attrs.get(name):
            collector.add(attrs[name], "zoom", hints | {Hint.ZOOM}, alt=alt)
    dynamic = attrs.get("data-a-dynamic-image")
    largest = dynamic_image_url(dynamic) if dynamic else None
    if largest is not None:
        collector.add(largest[0], "lazy", hints | {Hint.ZOOM}, alt=alt, width=largest[1])


def img_attribute_hints(
    element: Any, attrs: dict[str, str], collector: CandidateCollector
) -> frozenset[Hint]:
    """What an `<img>`'s own attributes say: itemprop=image, fetchpriority=high, usemap, and `titled` when its
    alt or title is the product's name as the page's h1 writes it (the photo a person would call the product's)."""
    hints = NO_HINTS
    if collector.titles and not collector.titles.isdisjoint(
        (title_key(attrs.get("alt")), title_key(attrs.get("title")))
    ):
        hints |= TITLED
    if (attrs.get("itemprop") or "").strip().lower() == "image":
        hints |= collector.microdata_hints(element)
    if (attrs.get("fetchpriority") or "").strip().lower() == "high":
        hints |= PRIORITY
    if attrs.get("usemap"):
        hints |= IMAGE_MAP
    return hints


def other_data_images(attrs: dict[str, str]) -> list[str | None]:
    """Image-file URLs (or srcsets of them) in an `<img>`'s other `data-*` attributes, largest entry each.

    Themes and plugins name their own: `data-pin-media` (Pinterest's full-size pin),
    `data-hires`, `data-retina-src`, `data-desktop-src`, `data-fullsize`. Whatever they hold
    is a version of this picture (or a stand-in the pixel rules drop), so each is read like a
    lazy attribute.
    """
    return [
        _largest_url(value)
        for name, value in attrs.items()
        if name.startswith("data-")
        and name not in IMG_DATA_ATTRS_READ
        and IMAGE_EXTENSION_IN.search(value)
        and not value.lstrip().startswith(("{", "["))  # JSON: only the platforms' known shapes are read
    ]


def collect_source(element: Any, collector: CandidateCollector) -> None:
    """`<picture><source srcset>`: the largest entry of each source whose type we can decode.

    Sources without a `media` query offer one picture in several formats: the one a browser
    shows (`picture_choice`) is the candidate, and the others are its fallbacks.
    """
    picture = next(element.iterancestors("picture"), None)
    if picture is None:
        return
    if not _decodable_source(element):
        return  # AVIF/JPEG XL/HEIC: the browser's choice, not ours; the fallback <img> is still there
    hints = element_hints(element, collector.ancestors)
    hints |= collector.card_hints(element, lineage_of(element, collector.ancestors).tags)
    shown = None if element.get("media") else picture_choice(picture)
    for entry in _source_entries(element):
        if shown is None or entry.url == shown:
            collector.add(entry.url, "picture", hints, width=entry.width)
        else:
            collector.add(shown, "picture", hints, fallback=collector.urls.resolve(entry.url))


def picture_choice(picture: Any) -> str | None:
    """What a browser shows for a `<picture>`: the largest entry of its first `<source>` we decode.

    Only sources without a `media` query count: they offer the same picture in other formats.
    A source with one is art direction (another crop for another screen), a candidate of its
    own. None when no such source has an entry: the `<img>` is then the picture. (libxml2 nests
    each `<source>` in the one before, so the sources are the picture's descendants.)
    """
    entries = (
        entry
        for element in picture.iter("source")
        if not element.get("media") and _decodable_source(element)
        for entry in _source_entries(element)
    )
    return next((entry.url for entry in entries), None)


def _decodable_source(element: Any) -> bool:
    """A `<source>` whose type we decode (JPEG/PNG/WebP/GIF, or none given)."""
    return (element.get("type") or "").strip().lower() in DECODABLE_TYPES


def _source_entries(element: Any) -> Iterator[SrcsetEntry]:
    """The largest entry of a `<source>`'s srcset, then of each lazy-load srcset it carries."""
    for name in ("srcset", *LAZY_SRCSET_ATTRS):
        entry = largest_srcset_entry(element.get(name)) if element.get(name) else None
        if entry is not None:
            yield entry


def collect_srcset(
    srcset: str | None, source: str, hints: frozenset[Hint], alt: str | None, collector: CandidateCollector
) -> None:
    entry = largest_srcset_entry(srcset) if srcset else None
    if entry is not None:
        collector.add(entry.url, source, hints, alt=alt, width=entry.width)


@dataclass(frozen=True)
class SrcsetWithSrc:
    """An <img>'s largest srcset entry, when its src is one of the smaller entries (resolved)."""

    url: str
    width: int | None
    src: str


def _srcset_with_its_src(srcset: str | None, src: str, collector: CandidateCollector) -> SrcsetWithSrc | None:
    """The largest srcset entry if `src` is another entry of the same srcset, else None."""
    if not srcset:
        return None
    entries = parse_srcset(srcset)
    largest = largest_srcset_entry(srcset) if len(entries) > 1 else None
    if largest is None:
        return None
    resolve = collector.urls.resolve
    src_url, largest_url = resolve(src), resolve(largest.url)
    if src_url is None or largest_url is None or src_url == largest_url:
        return None
    if not any(resolve(entry.url) == src_url for entry in entries):
        return None
    return SrcsetWithSrc(url=largest.url, width=largest.width, src=src_url)


def _largest_url(srcset: str | None) -> str | None:
    entry = largest_srcset_entry(srcset) if srcset else None
    return entry.url if entry else None


def collect_meta(element: Any, collector: CandidateCollector) -> None:
    """`og:image`, `twitter:image` and `itemprop=image` meta tags."""
    name = (element.get("property") or element.get("name") or "").strip().lower()
    if name in META_IMAGE_NAMES:
        collector.add(element.get("content"), "twitter" if name.startswith("twitter") else "og", {Hint.OG})
    elif (element.get("itemprop") or "").strip().lower() == "image":
        collector.add(element.get("content"), "microdata", collector.microdata_hints(element))


def collect_link(element: Any, collector: CandidateCollector) -> None:
    """`<link rel=image_src>`, `<link rel=preload as=image>` and `<link itemprop=image>`."""
    rel = (element.get("rel") or "").lower().split()
    if "image_src" in rel:
        collector.add(element.get("href"), "link", {Hint.OG})
    elif "preload" in rel and (element.get("as") or "").lower() == "image":
        hints = PRIORITY if (element.get("fetchpriority") or "").strip().lower() == "high" else NO_HINTS
        collector.add(element.get("href"), "preload", hints)
        collect_srcset(element.get("imagesrcset"), "preload", hints, None, collector)
    elif (element.get("itemprop") or "").strip().lower() == "image":
        collector.add(element.get("href"), "microdata", collector.microdata_hints(element))


def collect_anchor(element: Any, collector: CandidateCollector) -> None:
    """`<a href="…/large.jpg">`: a link to an image file, often the full-size version of a thumbnail."""
    href = element.get("href") or ""
    if IMAGE_EXTENSION_IN.search(href) and urlsplit(href.strip()).path.lower().endswith(IMAGE_EXTENSIONS):
        collector.add(href, "anchor", element_hints(element, collector.ancestors) | {Hint.LINKED})


def collect_script(element: Any, collector: CandidateCollector) -> None:
    """JSON-LD Product images, the product JSON shop platforms embed (extract/structured.py), app state."""
    script_type = (element.get("type") or "").strip().lower()
    text = element.text or ""
    if script_type == "application/ld+json":
        for url in product_image_urls(text, elsewhere=collector.names_sibling):
            collector.add(url, "jsonld", {Hint.JSONLD_PRODUCT})
        return
    platform: list[PlatformImage] = []
    if script_type not in ("", "text/javascript", "module") or "BCData" in text:
        platform = list(script_images(script_type, dict(element.attrib), text))
    # A platform's own shape, else the page's product in a web app's state (extract/state.py).
    devalue = element.get("id") == NUXT_DATA_ID or element.get("data-nuxt-data") is not None
    _add_platform(platform or state_images(script_type, text, collector.page_key, devalue=devalue), collector)


def collect_heading(element: Any, collector: CandidateCollector) -> None:
    """A heading (h2–h4, or styled as one) naming other products marks its block related, a few per page.

    See hints.mark_related_block and hints.heading_level.
    """
    if collector.related_headings_left > 0 and mark_related_block(element, collector.ancestors):
        collector.related_headings_left -= 1


def collect_styled_heading(element: Any, attribute: str, collector: CandidateCollector) -> None:
    """A role="heading" or title-class element is read as a heading, once: an h2–h4 is read by its tag."""
    if element.tag in NAMING_HEADING_TAGS or (attribute == "class" and element.get("role") == "heading"):
        return
    collect_heading(element, collector)


def collect_noscript(element: Any, collector: CandidateCollector) -> None:
    """`<noscript>` whose markup arrived as text (inside <head>, or escaped): parse it and collect."""
    text = element.text or ""
    if "<img" not in text.lower():
        return
    try:
        fragment = lxml.html.fragment_fromstring(text, create_parent="noscript")
    except (etree.ParserError, ValueError):
        return
    for image in fragment.iter("img"):
        collect_img(image, collector)


def collect_platform_attributes(element: Any, name: str, collector: CandidateCollector) -> None:
    """WooCommerce variations, Magento `data-gallery`, BigCommerce gallery links, zoom attributes."""
    value = element.get(name) or ""
    hints = element_hints(element, collector.ancestors)
    if name == "data-product_variations":
        _add_platform(woocommerce_variation_images(value), collector, hints)
    elif name == "data-gallery" and "{" in value:
        _add_platform(magento_data_images(load_lenient_json(value)), collector, hints)
    elif name == "data-image-gallery-new-image-url":
        collector.add(value, "platform", hints | {Hint.GALLERY})
    else:
        collector.add(value, "zoom", hints | {Hint.ZOOM})


def _add_platform(
    images: Iterable[PlatformImage], collector: CandidateCollector, hints: frozenset[Hint] = frozenset()
) -> None:
    for url, platform_hints in images:
        collector.add(url, "platform", hints | platform_hints)


def collect_backgrounds(element: Any, name: str, collector: CandidateCollector) -> None:
    """`url()` in an inline style, or a lazy background attribute, on any element (`data-bgset`: each
    set's largest entry)."""
    value = element.get(name) or ""
    urls: Sequence[str | None]
    if name == "style":
        if "url(" not in value.lower():
            return
        urls = css_urls(value)
    elif name == "data-bgset":
        if element.tag == "img":
            return  # collect_img reads it with the img's other lazy attributes
        urls = [_largest_url(BGSET_MEDIA.sub("", part)) for part in value.split("|")]
    else:
        urls = [value]
    hints = element_hints(element, collector.ancestors) | {Hint.CSS}
    hints |= collector.card_hints(element, lineage_of(element, collector.ancestors).tags)
    for url in urls:
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
    "script": collect_script,
    "noscript": collect_noscript,
    **dict.fromkeys(NAMING_HEADING_TAGS, collect_heading),
}


def is_placeholder_src(src: str | None) -> bool:
    """True for the stand-in `src` a lazy loader swaps out: a data: URI or a blank/loading image."""
    if not src:
        return True
    lowered = src.strip().lower()
    if lowered.startswith("data:"):
        return True
    if not any(word in lowered for word in PLACEHOLDER_WORDS):  # each token is a piece of `lowered`
        return False
    try:
        path = urlsplit(src.strip()).path
    except ValueError:  # a malformed IPv6 host; resolve_url refuses it anyway
        return False
    return not PLACEHOLDER_WORDS.isdisjoint(tokens_of(path))


PIXEL_LENGTH = re.compile(r"\s*(\d{1,6})(?:\.\d*)?\s*(?:px)?\s*")


def int_attr(value: str | None) -> int | None:
    """An HTML length attribute as whole pixels ("300", "300px"); None if absent or relative."""
    if value and value.isascii() and value.isdigit() and len(value) <= 6:  # the usual "300"
        return int(value)
    match = PIXEL_LENGTH.fullmatch(value) if value else None
    return int(match.group(1)) if match else None


def _declared_pixel(width: int | None, height: int | None) -> frozenset[Hint]:
    if width is not None and height is not None and width <= 2 and height <= 2:
        return frozenset({Hint.PIXEL})
    return frozenset()
