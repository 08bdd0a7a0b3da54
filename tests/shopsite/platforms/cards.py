"""Pages whose pictures say what they are only by where they link: untitled product cards (the picture in its
link or beside it), and a sales page's order links."""

from __future__ import annotations

from tests.shopsite.platforms.kit import add_photos, chrome_page, related_cards
from tests.shopsite.site import PageTruth, SiteWriter, jsonld_script


def shopify_minimal(writer: SiteWriter, seed: int) -> PageTruth:
    """A Shopify theme on its real route (/products/<handle>) whose recommendations say nothing about themselves.

    The cards sit in a plain `<div class="grid">` after the gallery, with no heading, no telling
    class and no custom element: only their links, to /products/<other handle>, show that they
    are other products. The gallery's thumbnails link to this page's own variants (?variant=).
    """
    base = "/cdn/shop/files"
    views = add_photos(writer, [f"{base}/minimal{seed}-{index}.jpg" for index in range(3)], seed * 10 + 300)
    handle = f"minimal-lamp-{seed}"
    gallery = "".join(
        f'<div class="grid__item"><a href="/products/{handle}?variant={index + 1}">'
        f'<img src="{view}" alt="Lamp"></a></div>'
        for index, view in enumerate(views)
    )
    others = [f"{base}/card{seed}-{index}.jpg" for index in range(4)]
    cards = related_cards(
        writer,
        others,
        '<div class="grid">',
        link=lambda index: f"/collections/all/products/other-lamp-{seed}-{index}",
    )
    head = f'<meta property="og:image" content="{views[0]}">'
    return chrome_page(
        writer, f"/products/{handle}", "Lamp", head, f'<div class="grid">{gallery}</div>{cards}'
    )


def _card_beside_link(link: str, path: str, index: int) -> str:
    """A card as Shopify's Dawn writes it: the picture (srcset) in `card__media`, the title link in `card__content`."""
    small = path.replace("_360x.", "_180x.")
    return (
        '<li class="grid__item"><div class="card-wrapper"><div class="card"><div class="card__inner">'
        f'<div class="card__media"><div class="media"><img srcset="{small} 180w, {path} 360w" src="{path}"'
        f' alt="Other {index}" loading="lazy" width="360" height="360"></div></div></div>'
        '<div class="card__content"><div class="card__information"><h3 class="card__heading">'
        f'<a href="{link}" class="full-unstyled-link">Other {index}</a></h3>'
        '<div class="price"><span class="price-item">$24.00</span></div></div></div></div></div></li>'
    )


def shopify_grid(writer: SiteWriter, seed: int) -> PageTruth:
    """A Shopify theme whose untitled product grid puts each card's title link beside its picture, not around it.

    The grid is a plain `<ul class="grid">` after the product section: no heading, no telling
    class, no custom element, and the pictures are in no link. Only the title links, to
    /products/<other handle>, beside each picture, show that the cards are other products. The
    CDN serves each card's picture at full size too (`_360x` dropped), as it does the gallery's,
    and the page's JSON-LD names those full-size pictures as related products and in an ItemList.
    """
    base = "/cdn/shop/files"
    views = add_photos(writer, [f"{base}/grid{seed}-{index}.jpg" for index in range(3)], seed * 10 + 500)
    handle = f"grid-vase-{seed}"
    gallery = "".join(
        f'<li class="product__media-item"><div class="product__media media"><img src="{view}" alt="Vase"></div></li>'
        for view in views
    )
    section = (
        f'<section class="product"><ul class="product__media-list">{gallery}</ul>'
        f'<div class="product__info"><h1>Vase</h1><a href="/products/{handle}-blue">Also in blue</a></div></section>'
    )
    others = [f"{base}/tile{seed}-{index}_360x.jpg" for index in range(4)]
    originals = tuple(path.replace("_360x.", ".") for path in others)
    links = [f"/products/other-vase-{seed}-{index}" for index in range(len(others))]
    cards = related_cards(
        writer,
        others,
        '<ul class="grid product-grid">',
        originals,
        link=links.__getitem__,
        card=_card_beside_link,
    )
    for path in others:  # the srcset's smaller copy, the same file
        small = path.replace("_360x.", "_180x.")
        writer.file(small, (writer.root / path.lstrip("/")).read_bytes())
        writer.junk[small] = "related_product"
    # The shop's SEO app names the cards' products in the page's JSON-LD too: as related to this
    # product, and as an ItemList; neither makes their pictures this product's.
    related = [
        {"@type": "Product", "url": link, "image": original}
        for link, original in zip(links, originals, strict=True)
    ]
    product = {"@context": "https://schema.org", "@type": "Product", "name": "Vase", "image": views}
    carousel = {
        "@context": "https://schema.org",
        "@type": "ItemList",
        "itemListElement": [
            {"@type": "ListItem", "position": i + 1, "item": item} for i, item in enumerate(related)
        ],
    }
    head = (
        f'<meta property="og:image" content="{views[0]}">'
        + jsonld_script(
            {**product, "isRelatedTo": [{"@type": "Product", "image": item["image"]} for item in related[:2]]}
        )
        + jsonld_script(carousel)
    )
    return chrome_page(
        writer, f"/products/{handle}", "Vase", head, f'{section}<div class="section">{cards}</div>'
    )


