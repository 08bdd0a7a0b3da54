"""Pages shaped like big retailers: Amazon, a Scene7 department store, Salesforce Commerce (Demandware), a boutique."""

from __future__ import annotations

import json

from tests.shopsite.platforms.kit import (
    add_junk_file,
    add_photo,
    add_photos,
    chrome_page,
    master_picture,
    related_cards,
)
from tests.shopsite.site import PageTruth, Photo, SiteWriter, jpeg, jsonld_script, lifestyle_photo, resized


def amazon(writer: SiteWriter, seed: int) -> PageTruth:
    """Amazon-style: landingImage with data-old-hires and data-a-dynamic-image, altImages thumbs, sponsored carousel."""
    base = "/images/I"
    views = []
    for index in range(3):
        code = f"{seed}1aB{index}xZ"
        files = {
            f"{base}/{code}._AC_US40_.jpg": 40,
            f"{base}/{code}._AC_SX679_.jpg": 679,
            f"{base}/{code}.jpg": None,
            f"{base}/{code}._AC_SL1500_.jpg": None,  # the same bytes as the size-free URL
        }
        views.append(add_photo(writer, code, "hero" if index == 0 else "product", seed * 10 + index, files))
    dynamic = {views[0][1]: [679, 679], f"{base}/{seed}1aB0xZ._AC_SX425_.jpg": [425, 425]}
    main = (
        f'<div id="imgTagWrapperId" class="imgTagWrapper"><img alt="Kettle" src="{views[0][1]}"'
        f' data-old-hires="{base}/{seed}1aB0xZ._AC_SL1500_.jpg" id="landingImage"'
        f" data-a-dynamic-image='{json.dumps(dynamic)}'></div>"
    )
    writer.file(f"{base}/{seed}1aB0xZ._AC_SX425_.jpg", jpeg(resized(master_picture(seed * 10, "hero"), 425)))
    writer.photos[0] = Photo(
        writer.photos[0].name, "hero", (*writer.photos[0].urls, f"{base}/{seed}1aB0xZ._AC_SX425_.jpg")
    )
    alts = "".join(
        f'<li class="a-spacing-small item"><span class="a-button-thumbnail"><img src="{v[0]}"></span></li>'
        for v in views
    )
    sponsored = related_cards(
        writer,
        [f"{base}/9{seed}Sp{i}._AC_UL320_.jpg" for i in range(3)],
        '<div id="sp_detail" class="a-carousel-container" aria-label="Sponsored products related to this item">',
    )
    body = f'<div id="altImages"><ul>{alts}</ul></div>{main}{sponsored}'
    return chrome_page(writer, f"/amazon/dp-{seed}.html", "Kettle", "", body)


def scene7(writer: SiteWriter, seed: int) -> PageTruth:
    """A department store on Scene7: ?wid=&hei= thumbnails, og:image 1200x630 crop, JSON-LD list."""
    base = f"/is/image/Store/{seed}_SKU"
    views = []
    for index in range(3):
        path = f"{base}{index}"
        files = {
            f"{path}?wid=300&hei=300&fmt=jpeg": 300,
            f"{path}?wid=800&hei=800&fmt=jpeg": 800,
            f"{path}?fmt=jpeg&wid=2000": None,
        }
        views.append(add_photo(writer, path, "hero" if index == 0 else "product", seed * 10 + index, files))
    crop = master_picture(seed * 10, "hero").crop((0, 237, 1000, 762)).resize((1200, 630))
    og = f"{base}0?wid=1200&hei=630&fit=crop"
    writer.file(og, jpeg(crop))
    writer.photos[0] = Photo(writer.photos[0].name, "hero", (*writer.photos[0].urls, og))
    slides = "".join(
        f'<div class="pdp-image"><img src="{v[1]}" alt="Jacket view {i}"></div>' for i, v in enumerate(views)
    )
    thumbs = "".join(f'<button class="thumb"><img src="{v[0]}" alt=""></button>' for v in views)
    product = {"@context": "https://schema.org", "@type": "Product", "image": [v[1] for v in views]}
    head = f'<meta property="og:image" content="{og}">{jsonld_script(product)}'
    body = f'<div class="pdp-gallery">{slides}<div class="thumbs">{thumbs}</div></div>'
    return chrome_page(writer, f"/store/jacket-{seed}.html", "Jacket", head, body)


def demandware(writer: SiteWriter, seed: int) -> PageTruth:
    """Salesforce Commerce Cloud: /dw/image/ with ?sw=&sh=, picture sources, a lifestyle banner via CSS."""
    base = f"/dw/image/v2/BBXX_PRD/on/demandware.static/-/Sites-master/default/dw{seed:04d}/images/large"
    views = []
    for index in range(2):
        path = f"{base}/S{seed}_{index}.jpg"
        files = {f"{path}?sw=400&sh=400&sm=fit": 400, f"{path}?sw=900&sh=900&sm=fit": 900, path: None}
        views.append(add_photo(writer, path, "hero" if index == 0 else "product", seed * 10 + index, files))
    scene = add_photo(
        writer,
        f"{base}/S{seed}_scene.jpg",
        "lifestyle",
        seed * 10 + 9,
        {f"{base}/S{seed}_scene.jpg?sw=1600": None},
    )
    pictures = "".join(
        f'<div class="primary-images carousel-item"><picture><source type="image/avif" srcset="{v[1]}&amp;fmt=avif">'
        f'<source srcset="{v[0]} 1x, {v[1]} 2x"><img class="d-block img-fluid" src="{v[0]}" alt="Sneaker" itemprop="image"></picture></div>'
        for v in views
    )
    body = f'<div class="product-detail" itemscope itemtype="http://schema.org/Product">{pictures}</div><div class="lifestyle" style="background-image:url({scene[0]})"></div>'
    return chrome_page(writer, f"/sfcc/sneaker-{seed}.html", "Sneaker", "", body)


def boutique(writer: SiteWriter, seed: int) -> PageTruth:
    """A hand-made shop: site-wide og:image banner (not the product), main-image class, lifestyle shot, avatar.

    Its recommendations have no telling class: only their title, a styled div, says what they are.
    """
    views = add_photos(
        writer,
        [f"/assets/b{seed}/view{index}.jpg" for index in range(3)],
        seed * 10,
        ("hero", "product", "lifestyle"),
    )
    banner = add_junk_file(
        writer, f"/assets/b{seed}/share-banner.jpg", "promo", lifestyle_photo(seed + 500, (1200, 630)), "JPEG"
    )
    main = f'<div class="main-image"><img src="{views[0]}" alt="Vase"></div>'
    rest = "".join(f'<div class="more-views"><img src="{v}" alt="Vase detail"></div>' for v in views[1:])
    head = f'<meta property="og:image" content="{banner}"><meta name="twitter:image" content="{banner}">'
    others = [f"/assets/b{seed}/other{index}.jpg" for index in range(3)]
    liked = related_cards(writer, others, '<div class="grid">')
    more = f'<section><div class="section-title">You may also like</div>{liked}</section>'
    return chrome_page(writer, f"/boutique/vase-{seed}.html", "Vase", head, main + rest + more)
