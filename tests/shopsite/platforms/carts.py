"""Pages shaped like shop-cart platforms: Shopify (Dawn, Debut, mega-menu/upsells), WooCommerce, Magento 2, BigCommerce, PrestaShop."""

from __future__ import annotations

import json

from PIL import Image

from tests.shopsite.platforms.kit import (
    add_junk_file,
    add_junk_photos,
    add_photo,
    chrome_page,
    master_picture,
    related_cards,
    size_chart,
)
from tests.shopsite.site import PageTruth, SiteWriter, jpeg, jsonld_script, lifestyle_photo


def shopify_dawn(writer: SiteWriter, seed: int) -> PageTruth:
    """Shopify Dawn: /cdn/shop/ srcset with _NNNx sizes, og:image with ?width=, product JSON, recommendations,
    and the size chart as the gallery's last slide (in the product JSON too)."""
    base = "/cdn/shop/products"
    views = []
    for index in range(3):
        name = f"dawn{seed}-{index}"
        files = {f"{base}/{name}_360x.jpg": 360, f"{base}/{name}_720x.jpg": 720, f"{base}/{name}.jpg": None}
        aliases = (f"{base}/{name}.jpg?v=1699", f"{base}/{name}.jpg?v=1699&width=1200")
        views.append(
            add_photo(writer, name, "hero" if index == 0 else "product", seed * 10 + index, files, aliases)
        )
    gallery = "".join(
        f'<li class="product__media-item"><div class="product__media media">'
        f'<img srcset="{v[0]} 360w, {v[1]} 720w" src="{v[1]}" sizes="(min-width: 990px) 50vw" alt="Tee"'
        f' width="720" height="720" loading="lazy"></div></li>'
        for v in views
    )
    chart = add_junk_file(writer, f"{base}/dawn{seed}-size-chart.jpg", "size_chart", size_chart(seed), "JPEG")
    gallery += f'<li class="product__media-item"><div class="product__media media"><img src="{chart}" alt="Tee"></div></li>'
    product = {
        "id": seed,
        "variants": [{"id": 1}],
        "images": [*(f"{v[2]}?v=1699" for v in views), f"{chart}?v=1699"],
    }
    related = related_cards(
        writer,
        [f"{base}/other{seed}-{i}_360x.jpg" for i in range(3)],
        '<product-recommendations class="product-recommendations">',
    )
    og = f"{views[0][2]}?v=1699&width=1200"
    head = (
        f'<meta property="og:image" content="http:{og}"><meta property="og:image:secure_url" content="{og}">'
    )
    body = (
        f'<section class="product"><ul class="product__media-list">{gallery}</ul>'
        f'<script type="application/json" id="ProductJson-main">{json.dumps(product)}</script></section>{related}'
    )
    return chrome_page(writer, f"/shopify/dawn-{seed}.html", "Dawn tee", head, body)


def shopify_debut(writer: SiteWriter, seed: int) -> PageTruth:
    """Shopify Debut: lazysizes data-src with {width}, data-widths, noscript fallback, featured_image JSON."""
    base = "/cdn/shop/files"
    views = []
    for index in range(2):
        name = f"debut{seed}-{index}"
        files = {f"{base}/{name}_300x300.jpg": 300, f"{base}/{name}_2048x.jpg": None}
        views.append(
            add_photo(
                writer,
                name,
                "hero" if index == 0 else "product",
                seed * 10 + 5 + index,
                files,
                (f"{base}/{name}.jpg",),
            )
        )
    writer.file(f"{base}/debut{seed}-0.jpg", jpeg(master_picture(seed * 10 + 5, "hero")))
    writer.file(f"{base}/debut{seed}-1.jpg", jpeg(master_picture(seed * 10 + 6, "product")))
    slides = "".join(
        f'<div class="product-single__media-wrapper"><img class="feature-row__image lazyload"'
        f' src="{v[0]}" data-src="{v[0].replace("_300x300", "_{width}x")}" data-widths="[180,360,540,720,900,1080]"'
        f' alt="Mug"><noscript><img src="{v[0].replace("_300x300", "_2048x")}" alt="Mug"></noscript></div>'
        for v in views
    )
    product = {
        "id": seed,
        "variants": [{"id": 2}],
        "featured_image": f"{base}/debut{seed}-0.jpg",
        "images": [],
    }
    head = f'<meta property="og:image" content="{base}/debut{seed}-0.jpg">'
    related = related_cards(
        writer,
        [f"/cdn/shop/files/rel{seed}-{i}_300x300.jpg" for i in range(2)],
        '<div class="related-products">',
    )
    body = (
        f'{slides}<script type="application/json" data-product-json>{json.dumps(product)}</script>{related}'
    )
    return chrome_page(writer, f"/shopify/debut-{seed}.html", "Debut mug", head, body)


