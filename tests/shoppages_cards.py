"""Pages whose pictures say what they are only by where they link: untitled product cards, and a sales page's order links."""

from __future__ import annotations

from tests.shoppages_kit import _page, _photos, _related
from tests.shopsite import PageTruth, _jsonld, _Writer


def shopify_minimal(writer: _Writer, seed: int) -> PageTruth:
    """A Shopify theme on its real route (/products/<handle>) whose recommendations say nothing about themselves.

    The cards sit in a plain `<div class="grid">` after the gallery, with no heading, no telling
    class and no custom element: only their links, to /products/<other handle>, show that they
    are other products. The gallery's thumbnails link to this page's own variants (?variant=).
    """
    base = "/cdn/shop/files"
    views = _photos(writer, [f"{base}/minimal{seed}-{index}.jpg" for index in range(3)], seed * 10 + 300)
    handle = f"minimal-lamp-{seed}"
    gallery = "".join(
        f'<div class="grid__item"><a href="/products/{handle}?variant={index + 1}">'
        f'<img src="{view}" alt="Lamp"></a></div>'
        for index, view in enumerate(views)
    )
    others = [f"{base}/card{seed}-{index}.jpg" for index in range(4)]
    cards = _related(
        writer,
        others,
        '<div class="grid">',
        link=lambda index: f"/collections/all/products/other-lamp-{seed}-{index}",
    )
    head = f'<meta property="og:image" content="{views[0]}">'
    return _page(writer, f"/products/{handle}", "Lamp", head, f'<div class="grid">{gallery}</div>{cards}')


def sales_page(writer: _Writer, seed: int) -> PageTruth:
    """A long-form sales page (/offer-<n>) whose product shots link to its order form: all of them are the product.

    The bundle pictures (one, three and six jars) link to `/checkout?bundle=…` and
    `/order/six-jars`, the hero to `#order`, and a detail shot to the site's `/ingredients`
    page: one level deep and without a page suffix, a route says nothing about what it shows.
    """
    views = _photos(writer, [f"/media/offer{seed}/shot{index}.jpg" for index in range(5)], seed * 10 + 400)
    links = ("#order", "/checkout?bundle=1", "/checkout?bundle=3", "/order/six-jars", "/ingredients")
    shots = "".join(
        f'<div class="block"><a href="{link}"><img src="{view}" alt="Jar"></a></div>'
        for link, view in zip(links, views, strict=True)
    )
    product = {"@context": "https://schema.org", "@type": "Product", "name": "Jar", "image": views[0]}
    head = f'<meta property="og:image" content="{views[0]}">' + _jsonld(product)
    return _page(writer, f"/offer-{seed}", "Jar", head, f'<section id="order">{shots}</section>')
