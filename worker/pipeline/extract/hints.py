"""Hints from the markup around an image: class/id/alt words, page chrome, related-product blocks, URL words.

`element_hints` reads the element's own class, id, aria-label and short alt text and those
of its NEAR_ANCESTORS nearest ancestors, matched as whole tokens against HINT_PHRASES
(camelCase, kebab-case and snake_case are split); any ancestor inside a related/upsell
block adds `related` (a block is related by its own words, or because a heading names it:
"You may also like", see `mark_related_block`; a title styled as a heading counts, see
`heading_level`), and header/footer/nav outside main/article adds `chrome`. `url_hints`
reads only unambiguous words from the file path, tracking hosts, SVGs and data: URIs. The
hints are explained in docs/scoring.md.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from worker.pipeline.types import Hint

NEAR_ANCESTORS = 4  # how far up class/id still describe this image rather than the page section
SHORT_ALT_WORDS = 4  # "Acme logo" names a logo; "Mug with our logo printed" describes a product
CHROME_TAGS = frozenset({"header", "footer", "nav"})
CONTENT_TAGS = frozenset({"main", "article"})

# hint -> comma-separated phrases matched against the tokens of class, id, short alt text and
# (for URL_HINTS only) the URL path.
HINT_PHRASES: dict[Hint, str] = {
    Hint.LOGO: "logo, logos, site logo, brand logo",
    Hint.ICON: "icon, icons, ico, favicon, glyph, emoji",
    Hint.SPRITE: "sprite, sprites",
    Hint.BADGE: "badge, badges, payment, payments, pay, trust, seal, visa, mastercard, paypal, amex, rating, stars, flag, flags, award",
    Hint.AVATAR: "avatar, avatars, gravatar, reviewer, author photo, user photo, profile photo",
    Hint.PLACEHOLDER: "placeholder, spacer, spinner, loader, no image, noimage, coming soon",
    Hint.PIXEL: "pixel, tracking, tracker, beacon, 1x1",
    Hint.PROMO: "promo, promotion, advert, advertisement, sponsored",
    Hint.GALLERY: "gallery, product image, product images, product media, product photo, product photos, slideshow, media gallery",
    Hint.HERO: "hero, main image, primary image, featured image, main photo, landing image, featured media, wp post image",
    Hint.ZOOM: "zoom, zoomable, lightbox, fullsize, full size, large image",
    Hint.LIFESTYLE: "lifestyle, in use, scene, lookbook",
    Hint.SOCIAL: "instagram, instagram feed, social feed, ugc, follow us, shop our instagram",
    Hint.REVIEW: "review, reviews, review photos, customer photos, customer images, jdgm, yotpo, stamped, okendo, loox",
    Hint.POPUP: "popup, popups, pop up",
    Hint.CHART: "size chart, size charts, size guide, sizing chart, sizing guide, size table, measurement chart, fit guide, sizechart, sizeguide",
}
RELATED_PHRASES_TEXT = (
    "related, recommended, recommendations, recommendation, upsell, upsells, up sell, cross sell, "
    "cross sells, cross selling, crosssell, crossselling, also bought, also viewed, also like, "
    "you may, similar products, recently viewed, "
    "more products, other products, customers also, customers who, complete the look, shop the look, "
    "bought together, frequently bought, pairs well, goes well, similar items, similar products, "
    "sponsored products, trending products, best sellers, bestsellers, product accessories, "
    "more from, more to love, complementary"
)
# A heading is prose, where a single word ("Recommended use") proves nothing: only phrases.
RELATED_HEADINGS_TEXT = (
    "related products, related items, you may also like, you might also like, you may like, "
    "you might like, customers also, customers who, people also, others also, frequently bought, "
    "bought together, complete the look, shop the look, similar products, similar items, "
    "more from this, more to love, more like this, recently viewed, recommended for you, "
    "recommended products, pairs well with, goes well with, shop similar, sponsored products, "
    "sponsored items, best sellers, trending now"
)
NAMING_LEVELS = range(2, 5)  # an h1 is the product's own title
NAMING_HEADING_TAGS = tuple(f"h{level}" for level in NAMING_LEVELS)
# Themes also title a section with a styled element instead of an h2–h4: role="heading" (its
# aria-level, 2 by default) or a class token such as "section-title" (level 2).
HEADING_CLASS_TOKENS = ("heading", "title")  # extract.CANDIDATE_XPATH finds them by substring
DEFAULT_HEADING_LEVEL = 2
NOT_HEADINGS = frozenset(
    {"h1", "h5", "h6", "a", "button", "label", "option", "select", "input", "img", "li", "ul", "ol"}
)
# A heading's flat block ends at a heading of the same or a higher level: h2 -> h1, h2.
HEADING_TAGS_UP_TO = {level: tuple(f"h{higher}" for higher in range(1, level + 1)) for level in NAMING_LEVELS}
# A heading's block never grows to these: a heading beside the gallery in a flat layout names the
# elements after it, not the page's whole content.
PAGE_LEVEL_TAGS = frozenset({"main", "article", "body", "html", "form"})
MAX_HEADING_CHARS = 80


HintTable = dict[Hint, tuple[str, ...]]  # a hint -> the phrases that give it


def _phrases(text: str) -> tuple[str, ...]:
    return tuple(phrase.strip() for phrase in text.split(","))


HINT_KEYWORDS: HintTable = {hint: _phrases(phrases) for hint, phrases in HINT_PHRASES.items()}
RELATED_PHRASES = _phrases(RELATED_PHRASES_TEXT)
RELATED_TABLE = {Hint.RELATED: RELATED_PHRASES}
RELATED_HEADING_TABLE = {Hint.RELATED: _phrases(RELATED_HEADINGS_TEXT)}
RELATED = frozenset({Hint.RELATED})
# Only unambiguous words count when they appear in a file name ("blank-notebook.jpg" is a product).
URL_HINTS = (Hint.LOGO, Hint.ICON, Hint.SPRITE, Hint.PLACEHOLDER, Hint.PIXEL, Hint.AVATAR, Hint.CHART)
URL_TABLE: HintTable = {hint: HINT_KEYWORDS[hint] for hint in URL_HINTS}
TRACKING_HOST_WORDS = frozenset({"doubleclick", "analytics", "pixel", "tracking", "beacon"})


class Lineage(NamedTuple):
    """What an element's ancestors say: their nearest descriptions, related block, page chrome.

    A NamedTuple rather than a frozen dataclass: one is built per ancestor, and that is cheaper.
    """

    near: tuple[str, ...]
    tags: frozenset[str]
    related: bool
    chrome: bool
    content: bool


AncestorCache = dict[Any, Lineage]
ROOT_LINEAGE = Lineage(near=(), tags=frozenset(), related=False, chrome=False, content=False)


def element_hints(element: Any, cache: AncestorCache | None = None) -> frozenset[Hint]:
    """Hints from the element's own class/id/short alt and its ancestors' class/id and tags.

    `cache` (one per document) remembers each ancestor's lineage, so siblings share the walk.
    The element's own words and its ancestors' are matched apart (a phrase does not run from one
    into the other), so the ancestors' hints are worked out once per lineage, for every page that
    has it: the element's alt text, unique to a product, would make every joined text new.
    """
    cache = {} if cache is None else cache
    hints = text_hints(_describe(element, with_alt=True)) | lineage_hints(lineage_of(element, cache))
    marked = cache.get(element)  # an image that is itself one of a related heading's blocks
    return hints | RELATED if marked is not None and marked.related else hints


@lru_cache(maxsize=4096)
def lineage_hints(lineage: Lineage) -> frozenset[Hint]:
    """The hints an element takes from its ancestors: their nearest descriptions, related block, page chrome."""
    hints = text_hints(" ".join(lineage.near))
    if lineage.related:
        hints |= RELATED
    if lineage.chrome and not lineage.content:
        hints |= {Hint.CHROME}
    return hints


def lineage_of(element: Any, cache: AncestorCache) -> Lineage:
    """The lineage of `element`'s ancestors (memoized in `cache`)."""
    return _lineage(element.getparent(), cache)


