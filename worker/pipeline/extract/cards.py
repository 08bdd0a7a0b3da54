"""Other products' cards a picture may sit in: a small repeated box beside a sibling link, or a microdata item.

Themes such as Shopify's Dawn put a card's picture in one box and its title link in another, so
the picture is not inside the link that links.py reads. `CardFinder.beside_sibling_link` judges
the nearest box holding a link; `CardFinder.item_elsewhere` says whether the picture's microdata
item gives another product's page as its address. A box is decided once per page and every scan
is bounded, so the work per picture does not grow with the page. The tests a box must pass are in
docs/scoring.md §1 (hints `other_product` and `microdata`).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice
from typing import Any

from worker.pipeline.extract.hints import PAGE_LEVEL_TAGS
from worker.pipeline.extract.links import SiblingPages, route_key

CARD_LEVELS = 6  # Dawn: img → div.media → div.card__media → div.card__inner → div.card (with the link)
CARD_MAX_ELEMENTS = 120  # a Dawn card with its quick-add form and price is about 40
CARD_MAX_PICTURES = 2
REPEAT_LEVELS = 4  # Dawn: div.card → div.card-wrapper → li.grid__item, repeated
NEIGHBOUR_SKIP = 4  # comments between two cards before the next one is no longer its neighbour
ITEM_MAX_ELEMENTS = 300  # a microdata card with its offer, rating and price is well under this
# How deep in its item a card's own url may sit (a link in a title in a box: 3 or 4 levels); it also
# bounds the walk up from each url property of a hostile page's deeply nested items.
ITEM_PROPERTY_DEPTH = 12


class CardFinder:
    """Decides, per page, which pictures sit in another product's card: beside its link, or in its microdata item."""

    def __init__(self, siblings: SiblingPages, resolve: Callable[[str], str | None]) -> None:
        self.siblings = siblings
        self.resolve = resolve
        self._verdicts: dict[Any, bool | None] = {}
        self._items: dict[Any, bool] = {}
        # Elements looked at: at most CARD_MAX_ELEMENTS + 1 a box, ITEM_MAX_ELEMENTS + 1 an item.
        self.scanned = 0

    def beside_sibling_link(self, element: Any) -> bool:
        """True when the nearest ancestor of `element` holding a link is another product's card."""
        for level, box in enumerate(element.iterancestors()):
            if level >= CARD_LEVELS or box.tag in PAGE_LEVEL_TAGS:
                return False
            if box not in self._verdicts:
                self._verdicts[box] = self._decide(box)
            verdict = self._verdicts[box]
            if verdict is not None:
                return verdict
        return False

    def _decide(self, box: Any) -> bool | None:
        """None when the box holds no link (the card, if any, is further up), else whether it is a card."""
        pictures, titled, hrefs = 0, False, []
        elements = islice(box.iter(), CARD_MAX_ELEMENTS + 1)
        for count, node in enumerate(elements, start=1):
            self.scanned += 1
            if count > CARD_MAX_ELEMENTS:
                return False  # too large for one card, and every ancestor is larger still
            tag = node.tag
            if tag == "img":
                pictures += 1
            elif tag == "a":
                href = node.get("href")
                if href:
                    hrefs.append(href)
            elif tag == "h1":
                titled = True
        if not hrefs:
            return None
        pages = {route_key(href).lower() for href in hrefs if self.siblings.is_sibling(href, self.resolve)}
        return len(pages) == 1 and pictures <= CARD_MAX_PICTURES and not titled and repeated(box)

    def item_elsewhere(self, element: Any) -> bool:
        """True when the microdata item `element` belongs to gives a sibling page as its own address."""
        item = _item_of(element)
        if item is None:
            return False
        if item not in self._items:
            self._items[item] = any(
                self.siblings.is_sibling(address, self.resolve) for address in self._item_addresses(item)
            )
        return self._items[item]

    def _item_addresses(self, item: Any) -> list[str]:
        """The item's itemid and the values of its own itemprop=url properties; none for an item too large for a card."""
        addresses = [item.get("itemid") or ""]
        for count, node in enumerate(islice(item.iter(), ITEM_MAX_ELEMENTS + 1), start=1):
            self.scanned += 1
            if count > ITEM_MAX_ELEMENTS:
                return []
            if "url" in (node.get("itemprop") or "").split() and _item_of(node, ITEM_PROPERTY_DEPTH) is item:
                addresses.append(node.get("href") or node.get("content") or "")
        return [address for address in addresses if address]


def _item_of(node: Any, depth: int | None = None) -> Any:
    """The nearest ancestor of `node` with an itemscope, looked for at most `depth` levels up: the item its
    itemprop describes (None outside any)."""
    ancestors = islice(node.iterancestors(), depth)
    return next((parent for parent in ancestors if parent.get("itemscope") is not None), None)


def repeated(box: Any) -> bool:
    """Whether `box` or one of its REPEAT_LEVELS - 1 nearest ancestors has a neighbour of its tag and class."""
    node = box
    for _ in range(REPEAT_LEVELS):
        if node is None or node.tag in PAGE_LEVEL_TAGS:
            return False
        shape = _shape(node)
        if any(_shape(neighbour) == shape for neighbour in (_element_before(node), _element_after(node))):
            return True
        node = node.getparent()
    return False


def _shape(node: Any) -> tuple[Any, str | None] | None:
    return None if node is None else (node.tag, node.get("class"))


def _element_before(node: Any) -> Any:
    return _first_element(node.itersiblings(preceding=True))


def _element_after(node: Any) -> Any:
    return _first_element(node.itersiblings())


def _first_element(siblings: Any) -> Any:
    """The first element among the next NEIGHBOUR_SKIP siblings (comments and processing instructions skipped)."""
    return next((node for node in islice(siblings, NEIGHBOUR_SKIP) if isinstance(node.tag, str)), None)
