"""Pages shaped like self-hosted shop software and site builders: Shopware 6, OpenCart 3, Webflow Ecommerce."""

from __future__ import annotations

import json

from PIL import Image

from tests.shopsite.platforms.kit import add_junk_file, add_photo, chrome_page, related_cards
from tests.shopsite.site import PageTruth, SiteWriter


def shopware6(writer: SiteWriter, seed: int) -> PageTruth:
    """Shopware 6 Storefront: the gallery slider (full /media/ file as src, /thumbnail/ sizes in srcset,
    data-full-image), its thumbnail column, the zoom modal's data-src, and cross-selling in a tab
    ("Similar products") of product boxes whose links are other products' SEO URLs."""
    folder = f"{seed % 10:x}a/1{seed % 10}/c{seed % 10}/1680000{seed:03d}"
    views = []
    for index in range(3):
        name = f"trekking-bike-{seed}-{index}"
        media = f"/media/{folder}/{name}.jpg"
        files = {
            f"/thumbnail/{folder}/{name}_400x400.jpg": 400,
            f"/thumbnail/{folder}/{name}_800x800.jpg": 800,
            media: None,
        }
        views.append(add_photo(writer, name, "hero" if index == 0 else "product", seed * 10 + index, files))
    slides = "".join(
        f'<div class="gallery-slider-item-container"><div class="gallery-slider-item is-contain js-magnifier-container"'
        f' style="min-height: 430px"><img src="{v[2]}" srcset="{v[1]} 801w, {v[0]} 401w"'
        f' sizes="(min-width: 1200px) 454px, (min-width: 992px) 400px, 100vw"'
        f' class="img-fluid gallery-slider-image magnifier-image js-magnifier-image" alt="Trekking bike"'
        f' title="Trekking bike" data-full-image="{v[2]}" data-object-fit="contain" itemprop="image"'
        f' loading="{"eager" if i == 0 else "lazy"}"></div></div>'
        for i, v in enumerate(views)
    )
    thumbnails = "".join(
        f'<div class="gallery-slider-thumbnails-item"><div class="gallery-slider-thumbnails-item-inner">'
        f'<img src="{v[0]}" srcset="{v[0]} 401w" sizes="200px" class="gallery-slider-thumbnails-image"'
        f' alt="Trekking bike" title="Trekking bike" loading="lazy"></div></div>'
        for v in views
    )
    zoom = "".join(
        f'<div class="gallery-slider-item"><div class="image-zoom-container" data-image-zoom="true">'
        f'<img data-src="{v[2]}" class="image-zoom-image js-image-zoom-element js-load-img" alt="Trekking bike"></div></div>'
        for v in views
    )
    similar = related_cards(
        writer,
        [f"/thumbnail/{folder}/city-bike-{seed}-{i}_400x400.jpg" for i in range(3)],
        '<div class="product-slider-container" data-product-slider-container="true">',
        link=lambda i: f"/City-bike-{seed}-{i}/SW1{seed:03d}{i}",
    )
    logo = add_junk_file(
        writer, f"/media/{folder}/demostore-logo.png", "logo", Image.new("RGB", (300, 90), (0, 60, 120))
    )
    body = (
        f'<div class="header-logo-col"><a class="header-logo-main-link" href="/" title="Go to homepage">'
        f'<picture class="header-logo-picture"><img src="{logo}" alt="Go to homepage" class="img-fluid header-logo-main-img">'
        f"</picture></a></div>"
        f'<div class="product-detail-media"><div class="gallery-slider-row is-loading js-gallery-zoom-modal-container"'
        f' data-magnifier="true" data-gallery-slider="true"'
        f" data-gallery-slider-options='{json.dumps({'slider': {'navPosition': 'bottom'}, 'thumbnailSlider': {'items': 5}})}'>"
        f'<div class="gallery-slider-col"><div class="base-slider gallery-slider">'
        f'<div class="gallery-slider-container" data-gallery-slider-container="true">{slides}</div></div></div>'
        f'<div class="gallery-slider-thumbnails-col"><div class="gallery-slider-thumbnails-container">'
        f'<div class="gallery-slider-thumbnails" data-gallery-slider-thumbnails="true">{thumbnails}</div></div></div>'
        f'<div class="zoom-modal-wrapper"><div class="modal is-fullscreen zoom-modal js-zoom-modal" tabindex="-1">'
        f'<div class="gallery-slider" data-gallery-slider-container="true">{zoom}</div></div></div></div></div>'
        f'<div class="product-detail-cross-selling"><div class="card card-tabs" data-cross-selling="true">'
        f'<div class="card-header product-detail-tab-navigation product-cross-selling-tab-navigation">'
        f'<ul class="nav nav-tabs product-detail-tab-navigation-list" role="tablist"><li class="nav-item">'
        f'<a class="nav-link active product-detail-tab-navigation-link" href="#cs-similar-tab-pane" role="tab">'
        f'<span>Similar products</span></a></li></ul></div><div class="card-body"><div class="tab-content">'
        f'<div class="tab-pane fade show active" id="cs-similar-tab-pane" role="tabpanel">'
        f'<div class="cms-element-product-slider"><div class="base-slider product-slider has-nav">'
        f"{similar}</div></div></div></div></div></div></div>"
    )
    head = f'<meta property="og:image" content="{views[0][2]}">'
    return chrome_page(writer, f"/Trekking-bike-{seed}/SW1{seed:03d}", "Trekking bike", head, body)