def _lineage(node: Any, cache: AncestorCache) -> Lineage:
    if node is None:
        return ROOT_LINEAGE
    found = cache.get(node)
    if found is None:
        parent = _lineage(node.getparent(), cache)
        text, tag = _describe(node), str(node.tag).lower()
        found = cache[node] = Lineage(
            (text, *parent.near)[:NEAR_ANCESTORS],
            parent.tags if tag in parent.tags else parent.tags | {tag},
            parent.related or has_related_words(text),
            parent.chrome or tag in CHROME_TAGS,
            parent.content or tag in CONTENT_TAGS,
        )
    return found


@lru_cache(maxsize=4096)
def text_hints(text: str) -> frozenset[Hint]:
    """keyword_hints over HINT_KEYWORDS, memoized: class names repeat across a page and across pages."""
    return frozenset(keyword_hints(text, HINT_KEYWORDS))


@lru_cache(maxsize=4096)
def has_related_words(text: str) -> bool:
    return bool(text.strip()) and bool(keyword_hints(text, RELATED_TABLE))


def mark_related_block(heading: Any, cache: AncestorCache) -> bool:
    """If `heading` names other products ("You may also like", "More from this shop"), mark its block related.

    Utility-class markup (Tailwind) gives a recommendations section no telling class; its heading
    still says what it is. The block is the nearest ancestor holding an image (climbing out of a
    header wrapper). Where that block is page-level, holds the page's h1, or holds an image before
    the heading (a flat layout: the gallery and the recommendations side by side), the block is
    instead the siblings after the heading's branch, up to one that is or holds a heading of the
    same or a higher level (product cards' own h3/h4 titles do not end an h2's block). Images come
    after their heading in document order, so their lineage is built from the marked block.
    Returns whether the heading named other products (whether or not a block was found to mark).
    """
    level = heading_level(heading)
    if level is None:
        return False
    text = (heading.text or "") if len(heading) == 0 else " ".join(heading.itertext())
    if len(text) > MAX_HEADING_CHARS or not names_related_block(text):
        return False
    branch, block = heading, heading.getparent()
    while block is not None and not _page_level(block) and block.find(".//img") is None:
        branch, block = block, block.getparent()
    if block is None:
        return True
    if not (_page_level(block) or block.find(".//h1") is not None or _image_before(branch)):
        _mark_related(block, cache)
        return True
    peers = HEADING_TAGS_UP_TO[level]
    for sibling in branch.itersiblings():
        if isinstance(sibling.tag, str) and (sibling.tag in peers or any(sibling.iterdescendants(*peers))):
            break
        _mark_related(sibling, cache)
    return True


