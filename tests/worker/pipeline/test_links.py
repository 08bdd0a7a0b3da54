"""Product cards known by their links: links.SiblingPages, and the `other_product` hint it gives pictures in links."""

from __future__ import annotations

import pytest

from worker.pipeline.extract.candidates import extract_candidates
from worker.pipeline.extract.links import SiblingPages
from worker.pipeline.extract.urls import resolve_url
from worker.pipeline.score import junk_reason
from worker.pipeline.types import Candidate, Page

SHOP = "https://shop.example"


def is_sibling(page: str, link: str) -> bool:
    return SiblingPages(page).is_sibling(link, lambda href: resolve_url(href, page))


@pytest.mark.parametrize(
    ("page", "link"),
    [
        (f"{SHOP}/products/mug", "/products/plate"),
        (f"{SHOP}/products/mug", "https://www.shop.example/collections/all/products/plate"),
        (f"{SHOP}/collections/kitchen/products/mug", "/products/plate?pr_rec_id=1"),
        (f"{SHOP}/product/mug/", "../plate/"),  # WooCommerce, relative
        (f"{SHOP}/mug.html", "/plate.html"),  # Magento
        (f"{SHOP}/en-us/mug/123.html", "/en-us/plate/456.html"),  # Salesforce Commerce Cloud
        ("https://www.amazon.example/Mug/dp/B0AAA/ref=sr_1", "/Plate/dp/B0BBB/ref=pd_sim_2"),
        (f"{SHOP}/products/mug", "/products/add-on-kit"),  # a product's name, not an action
        (f"{SHOP}/products/caf%C3%A9", "/products/caf%C3%A9-noir"),
    ],
)
def test_a_link_to_another_page_of_the_same_route_is_a_sibling(page, link):
    assert is_sibling(page, link)


@pytest.mark.parametrize(
    ("page", "link"),
    [
        (f"{SHOP}/products/mug", "/products/mug?variant=2"),  # this product, another variant
        (f"{SHOP}/products/mug", "/collections/kitchen/products/mug"),  # this product, another path
        (f"{SHOP}/products/mug", "/products/mug.html"),
        (f"{SHOP}/products/caf%C3%A9", "/products/café"),  # the same page, written unescaped
        (f"{SHOP}/products/mug", "https://cdn.example/products/plate"),  # another site
        (f"{SHOP}/products/mug", "/files/mug_large.jpg"),  # the gallery's full-size link
        (f"{SHOP}/products/mug", "/cart/add/plate"),
        (f"{SHOP}/products/mug", "/blogs/news/plate"),
        (f"{SHOP}/products/mug", "#reviews"),
        (f"{SHOP}/products/mug", "javascript:void(0)"),
        (f"{SHOP}/products/mug", "mailto:help@shop.example"),
        (f"{SHOP}/offer", "/checkout?bundle=3"),
        (f"{SHOP}/offer", "/order/six-jars"),
        (f"{SHOP}/offer", "/ingredients"),  # one segment without a page suffix is no route
        (f"{SHOP}/special.html", "/order-now.html"),
        (f"{SHOP}/", "/products/plate"),  # a home page has no route to share
        (f"{SHOP}/products/mug", "http://[::1/products/plate"),  # malformed
    ],
)
def test_links_to_this_product_another_site_a_file_or_an_action_are_not_siblings(page, link):
    assert not is_sibling(page, link)


def test_a_link_to_an_address_the_page_gives_itself_is_not_a_sibling():
    """A variant's own URL whose canonical link (or og:url) names the product's: links to that are this page."""
    page = f"{SHOP}/products/mug-blue"
    siblings = SiblingPages(page, aliases=[f"{SHOP}/products/mug", "https://elsewhere.example/products/cup"])

    def resolve(href: str) -> str | None:
        return resolve_url(href, page)

    assert not siblings.is_sibling("/products/mug", resolve)
    assert not siblings.is_sibling("/products/mug-blue?variant=3", resolve)
    assert siblings.is_sibling("/products/cup", resolve)  # another site's alias names nothing here
    assert siblings.is_sibling("/products/plate", resolve)