def woocommerce(writer: SiteWriter, seed: int) -> PageTruth:
    """WooCommerce Storefront: -600x600 sizes, data-large_image, <a href> full size, variations JSON, Yoast @graph
    whose Product.image is an @id reference to its ImageObject."""
    up = f"/wp-content/uploads/2024/0{seed % 9 + 1}"
    views = []
    for index, role in enumerate(("hero", "product", "lifestyle")):
        name = f"hoodie{seed}-{index}"
        files = {f"{up}/{name}-100x100.jpg": 100, f"{up}/{name}-600x600.jpg": 600, f"{up}/{name}.jpg": None}
        views.append(add_photo(writer, name, role, seed * 10 + index, files))
    slides = "".join(
        f'<div data-thumb="{v[0]}" class="woocommerce-product-gallery__image"><a href="{v[2]}">'
        f'<img width="600" height="600" src="{v[1]}" class="{"wp-post-image" if i == 0 else ""}" alt=""'
        f' data-src="{v[2]}" data-large_image="{v[2]}" data-large_image_width="1000"'
        f' srcset="{v[1]} 600w, {v[0]} 100w" sizes="(max-width: 600px) 100vw, 600px"></a></div>'
        for i, v in enumerate(views)
    )
    variations = [{"variation_id": 7, "image": {"src": views[1][1], "full_src": views[1][2]}}]
    form = f"<form class='variations_form cart' data-product_variations='{json.dumps(variations)}'></form>"
    primary = f"http://__HOST__/woo/hoodie-{seed}.html#primaryimage"  # Yoast SEO links its nodes by @id
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebPage", "primaryImageOfPage": {"@id": primary}},
            {
                "@type": "ImageObject",
                "@id": primary,
                "url": views[0][2],
                "contentUrl": views[0][2],
                "width": 1000,
            },
            {"@type": "Product", "image": {"@id": primary}},
        ],
    }
    logo = add_junk_file(
        writer, f"{up}/shop-logo-{seed}.png", "logo", Image.new("RGB", (300, 90), (20, 20, 90))
    )
    related = related_cards(
        writer, [f"{up}/other{seed}-{i}-300x300.jpg" for i in range(3)], '<section class="related products">'
    )
    body = (
        f'<a class="custom-logo-link"><img class="custom-logo" src="{logo}" alt="Shop"></a>'
        f'<div class="woocommerce-product-gallery">{slides}</div>{form}{related}'
    )
    head = f'<meta property="og:image" content="{views[0][2]}">{jsonld_script(graph)}'
    return chrome_page(writer, f"/woo/hoodie-{seed}.html", "Hoodie", head, body)


def magento(writer: SiteWriter, seed: int) -> PageTruth:
    """Magento 2 Luma: cache-path images, x-magento-init gallery with isMain, small og:image, related block."""
    cache = "/media/catalog/product/cache/0f831c1845fc143d00d6d1ebc49f446a"
    views = []
    for index in range(3):
        name = f"m/b/mb{seed:02d}-{index}"
        files = {f"{cache}/{name}.jpg": 700, f"/media/catalog/product/{name}.jpg": None}
        views.append(add_photo(writer, name, "hero" if index == 0 else "product", seed * 10 + index, files))
    thumbs = {f"{cache}/thumb/{v[1].rsplit('/', 1)[1]}": v for v in views}
    data = [
        {
            "thumb": v[0],
            "img": v[0],
            "full": v[1],
            "caption": "Bag",
            "position": str(i),
            "isMain": i == 0,
            "type": "image",
        }
        for i, v in enumerate(views)
    ]
    init = {
        "[data-gallery-role=gallery-placeholder]": {
            "mage/gallery/gallery": {"data": data, "options": {"nav": "thumbs"}}
        }
    }
    related = related_cards(
        writer, [f"{cache}/r/e/rel{seed}-{i}.jpg" for i in range(3)], '<div class="block related">'
    )
    del thumbs
    body = (
        f'<div class="product media"><div class="gallery-placeholder _block-content-loading" data-gallery-role="gallery-placeholder">'
        f'<img alt="main product photo" class="gallery-placeholder__image" src="{views[0][0]}"></div>'
        f'<script type="text/x-magento-init">{json.dumps(init)}</script></div>{related}'
    )
    head = f'<meta property="og:image" content="{views[0][0]}">'
    return chrome_page(writer, f"/magento/bag-{seed}.html", "Bag", head, body)