def heading_level(element: Any) -> int | None:
    """The level (2–4) of an element titling a section: h2–h4, role="heading" or a title class; else None.

    An h1 (or aria-level 1) is the product's own title. Links, buttons, form and list items are
    never section titles: a menu's "Best sellers" link names a page, not the block it sits in.
    """
    tag = element.tag
    if tag in NAMING_HEADING_TAGS:
        return int(tag[1])
    if not isinstance(tag, str) or tag in NOT_HEADINGS:
        return None
    if element.get("role") == "heading":
        level = (element.get("aria-level") or "").strip()
        if not level:
            return DEFAULT_HEADING_LEVEL
        return (
            min(int(level), NAMING_LEVELS[-1]) if level.isdigit() and int(level) >= NAMING_LEVELS[0] else None
        )
    if not any(token in HEADING_CLASS_TOKENS for token in tokens_of(element.get("class") or "")):
        return None
    return DEFAULT_HEADING_LEVEL


@lru_cache(maxsize=4096)
def names_related_block(heading_text: str) -> bool:
    return bool(keyword_hints(heading_text, RELATED_HEADING_TABLE))


def _page_level(element: Any) -> bool:
    return str(element.tag).lower() in PAGE_LEVEL_TAGS


def _image_before(branch: Any) -> bool:
    """True if an earlier sibling of `branch` is or holds an image."""
    return any(
        sibling.tag == "img" or sibling.find(".//img") is not None
        for sibling in branch.itersiblings(preceding=True)
        if isinstance(sibling.tag, str)
    )