def _microdata_card(link: str, path: str, index: int) -> str:
    """A card an older theme marks up as a schema.org Product: its url, its picture and a full-size copy."""
    full = path.replace("-thumb.", "-large.")
    return (
        '<li class="product-item" itemscope itemtype="http://schema.org/Product">'
        f'<a itemprop="url" href="{link}"><img itemprop="image" src="{path}" alt="Other {index}"></a>'
        f'<meta itemprop="image" content="{full}"><span itemprop="name">Other {index}</span></li>'
    )


def microdata_variant(writer: SiteWriter, seed: int) -> PageTruth:
    """A colour variant's own page of an older theme that marks up every product with microdata.

    The page (/products/<handle>-blue) calls itself /products/<handle> in its canonical link,
    and its Product item gives that address as its url. Other products follow in an untitled
    list, each a Product item with its own url (a sibling page), a thumbnail and a full-size
    copy in `<meta itemprop=image>`: their itemprop=image speaks for those products, not this one.
    """
    handle = f"scarf-{seed}"
    views = add_photos(writer, [f"/media/{handle}/view{index}.jpg" for index in range(3)], seed * 10 + 600)
    gallery = "".join(f'<img itemprop="image" src="{view}" alt="Scarf">' for view in views)
    item = (
        '<div class="product" itemscope itemtype="http://schema.org/Product">'
        f'<link itemprop="url" href="/products/{handle}"><h1 itemprop="name">Scarf</h1>'
        f'<div class="images">{gallery}</div>'
        f'<div itemprop="offers" itemscope itemtype="http://schema.org/Offer"><meta itemprop="price" content="30"></div></div>'
    )
    others = [f"/media/other{seed}-{index}-thumb.jpg" for index in range(3)]
    cards = related_cards(
        writer,
        others,
        '<ul class="products">',
        originals=tuple(path.replace("-thumb.", "-large.") for path in others),
        link=lambda index: f"/products/other-scarf-{seed}-{index}",
        card=_microdata_card,
    )
    head = f'<link rel="canonical" href="/products/{handle}">'
    return chrome_page(writer, f"/products/{handle}-blue", "Scarf", head, f"{item}{cards}")


def sales_page(writer: SiteWriter, seed: int) -> PageTruth:
    """A long-form sales page (/offer-<n>) whose product shots link to its order form: all of them are the product.

    The bundle pictures (one, three and six jars) link to `/checkout?bundle=…` and
    `/order/six-jars`, the hero to `#order`, and a detail shot to the site's `/ingredients`
    page: one level deep and without a page suffix, a route says nothing about what it shows.
    """
    views = add_photos(writer, [f"/media/offer{seed}/shot{index}.jpg" for index in range(5)], seed * 10 + 400)
    links = ("#order", "/checkout?bundle=1", "/checkout?bundle=3", "/order/six-jars", "/ingredients")
    shots = "".join(
        f'<div class="block"><a href="{link}"><img src="{view}" alt="Jar"></a></div>'
        for link, view in zip(links, views, strict=True)
    )
    product = {"@context": "https://schema.org", "@type": "Product", "name": "Jar", "image": views[0]}
    head = f'<meta property="og:image" content="{views[0]}">' + jsonld_script(product)
    return chrome_page(writer, f"/offer-{seed}", "Jar", head, f'<section id="order">{shots}</section>')