def bigcommerce(writer: SiteWriter, seed: int) -> PageTruth:
    """BigCommerce Cornerstone: stencil sizes, data-zoom-image, gallery thumbnail links, BCData, related tab."""
    stencil = "/images/stencil"
    views = []
    for index in range(3):
        name = f"products/{seed}/{index}/bottle__{seed}{index}.jpg"
        files = {
            f"{stencil}/50x50/{name}": 50,
            f"{stencil}/500x659/{name}": 500,
            f"{stencil}/original/{name}": None,
        }
        aliases = (f"{stencil}/1280x1280/{name}",)
        views.append(
            add_photo(writer, name, "hero" if index == 0 else "product", seed * 10 + index, files, aliases)
        )
    main = (
        f'<figure class="productView-image" data-image-gallery-main><div class="productView-img-container">'
        f'<img class="productView-image--default lazyload" data-sizes="auto" src="/static/img-default.gif"'
        f' data-src="{views[0][1]}" data-zoom-image="{stencil}/1280x1280/{views[0][2].split("/original/")[1]}" alt="Bottle"></div></figure>'
    )
    thumbs = "".join(
        f'<li class="productView-thumbnail"><a class="productView-thumbnail-link" href="{v[2]}"'
        f' data-image-gallery-new-image-url="{v[1]}" data-image-gallery-zoom-image-url="{stencil}/1280x1280/{v[2].split("/original/")[1]}">'
        f'<img src="{v[0]}" alt="Bottle"></a></li>'
        for v in views
    )
    bcdata = {
        "product_attributes": {
            "sku": "B1",
            "image": {"data": f"{stencil}/{{:size}}/{views[0][2].split('/original/')[1]}"},
        }
    }
    related = related_cards(
        writer,
        [f"{stencil}/500x659/products/9{seed}/{i}/rel__{i}.jpg" for i in range(3)],
        '<div class="tab-content" id="tab-related">',
    )
    body = f'{main}<ul class="productView-thumbnails">{thumbs}</ul><script>var BCData = {json.dumps(bcdata)};</script>{related}'
    return chrome_page(writer, f"/bigcommerce/bottle-{seed}.html", "Bottle", "", body)


