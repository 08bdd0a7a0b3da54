"""Which links lead to another product: the page a product card's picture opens is a sibling of this one.

A shop shows other products as cards (a picture inside a link to that product's page) in blocks
that do not always say what they are; where the link goes says it instead.
`SiblingPages.is_sibling` is True for a link to another page of the same kind on the same site:
the same route with another last segment. The routes recognised and the links never counted are
in docs/scoring.md §1 (hint `other_product`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from urllib.parse import unquote, urlsplit

PAGE_SUFFIXES = (".html", ".htm", ".php", ".aspx", ".asp", ".jsp")
FILE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif", ".svg", ".pdf", ".zip", ".mp4")
ACTION_WORDS = frozenset(
    {
        "cart", "checkout", "order", "orders", "buy", "basket", "purchase", "add", "subscribe",
        "subscription", "pay", "payment", "login", "account", "register", "wishlist", "compare", "upsell",
        "downsell", "offer", "thank", "thanks",
    }
)  # fmt: skip
# Whole words only, letters around them excluded ("addons" and "cartridge" are no actions).
ACTION_WORD = re.compile(
    r"(?<![a-z])(?:{})(?![a-z])".format("|".join(sorted(ACTION_WORDS, key=len, reverse=True))), re.IGNORECASE
)
SITE_PREFIXES = ("www.", "m.")


def _site(host: str | None) -> str:
    host = (host or "").lower()
    for prefix in SITE_PREFIXES:
        if host.startswith(prefix):
            return host[len(prefix) :]
    return host


def route_segments(path: str) -> list[str]:
    """The route's segments, %-escapes decoded (a link may be written either way); no empty or `ref=…` ones."""
    return [segment for segment in unquote(path).split("/") if segment and not segment.startswith("ref=")]


def page_name(segment: str) -> str:
    """A route segment without its page suffix (`mug.html` → `mug`), case kept."""
    return segment[: len(segment) - len(_suffix(segment))]


def route_key(url_or_path: str) -> str:
    """The last segment of a URL's or path's route, without a page suffix: the page's name (case kept)."""
    try:
        path = urlsplit(url_or_path).path if "/" in url_or_path else url_or_path
    except ValueError:
        return ""
    segments = route_segments(path)
    return page_name(segments[-1]) if segments else ""


def page_stem(segment: str) -> str:
    """A route segment's page name, lower-cased: how two links to one page compare."""
    return page_name(segment).lower()


def _acts(segments: list[str]) -> bool:
    """A link that acts on a product (`/cart/add`, `/checkout/…`, `/order-now`) rather than showing one.

    The last segment of a deeper route is a product's name, where "add-on kit" or "buy one get
    one" is just a name; one segment alone (a landing page's order link) is read whole.
    """
    route = segments if len(segments) == 1 else segments[:-1]
    return ACTION_WORD.search("/".join(route)) is not None


def _suffix(segment: str) -> str:
    lowered = segment.lower()
    return next((suffix for suffix in PAGE_SUFFIXES if lowered.endswith(suffix)), "")


class SiblingPages:
    """The route of one page, and for each link whether it is a sibling page; memoized by the link's text."""

    def __init__(self, page_url: str, aliases: Iterable[str] = ()) -> None:
        """`aliases`: absolute URLs the page also calls itself (canonical link, og:url)."""
        parts = urlsplit(page_url)
        self.site = _site(parts.hostname)
        self.segments = route_segments(parts.path)
        self.own_names = {page_stem(self.segments[-1])} if self.segments else set()
        for alias in aliases:
            self.own_names |= self._own_name(alias)
        self._known: dict[str, bool] = {}

    def _own_name(self, alias: str) -> set[str]:
        try:
            parts = urlsplit(alias)
        except ValueError:
            return set()
        segments = route_segments(parts.path)
        return {page_stem(segments[-1])} if segments and _site(parts.hostname) == self.site else set()

    def is_sibling(self, href: str, resolve: Callable[[str], str | None]) -> bool:
        """Whether the link `href` (as written in the page; `resolve` makes it absolute) is a sibling page."""
        known = self._known.get(href)
        if known is None:
            known = self._known[href] = self._decide(href, resolve)
        return known

    def _decide(self, href: str, resolve: Callable[[str], str | None]) -> bool:
        if not self.segments:
            return False  # a home or landing page has no route to share
        href = href.strip()
        if href.startswith("/") and not href.startswith("//"):  # most links: this site, no join needed
            return self._decide_path(href.partition("#")[0].partition("?")[0])
        url = resolve(href)
        try:
            parts = urlsplit(url) if url is not None else None
            same_site = parts is not None and _site(parts.hostname) == self.site
        except ValueError:
            return False
        return (
            parts is not None
            and same_site
            and parts.scheme in ("http", "https")
            and self._decide_path(parts.path)
        )

    def _decide_path(self, path: str) -> bool:
        segments = route_segments(path)
        if not segments or not self._same_route(segments) or segments[-1].lower().endswith(FILE_SUFFIXES):
            return False
        return page_stem(segments[-1]) not in self.own_names and not _acts(segments)

    def _same_route(self, segments: list[str]) -> bool:
        page = self.segments
        if len(page) == 1:
            # One level deep, only a page suffix makes a route of it (Magento's /mug.html): a
            # landing page's /ingredients or /reviews is not another product.
            suffix = _suffix(page[0])
            return bool(suffix) and len(segments) == 1 and _suffix(segments[0]) == suffix
        if len(segments) >= 2 and segments[-2].lower() == page[-2].lower():
            return True
        return len(page) >= 3 and len(segments) == len(page) and segments[:-2] == page[:-2]