def opencart(writer: SiteWriter, seed: int) -> PageTruth:
    """OpenCart 3 default theme: image/cache/ -228x228 main and -74x74 additional thumbnails, each in an
    `<a class="thumbnail">` to its -500x500 popup (the original under image/catalog/ is never in the
    page), and "Related Products" as an <h3> above a row of product thumbs."""
    views = []
    for index in range(3):
        stem = f"catalog/demo/camera_{seed}_{index}"
        files = {
            f"/image/cache/{stem}-74x74.jpg": 74,
            f"/image/cache/{stem}-228x228.jpg": 228,
            f"/image/cache/{stem}-500x500.jpg": 500,
            f"/image/{stem}.jpg": None,
        }
        views.append(add_photo(writer, stem, "hero" if index == 0 else "product", seed * 10 + index, files))
    main, *additional = views
    thumbnails = (
        f'<li><a class="thumbnail" href="{main[2]}" title="Camera {seed}"><img src="{main[1]}"'
        f' title="Camera {seed}" alt="Camera {seed}" /></a></li>'
    ) + "".join(
        f'<li class="image-additional"><a class="thumbnail" href="{v[2]}" title="Camera {seed}">'
        f' <img src="{v[0]}" title="Camera {seed}" alt="Camera {seed}" /></a></li>'
        for v in additional
    )
    others = [f"/image/cache/catalog/demo/lens_{seed}_{i}-200x200.jpg" for i in range(3)]
    originals = tuple(f"/image/catalog/demo/lens_{seed}_{i}.jpg" for i in range(3))
    related = related_cards(
        writer,
        others,
        '<div class="row">',
        originals,
        link=lambda i: f"/index.php?route=product/product&amp;product_id={seed * 10 + i}",
    )
    body = (
        f'<div id="product-product" class="container"><div class="row"><div id="content" class="col-sm-12">'
        f'<div class="row"><div class="col-sm-8"><ul class="thumbnails">{thumbnails}</ul></div>'
        f'<div class="col-sm-4"><h1>Camera {seed}</h1><ul class="list-unstyled"><li>Brand: Canon</li></ul>'
        f'<button type="button" id="button-cart" class="btn btn-primary btn-lg btn-block">Add to Cart</button>'
        f"</div></div><h3>Related Products</h3>{related}</div></div></div>"
    )
    return chrome_page(
        writer, f"/index.php?route=product/product&product_id={seed}", f"Camera {seed}", "", body
    )


def _webflow_variants(writer: SiteWriter, stem: str, role: str, seed: int) -> list[str]:
    """A Webflow CDN image: the upload and its responsive `-p-500` / `-p-800` copies."""
    upload = f"/64f1c0ffee{seed:04d}/{stem}.jpg"
    files = {f"/64f1c0ffee{seed:04d}/{stem}-p-500.jpg": 500, f"/64f1c0ffee{seed:04d}/{stem}-p-800.jpg": 800}
    files[upload] = None
    return add_photo(writer, stem, role, seed, files)


def webflow(writer: SiteWriter, seed: int) -> PageTruth:
    """Webflow Ecommerce: the main image bound to the SKU with a `-p-500`/`-p-800` srcset, more images in a
    collection list of lightbox links whose full image is only in their `w-json` script, and a
    "You might also like" collection list of other products."""
    views = [_webflow_variants(writer, f"65a{seed}0{i}_ceramic-mug-{i}", "hero" if i == 0 else "product",
                               seed * 10 + i) for i in range(3)]  # fmt: skip
    bindings = "%5B%7B%22from%22%3A%22f_main_image_4dr%22%2C%22to%22%3A%22src%22%7D%5D"
    hero = views[0]
    main = (
        f'<img alt="Ceramic mug" loading="lazy" data-wf-sku-bindings="{bindings}" src="{hero[2]}"'
        f' sizes="(max-width: 479px) 93vw, (max-width: 991px) 45vw, 550px"'
        f' srcset="{hero[0]} 500w, {hero[1]} 800w, {hero[2]} 1000w" class="product-main-image">'
    )
    lightboxes = "".join(
        f'<div role="listitem" class="w-dyn-item"><a href="#" class="lightbox-link w-inline-block w-lightbox">'
        f'<img src="{v[0]}" loading="lazy" alt="" class="more-image">'
        f'<script type="application/json" class="w-json">'
        f"{json.dumps({'items': [{'url': v[2], 'type': 'image'}], 'group': 'Product images'})}</script></a></div>"
        for v in views[1:]
    )
    related = related_cards(
        writer,
        [f"/64f1c0ffee{seed:04d}/65b{seed}{i}_espresso-cup-{i}-p-500.jpg" for i in range(3)],
        '<div role="list" class="related-list w-dyn-items">',
        link=lambda i: f"/product/espresso-cup-{seed}-{i}",
    )
    body = (
        f'<div class="product-section"><div class="product-images">{main}'
        f'<div class="w-dyn-list"><div role="list" class="collection-list w-dyn-items">{lightboxes}</div></div></div>'
        f'<div class="product-details"><h1 class="product-name">Ceramic mug</h1>'
        f'<form data-node-type="commerce-add-to-cart-form" class="w-commerce-commerceaddtocartform">'
        f'<input type="submit" value="Add to Cart" class="w-commerce-commerceaddtocartbutton"></form></div></div>'
        f'<div class="related-section"><h3 class="related-heading">You might also like</h3>'
        f'<div class="w-dyn-list">{related}</div></div>'
    )
    head = (
        f'<meta content="{hero[2]}" property="og:image"><meta content="{hero[2]}" property="twitter:image">'
    )
    return chrome_page(writer, f"/product/ceramic-mug-{seed}", "Ceramic mug", head, body)