def _mark_related(block: Any, cache: AncestorCache) -> None:
    cache[block] = _lineage(block, cache)._replace(related=True)


def _describe(element: Any, *, with_alt: bool = False) -> str:
    """class, id and aria-label (and a short alt), space-separated; one per ancestor, so kept cheap.

    A custom element's own name counts too: Shopify's themes wrap their blocks in
    `<product-recommendations>`, `<media-gallery>` or `<recently-viewed-products>`, whose class
    may say nothing.
    """
    text = f"{element.get('class') or ''} {element.get('id') or ''} {element.get('aria-label') or ''}"
    tag = element.tag
    if isinstance(tag, str) and "-" in tag:  # only custom elements have a hyphen in their name
        text = f"{text} {tag}"
    if with_alt:
        alt = element.get("alt") or ""
        if len(alt.split()) <= SHORT_ALT_WORDS:
            text = f"{text} {alt}"
    return text


CAMEL_BOUNDARY = re.compile(r"(?<=[a-z])(?=[A-Z])")
WORD = re.compile(r"[a-z0-9]+")


def tokens_of(text: str) -> list[str]:
    """Lower-case word tokens; camelCase, kebab-case and snake_case are split."""
    return WORD.findall(CAMEL_BOUNDARY.sub(" ", text).lower())


def keyword_hints(text: str, table: HintTable) -> set[Hint]:
    """The hints whose phrases occur as whole tokens in `text` ("icon32" counts as "icon")."""
    tokens = tokens_of(text)
    if not tokens:
        return set()
    singles, multi = _compiled(table)
    found: set[Hint] = set()
    joined = ""
    for token in set(tokens):
        for word in (token, token.rstrip("0123456789")) if token[-1].isdigit() else (token,):
            if word in singles:
                found.update(singles[word])
        if token in multi:  # a multi-word phrase can only start at a token
            joined = joined or f" {' '.join(tokens)} "
            found.update(hint for phrase, hint in multi[token] if phrase in joined)
    return found


# One-word phrase -> its hints; first word of a multi-word phrase -> (phrase padded with spaces, hint).
PhraseIndex = tuple[dict[str, tuple[Hint, ...]], dict[str, tuple[tuple[str, Hint], ...]]]
_COMPILED: dict[int, tuple[HintTable, PhraseIndex]] = {}


def _compiled(table: HintTable) -> PhraseIndex:
    """The phrase index of a hint table; up to 64 tables are kept (with the table, so its id stays its own)."""
    cached = _COMPILED.get(id(table))
    if cached is not None and cached[0] is table:
        return cached[1]
    singles: dict[str, list[Hint]] = {}
    multi: dict[str, list[tuple[str, Hint]]] = {}
    for hint, phrases in table.items():
        for phrase in phrases:
            if " " in phrase:
                multi.setdefault(phrase.split(" ")[0], []).append((f" {phrase} ", hint))
            else:
                singles.setdefault(phrase, []).append(hint)
    index = (
        {word: tuple(hints) for word, hints in singles.items()},
        {word: tuple(entries) for word, entries in multi.items()},
    )
    if len(_COMPILED) < 64:
        _COMPILED[id(table)] = (table, index)
    return index


@lru_cache(maxsize=4096)
def url_hints(url: str) -> frozenset[Hint]:
    """Hints read from the URL: unambiguous file-name words, tracking hosts, SVG and data: URIs."""
    if url.startswith("data:"):
        return frozenset(
            {Hint.DATA_URI, Hint.SVG} if url.lower().startswith("data:image/svg") else {Hint.DATA_URI}
        )
    parts = urlsplit(url)
    hints = keyword_hints(parts.path, URL_TABLE)
    if set(tokens_of(parts.hostname or "")) & TRACKING_HOST_WORDS:
        hints.add(Hint.PIXEL)
    if parts.path.lower().endswith((".svg", ".svgz")):
        hints.add(Hint.SVG)
    return frozenset(hints)