def test_extraction_reads_the_pages_canonical_link_and_og_url():
    head = '<link rel="canonical" href="/products/mug"><meta property="og:url" content="https://shop.example/products/jug">'
    body = '<ul class="grid"><li><a href="/products/mug"><img src="/a.jpg"></a></li><li><a href="/products/jug"><img src="/b.jpg"></a></li><li><a href="/products/cup"><img src="/c.jpg"></a></li></ul>'
    found = candidates(body, url=f"{SHOP}/products/mug-blue", head=head)
    assert {url for url, candidate in found.items() if "other_product" in candidate.hints} == {"/c.jpg"}


def candidates(body: str, *, url: str, head: str = "") -> dict[str, Candidate]:
    html = f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>"
    page = Page(url=url, html=html.encode(), content_type="text/html", encoding="utf-8")
    return {candidate.url.removeprefix(SHOP): candidate for candidate in extract_candidates(page, limit=100)}


UNTITLED_CARDS = (
    '<div class="gallery"><a href="/products/mug?variant=1"><img src="/files/mug.jpg"></a>'
    '<a href="/files/mug-side_2048x.jpg"><img src="/files/mug-side.jpg"></a></div>'
    '<div class="grid">'
    '<div class="card"><a href="/products/plate"><img src="/files/plate.jpg"></a></div>'
    '<div class="card"><a href="/products/bowl"><picture><source srcset="/files/bowl.webp 800w" type="image/webp">'
    '<img src="/files/bowl.jpg"></picture></a></div>'
    '<div class="card"><a href="/products/cup"><div style="background-image: url(/files/cup.jpg)"></div></a></div>'
    "</div>"
)


def test_pictures_in_untitled_cards_linking_to_other_products_are_related_products():
    """No heading or class says what the grid is: its links do, for img, picture and CSS pictures alike."""
    found = candidates(UNTITLED_CARDS, url=f"{SHOP}/products/mug")
    marked = {url for url, candidate in found.items() if "other_product" in candidate.hints}
    assert marked == {"/files/plate.jpg", "/files/bowl.webp", "/files/cup.jpg"}
    assert {url: junk_reason(found[url], None) for url in marked} == dict.fromkeys(marked, "related_product")
    for own in ("/files/mug.jpg", "/files/mug-side.jpg", "/files/mug-side_2048x.jpg"):
        assert junk_reason(found[own], None) is None


def test_a_card_picture_the_page_names_as_its_product_is_kept():
    """og:image and JSON-LD outrank the card's link, as they outrank a related block's words."""
    found = candidates(
        UNTITLED_CARDS,
        url=f"{SHOP}/products/mug",
        head=f'<meta property="og:image" content="{SHOP}/files/plate.jpg">',
    )
    assert "other_product" in found["/files/plate.jpg"].hints
    assert junk_reason(found["/files/plate.jpg"], None) is None


def test_a_sales_pages_product_shots_linking_to_its_order_form_are_kept():
    body = (
        '<a href="#order"><img src="/media/jar.jpg"></a>'
        '<a href="/checkout?bundle=3"><img src="/media/three-jars.jpg"></a>'
        '<a href="/order/six-jars"><img src="/media/six-jars.jpg"></a>'
        '<a href="/ingredients"><img src="/media/label.jpg"></a>'
    )
    found = candidates(body, url=f"{SHOP}/offer")
    assert all("other_product" not in candidate.hints for candidate in found.values())
    assert all(junk_reason(candidate, None) is None for candidate in found.values())


def test_a_link_is_decided_once_per_page():
    """Sibling decisions are memoized by the link's text, which every card of a repeated block shares."""
    siblings = SiblingPages(f"{SHOP}/products/mug")
    resolved: list[str] = []

    def resolve(href: str) -> str | None:
        resolved.append(href)
        return resolve_url(href, f"{SHOP}/products/mug")

    for _ in range(3):
        assert siblings.is_sibling("https://shop.example/products/plate", resolve)
        assert not siblings.is_sibling("/products/mug?variant=2", resolve)
    assert resolved == ["https://shop.example/products/plate"]  # root-relative links need no join
