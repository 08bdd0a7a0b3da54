"""Product cards whose link sits beside the picture (cards.CardFinder), and the `other_product` hint they give."""

from __future__ import annotations

import lxml.html

from worker.pipeline.extract.candidates import extract_candidates
from worker.pipeline.extract.cards import CARD_MAX_ELEMENTS, ITEM_PROPERTY_DEPTH, CardFinder
from worker.pipeline.extract.links import SiblingPages
from worker.pipeline.extract.urls import resolve_url
from worker.pipeline.score import junk_reason
from worker.pipeline.types import Candidate, Page

SHOP = "https://shop.example"
PAGE = f"{SHOP}/products/mug"


def candidates(body: str, *, url: str = PAGE, head: str = "") -> dict[str, Candidate]:
    html = f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>"
    page = Page(url=url, html=html.encode(), content_type="text/html", encoding="utf-8")
    return {candidate.url.removeprefix(SHOP): candidate for candidate in extract_candidates(page, limit=500)}


def marked(found: dict[str, Candidate]) -> set[str]:
    return {url for url, candidate in found.items() if "other_product" in candidate.hints}


def dawn_card(handle: str, *, link: str | None = None, pictures: int = 2) -> str:
    """A card as Shopify's Dawn writes it: the picture (and its hover image) in one box, the title link in another."""
    images = "".join(f'<img src="/files/{handle}-{index}.jpg" alt="{handle}">' for index in range(pictures))
    return (
        '<li class="grid__item"><div class="card-wrapper"><div class="card"><div class="card__inner">'
        f'<div class="card__media"><div class="media">{images}</div></div></div>'
        '<div class="card__content"><div class="card__information"><h3 class="card__heading">'
        f'<a href="{link or f"/products/{handle}"}">{handle}</a></h3><span class="price">$10</span>'
        "</div></div></div></div></li>"
    )


PRODUCT_SECTION = (
    '<section class="product"><div class="product__media"><ul>'
    '<li><img src="/files/mug.jpg"></li><li><img src="/files/mug-side.jpg"></li></ul></div>'
    '<div class="product__info"><h1>Mug</h1><a href="/products/mug-blue">Also in blue</a></div></section>'
)


def test_pictures_in_untitled_cards_beside_their_links_are_related_products():
    """No heading or class names the grid; each card's title link, beside its pictures, does."""
    grid = '<ul class="grid">' + "".join(dawn_card(handle) for handle in ("plate", "bowl", "cup")) + "</ul>"
    found = candidates(f"<main>{PRODUCT_SECTION}<div>{grid}</div></main>")
    cards = {f"/files/{handle}-{index}.jpg" for handle in ("plate", "bowl", "cup") for index in range(2)}
    assert marked(found) == cards
    assert {url: junk_reason(found[url], None) for url in cards} == dict.fromkeys(cards, "related_product")
    assert junk_reason(found["/files/mug.jpg"], None) is None
    assert junk_reason(found["/files/mug-side.jpg"], None) is None


def test_picture_sources_and_css_pictures_of_such_cards_are_marked_too():
    card = (
        '<div class="tile"><div class="tile__media"><picture>'
        '<source srcset="/files/{0}.webp 800w" type="image/webp"><img src="/files/{0}.jpg"></picture>'
        '<div class="tile__hover" style="background-image: url(/files/{0}-hover.jpg)"></div></div>'
        '<p class="tile__name"><a href="/products/{0}">{0}</a></p></div>'
    )
    found = candidates("<main>" + card.format("plate") + card.format("bowl") + "</main>")
    assert marked(found) == {
        "/files/plate.webp",
        "/files/plate-hover.jpg",
        "/files/bowl.webp",
        "/files/bowl-hover.jpg",
    }


def test_the_products_own_section_beside_a_link_to_another_product_is_kept():
    """The product's title (h1) is in the box that holds its link: that box is the page's product, not a card."""
    single = (
        '<div class="product"><div class="product__photo"><img src="/files/mug.jpg"></div>'
        '<div class="product__info"><h1>Mug</h1><a href="/products/mug-blue">Blue</a></div></div>'
    )
    found = candidates(f"<main>{single}{single.replace('mug.jpg', 'mug-2.jpg')}</main>")
    assert marked(found) == set()


def test_a_lone_card_a_box_of_many_pictures_or_of_several_products_is_no_card():
    """Cards come in grids; a gallery shows more than a picture and its hover image; a card names one product."""
    lone = f'<div class="upsell">{dawn_card("plate")}</div>'
    gallery = '<ul class="grid">' + dawn_card("bowl", pictures=4) + dawn_card("cup", pictures=4) + "</ul>"
    two_products = (
        '<div class="pair"><img src="/files/set.jpg"><a href="/products/plate">Plate</a>'
        '<a href="/products/bowl">Bowl</a></div>'
    )
    found = candidates(f"<main>{lone}<div>{gallery}</div>{two_products}{two_products}</main>")
    assert marked(found) == set()


def test_cards_linking_to_this_product_a_file_or_an_action_are_not_other_products():
    """Only a link to a sibling page makes a card another product's (links.SiblingPages decides)."""
    links = ("/products/mug?variant=2", "/files/mug-large.jpg", "/cart/add?id=3", "#reviews")
    grid = "".join(dawn_card(f"view{index}", link=link) for index, link in enumerate(links))
    found = candidates(f"<main><ul>{grid}</ul></main>")
    assert marked(found) == set()