def shopify_look(writer: SiteWriter, seed: int) -> PageTruth:
    """Shopify with a mega-menu promo in the header, "complete the look" upsells, an Instagram feed and
    customers' photos in a Judge.me review widget."""
    base = "/cdn/shop/products"
    views = []
    for index, role in enumerate(("hero", "product", "lifestyle")):
        name = f"look{seed}-{index}"
        files = {f"{base}/{name}_540x.jpg": 540, f"{base}/{name}.jpg": None}
        views.append(add_photo(writer, name, role, seed * 10 + index, files, (f"{base}/{name}.jpg?v=2",)))
    menu = add_junk_file(
        writer,
        f"/cdn/shop/files/menu-promo{seed}_600x.jpg",
        "page_chrome",
        lifestyle_photo(seed + 900, (600, 400)),
        "JPEG",
    )
    writer.file(f"/cdn/shop/files/menu-promo{seed}.jpg", jpeg(lifestyle_photo(seed + 900, (600, 400))))
    header = f'<header class="site-header"><nav class="mega-menu"><div class="mega-menu__promo"><img src="{menu}" alt="New season"></div></nav></header>'
    gallery = "".join(
        f'<div class="product__media-item{" is-active" if i == 0 else ""}"><img src="{v[0]}" alt="Lamp" width="540" height="540"></div>'
        for i, v in enumerate(views)
    )
    look = related_cards(
        writer, [f"{base}/look-other{seed}-{i}_360x.jpg" for i in range(2)], '<div class="complete-the-look">'
    )
    feed = "".join(
        f'<a href="https://instagram.com/p/{i}"><img src="{path}" alt=""></a>'
        for i, path in enumerate(
            add_junk_photos(
                writer, [f"/cdn/shop/files/ig{seed}-{i}.jpg" for i in range(2)], "social", seed + 950
            )
        )
    )
    # Judge.me review photos: customers' pictures of this very lamp
    review_photos = [f"/reviews/{seed}/pic-{i}.jpg" for i in range(2)]
    pics = "".join(
        f'<a class="jdgm-rev__pic-link" href="{path}"><img class="jdgm-rev__pic-img" src="{path}" alt=""></a>'
        for path in add_junk_photos(writer, review_photos, "review_photo", seed + 970, (800, 600))
    )
    reviews = f'<div class="jdgm-widget jdgm-review-widget"><div class="jdgm-rev"><div class="jdgm-rev__pics">{pics}</div></div></div>'
    head = f'<meta property="og:image" content="{views[0][1]}?v=2">'
    body = (
        f'<div class="product__media-list">{gallery}</div>{look}<section class="instagram-feed">{feed}</section>'
        f"{reviews}"
    )
    return chrome_page(writer, f"/shopify/look-{seed}.html", "Lamp", head, header + body)


def woocommerce_plain(writer: SiteWriter, seed: int) -> PageTruth:
    """WooCommerce without og:image or JSON-LD: the featured image is only marked by wp-post-image."""
    up = f"/wp-content/uploads/2023/1{seed % 3}"
    views = []
    for index in range(3):
        name = f"chair{seed}-{index}"
        files = {f"{up}/{name}-300x300.jpg": 300, f"{up}/{name}.jpg": None}
        views.append(add_photo(writer, name, "hero" if index == 1 else "product", seed * 10 + index, files))
    order = [
        views[1],
        views[0],
        views[2],
    ]  # the featured image is not the largest file name nor first in the HTML
    thumbs = "".join(
        f'<li><img src="{v[0]}" class="attachment-woocommerce_thumbnail" alt=""></li>' for v in order[1:]
    )
    featured = (
        f'<div class="woocommerce-product-gallery__image"><a href="{order[0][1]}">'
        f'<img src="{order[0][0]}" class="wp-post-image" alt="Chair" data-large_image="{order[0][1]}"></a></div>'
    )
    return chrome_page(
        writer,
        f"/woo/chair-{seed}.html",
        "Chair",
        "",
        f'<ol class="flex-control-nav">{thumbs}</ol>{featured}',
    )


def prestashop(writer: SiteWriter, seed: int) -> PageTruth:
    """PrestaShop 1.7 classic: -large_default cover, thumbnails with data-image-large-src, accessories block."""
    views = []
    for index in range(3):
        digits = "/".join(str(seed * 10 + index))
        stem = f"/img/p/{digits}/{seed * 10 + index}"
        files = {f"{stem}-small_default.jpg": 98, f"{stem}-large_default.jpg": 800, f"{stem}.jpg": None}
        views.append(add_photo(writer, stem, "hero" if index == 0 else "product", seed * 10 + index, files))
    cover = (
        f'<div class="product-cover"><img class="js-qv-product-cover" src="{views[0][1]}" alt="Scarf"'
        f' title="Scarf" itemprop="image"></div>'
    )
    thumbs = "".join(
        f'<li class="thumb-container"><img class="thumb js-thumb" data-image-medium-src="{v[0]}"'
        f' data-image-large-src="{v[1]}" src="{v[0]}" alt="Scarf" width="100"></li>'
        for v in views
    )
    accessories = related_cards(
        writer,
        [f"/img/p/9/{seed}/9{seed}{i}-home_default.jpg" for i in range(2)],
        '<section class="product-accessories">',
    )
    body = f'<div class="images-container">{cover}<div class="js-qv-mask"><ul class="product-images">{thumbs}</ul></div></div>{accessories}'
    return chrome_page(writer, f"/presta/scarf-{seed}.html", "Scarf", "", body)