def test_a_card_named_by_og_image_is_kept():
    """og:image outranks the card's link, as it outranks a related block's words."""
    grid = '<ul class="grid">' + dawn_card("plate") + dawn_card("bowl") + "</ul>"
    found = candidates(
        f"<main>{grid}</main>", head=f'<meta property="og:image" content="{SHOP}/files/plate-0.jpg">'
    )
    assert "other_product" in found["/files/plate-0.jpg"].hints
    assert junk_reason(found["/files/plate-0.jpg"], None) is None


def microdata_card(handle: str) -> str:
    return (
        '<li class="item" itemscope itemtype="https://schema.org/Product">'
        f'<a itemprop="url" href="/products/{handle}"><img itemprop="image" src="/files/{handle}.jpg"></a>'
        f'<meta itemprop="image" content="/files/{handle}-full.jpg">'
        f'<link itemprop="image" href="/files/{handle}-zoom.jpg"><span itemprop="name">{handle}</span></li>'
    )


def test_microdata_cards_of_products_at_sibling_pages_are_other_products_not_the_page_vouching():
    """itemprop=image of an item whose own url is a sibling page is another product's picture, in img, meta or link."""
    found = candidates(f"<main><ul>{microdata_card('plate')}{microdata_card('bowl')}</ul></main>")
    pictures = {
        f"/files/{handle}{kind}.jpg" for handle in ("plate", "bowl") for kind in ("", "-full", "-zoom")
    }
    assert marked(found) == pictures
    assert not any("microdata" in found[url].hints for url in pictures)
    assert {junk_reason(found[url], None) for url in pictures} == {"related_product"}


def test_the_pages_own_microdata_item_vouches_for_its_pictures():
    """Its url is this page (or its canonical); an offer's url and items nested in it do not speak for it."""
    item = (
        '<div itemscope itemtype="https://schema.org/Product"><link itemprop="url" href="/products/mug">'
        '<h1 itemprop="name">Mug</h1><img itemprop="image" src="/files/mug.jpg">'
        '<meta itemprop="image" content="/files/mug-full.jpg">'
        '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
        '<link itemprop="url" href="/products/mug-red"></div>'
        '<div itemprop="isRelatedTo" itemscope itemtype="https://schema.org/Product">'
        '<a itemprop="url" href="/products/cup"><img itemprop="image" src="/files/cup.jpg"></a></div></div>'
    )
    found = candidates(
        f"<main>{item}</main>",
        url=f"{SHOP}/products/mug-blue",
        head='<link rel="canonical" href="/products/mug">',
    )
    assert {url for url, candidate in found.items() if "microdata" in candidate.hints} == {
        "/files/mug.jpg",
        "/files/mug-full.jpg",
    }
    assert marked(found) == {"/files/cup.jpg"}


def test_a_microdata_item_too_large_for_a_card_is_not_read():
    """A page-wide item (a theme wrapping the whole page in one Product) is the page's, whatever links it holds."""
    filler = "<p>text</p>" * 400
    body = (
        '<main itemscope itemtype="https://schema.org/Product"><a itemprop="url" href="/products/plate">x</a>'
        f'<img itemprop="image" src="/files/mug.jpg">{filler}</main>'
    )
    found = candidates(body)
    assert "microdata" in found["/files/mug.jpg"].hints
    assert marked(found) == set()


def finder_over(body: str) -> tuple[CardFinder, list[object]]:
    document = lxml.html.document_fromstring(f"<html><body><main>{body}</main></body></html>")
    return CardFinder(SiblingPages(PAGE), lambda href: resolve_url(href, PAGE)), list(document.iter("img"))


def test_a_deep_page_costs_at_most_one_bounded_scan_per_box():
    """A box is read up to CARD_MAX_ELEMENTS + 1 elements: too large for a card, its ancestors are not looked at."""
    depth = 250  # about as deep as lxml's parser nests
    finder, pictures = finder_over(
        "".join(f'<div class="n"><img src="/i/{level}.jpg">' for level in range(depth)) + "</div>" * depth
    )
    assert not any(finder.beside_sibling_link(picture) for picture in pictures)
    assert finder.scanned <= len(pictures) * (CARD_MAX_ELEMENTS + 1)


def test_a_box_shared_by_many_pictures_is_read_once():
    """Thousands of pictures in one grid: each picture's own box once, the grid once (CARD_MAX_ELEMENTS + 1)."""
    finder, pictures = finder_over(
        '<div class="grid">'
        + '<span><img src="/w.jpg"></span><a href="/products/plate">x</a>' * 3000
        + "</div>"
    )
    assert not any(finder.beside_sibling_link(picture) for picture in pictures)
    assert finder.scanned <= 2 * len(pictures) + CARD_MAX_ELEMENTS + 1


def test_a_deeply_nested_url_property_costs_a_bounded_walk():
    """A url property is looked up at most ITEM_PROPERTY_DEPTH levels to its item: one buried deeper in a
    hostile item is not the item's own, and reading an item costs at most ITEM_MAX_ELEMENTS such walks."""
    shallow = '<div><div><a itemprop="url" href="/products/plate">x</a></div></div>'
    deep = (
        "<div>" * ITEM_PROPERTY_DEPTH
        + '<a itemprop="url" href="/products/bowl">x</a>'
        + "</div>" * ITEM_PROPERTY_DEPTH
    )
    found = candidates(
        "<main>"  # two items of different shapes: no grid, so only their microdata can mark them
        f'<div class="a" itemscope itemtype="https://schema.org/Product"><img itemprop="image" src="/plate.jpg">{shallow}</div>'
        f'<section class="b" itemscope itemtype="https://schema.org/Product"><img itemprop="image" src="/bowl.jpg">{deep}</section>'
        "</main>"
    )
    assert marked(found) == {"/plate.jpg"}
    assert "microdata" in found["/bowl.jpg"].hints
