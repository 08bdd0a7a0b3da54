"""Pages shaped like hosted shop builders and headless storefronts: Next.js, Wix, Squarespace, VTEX, a Vue app."""

from __future__ import annotations

import json
from urllib.parse import quote

from tests.shopsite.platforms.kit import (
    add_photo,
    add_photos,
    add_state_only_junk,
    chrome_page,
    related_cards,
)
from tests.shopsite.site import PageTruth, SiteWriter, jsonld_script


def _next_image(source: str, width: int) -> str:
    """The URL next/image writes for `source` at `width` (through the /_next/image optimizer)."""
    return f"/_next/image?url={quote(source, safe='')}&w={width}&q=75"


def nextjs(writer: SiteWriter, seed: int) -> PageTruth:
    """A headless Next.js shop: the hero by next/image, the other views only as 128 px thumbnails
    and in __NEXT_DATA__ (with recommendations beside the product), og:image the source file."""
    views = []
    for index in range(3):
        source = f"/products/nx{seed}-{index}.jpg"
        files = {
            _next_image(source, 128): 128,
            _next_image(source, 640): 640,
            _next_image(source, 1080): None,
        }
        files[source] = None
        views.append(add_photo(writer, source, "hero" if index == 0 else "product", seed * 10 + index, files))
    hero = views[0]
    main = (
        f'<div class="relative aspect-square h-full max-h-[550px] w-full overflow-hidden">'
        f'<img alt="Trail backpack" fetchpriority="high" decoding="async" data-nimg="fill"'
        f' class="h-full w-full object-contain" style="position:absolute;height:100%;width:100%;color:transparent"'
        f' sizes="(min-width: 1024px) 66vw, 100vw" srcset="{hero[1].replace("&", "&amp;")} 640w,'
        f' {hero[2].replace("&", "&amp;")} 1080w" src="{hero[2].replace("&", "&amp;")}"></div>'
    )
    thumbs = "".join(
        f'<li class="h-20 w-20"><button aria-label="Select product image {i}" class="h-full w-full">'
        f'<img alt="Trail backpack" loading="lazy" width="80" height="80" decoding="async" data-nimg="1"'
        f' class="h-full w-full object-cover" src="{v[0].replace("&", "&amp;")}"></button></li>'
        for i, v in enumerate(views)
    )
    others = tuple(f"/products/rec{seed}-{i}.jpg" for i in range(3))
    recommendations = related_cards(
        writer,
        [_next_image(path, 384) for path in others],
        '<section class="py-8"><h2 class="mb-4 text-2xl font-bold">Related Products</h2>',
        others,
    )
    product = {
        "id": f"gid://shopify/Product/{seed}",
        "title": "Trail backpack",
        "featuredImage": {"url": f"http://__HOST__{hero[3]}", "altText": "Trail backpack", "width": 1000},
        "images": [{"url": f"http://__HOST__{v[3]}", "altText": "Trail backpack"} for v in views],
        "variants": [{"id": f"gid://shopify/ProductVariant/{seed}1", "availableForSale": True}],
    }
    state = {
        "props": {
            "pageProps": {
                "product": product,
                "recommendations": [{"title": "Other", "featuredImage": {"url": path}} for path in others],
            }
        },
        "page": "/product/[handle]",
        "buildId": f"build{seed}",
    }
    head = f'<meta property="og:image" content="{hero[3]}">'
    body = (
        f'<div class="flex flex-col lg:flex-row"><div class="h-full w-full basis-full lg:basis-4/6">{main}'
        f'<ul class="my-12 flex items-center gap-2">{thumbs}</ul></div></div>{recommendations}'
        f'<script id="__NEXT_DATA__" type="application/json">{json.dumps(state)}</script>'
    )
    return chrome_page(writer, f"/next/product/backpack-{seed}.html", "Trail backpack", head, body)


def hydrogen(writer: SiteWriter, seed: int) -> PageTruth:
    """A Shopify Hydrogen storefront, utility classes only: no class, id or alt names the main photo.

    The page asks the browser to fetch the main photo first (`fetchpriority="high"`, and a
    preload); the other views are lazy. og:image is the lifestyle shot further down: the brand
    shares the scene, not the packshot. No JSON-LD.
    """
    paths = [f"/cdn/shop/files/hy{seed}-{index}.jpg" for index in range(4)]
    views = add_photos(writer, paths, seed * 10 + 700, ("hero", "product", "product", "lifestyle"))
    main, lifestyle = views[0], views[3]
    head = (
        f'<meta property="og:image" content="{lifestyle}">'
        f'<link rel="preload" as="image" href="{main}" fetchpriority="high">'
    )
    gallery = (
        f'<div class="grid gap-4 md:grid-cols-2"><img src="{main}" alt="Kettle" fetchpriority="high" decoding="async">'
        + "".join(f'<img src="{view}" alt="Kettle" loading="lazy" decoding="async">' for view in views[1:3])
        + "</div>"
    )
    story = f'<section class="mt-16 px-6"><img src="{lifestyle}" alt="Kettle on a stove" loading="lazy"></section>'
    return chrome_page(writer, f"/products/kettle-{seed}", "Kettle", head, gallery + story)


def _wix_media(file_id: str, side: int | None) -> str:
    media = f"/media/{file_id}"
    return media if side is None else f"{media}/v1/fill/w_{side},h_{side},al_c,q_85,enc_auto/{file_id}"


def wix(writer: SiteWriter, seed: int) -> PageTruth:
    """Wix Stores: static media with /v1/fill/w_,h_ transformations, hidden slides, a thumbnail strip,
    og:image a fill. A file server cannot serve /media/<file> beside /media/<file>/v1/…, so the
    untransformed original (what the upsizing asks for) answers 404 here and the w_1000 fill stays."""
    views = []
    for index in range(3):
        file_id = f"84770f_{seed}a{index}c~mv2.jpg"
        files = {_wix_media(file_id, side): side for side in (50, 500)}
        files[_wix_media(file_id, 1000)] = None
        views.append(
            add_photo(writer, file_id, "hero" if index == 0 else "product", seed * 10 + index, files)
        )
    main = (
        f'<div data-hook="main-media-image-wrapper" class="media-wrapper-hook"><wow-image data-hook="product-image">'
        f'<img src="{views[0][1]}" alt="Soy candle" style="width:500px;height:500px;object-fit:cover"></wow-image></div>'
    )
    slides = "".join(
        f'<div data-hook="slide-{i}" class="slide" aria-hidden="true"><img src="{v[1]}" alt="Soy candle"></div>'
        for i, v in enumerate(views[1:], start=1)
    )
    thumbs = "".join(
        f'<div data-hook="thumbnails-item"><wow-image><img src="{v[0]}" alt="Soy candle"></wow-image></div>'
        for v in views
    )
    related = related_cards(
        writer,
        [_wix_media(f"84770f_rel{seed}{i}~mv2.jpg", 300) for i in range(3)],
        '<div data-hook="related-products" class="related-products-gallery">',
    )
    head = f'<meta property="og:image" content="{views[0][2]}">'
    body = (
        f'<section data-hook="product-page"><div data-hook="product-gallery-root">{main}{slides}'
        f'<div data-hook="thumbnails">{thumbs}</div></div></section>{related}'
    )
    return chrome_page(writer, f"/wix/product-page/candle-{seed}.html", "Soy candle", head, body)


def squarespace(writer: SiteWriter, seed: int) -> PageTruth:
    """Squarespace Commerce: data-src without a size (the JS adds ?format=), srcset of ?format=Nw, og:image 1500w."""
    plains, views = [], []
    for index, role in enumerate(("hero", "product", "lifestyle")):
        plain = f"/content/v1/5f{seed}c/16{seed}{index}-ABC/vase-{index}.jpg"
        files = {f"{plain}?format=300w": 300, f"{plain}?format=750w": 750}
        files |= {f"{plain}?format={size}": None for size in ("2500w", "1500w")} | {plain: None}
        views.append(add_photo(writer, plain, role, seed * 10 + index, files))
        plains.append(plain)
    slides = "".join(
        f'<div class="ProductItem-gallery-slides-item" data-slide-index="{i}">'
        f'<img class="ProductItem-gallery-slides-item-image" data-src="{plain}" data-image="{plain}"'
        f' data-image-dimensions="1000x1000" data-image-focal-point="0.5,0.5" alt="vase-{i}.jpg" data-load="false"'
        f' srcset="{v[0]} 300w, {v[1]} 750w" sizes="(max-width: 640px) 100vw, 50vw"></div>'
        for i, (plain, v) in enumerate(zip(plains, views, strict=True))
    )
    thumbs = "".join(
        f'<div class="ProductItem-gallery-thumbnails-item"><img class="ProductItem-gallery-thumbnails-item-image"'
        f' data-src="{v[0]}" alt="vase"></div>'
        for v in views
    )
    others = tuple(f"/content/v1/5f{seed}c/rel{i}/other-{i}.jpg" for i in range(3))
    related = related_cards(
        writer,
        [f"{other}?format=300w" for other in others],
        '<section class="ProductItem-relatedProducts">',
        tuple(f"{other}?format=2500w" for other in others),
    )
    head = f'<meta property="og:image" content="{plains[0]}?format=1500w">'
    body = (
        f'<article class="ProductItem"><section class="ProductItem-gallery"><div class="ProductItem-gallery-slides">'
        f'{slides}</div><div class="ProductItem-gallery-thumbnails">{thumbs}</div></section></article>{related}'
    )
    return chrome_page(writer, f"/squarespace/shop/p/vase-{seed}.html", "Vase", head, body)


def vtex(writer: SiteWriter, seed: int) -> PageTruth:
    """VTEX IO: /arquivos/ids/<id>-<w>-<h>/ sizes, a swiper gallery with thumbs, JSON-LD of a sized copy, a shelf."""
    views = []
    for index in range(3):
        image_id = 155400 + seed * 10 + index
        sized = f"/arquivos/ids/{image_id}-{{}}/tenis-{index}.jpg?v=6374"
        files = {sized.format("150-auto"): 150, sized.format("500-auto"): 500, sized.format("800-auto"): 800}
        files[f"/arquivos/ids/{image_id}/tenis-{index}.jpg?v=6374"] = None
        views.append(
            add_photo(writer, str(image_id), "hero" if index == 0 else "product", seed * 10 + index, files)
        )
    slides = "".join(
        f'<div class="swiper-slide vtex-store-components-3-x-productImagesGallerySlide">'
        f'<img class="vtex-store-components-3-x-productImageTag vtex-store-components-3-x-productImageTag--main"'
        f' src="{v[1]}" srcset="{v[1]} 1x, {v[2]} 1.5x" alt="Tenis" loading="{"eager" if i == 0 else "lazy"}"></div>'
        for i, v in enumerate(views)
    )
    thumbs = "".join(
        f'<div class="swiper-slide vtex-store-components-3-x-productImagesThumb"><img'
        f' class="vtex-store-components-3-x-thumbImg" src="{v[0]}" alt="Tenis"></div>'
        for v in views
    )
    related = related_cards(
        writer,
        [f"/arquivos/ids/99{seed}{i}-300-300/outro-{i}.jpg?v=1" for i in range(3)],
        '<div class="vtex-shelf-1-x-relatedProducts vtex-product-summary-2-x-container">',
        tuple(f"/arquivos/ids/99{seed}{i}/outro-{i}.jpg?v=1" for i in range(3)),
    )
    product = {"@context": "https://schema.org", "@type": "Product", "name": "Tenis", "image": views[0][1]}
    body = (
        f'<div class="vtex-store-components-3-x-productImagesContainer"><div class="swiper-container-main">{slides}</div>'
        f'<div class="vtex-store-components-3-x-carouselGaleryThumbs">{thumbs}</div></div>{related}'
    )
    return chrome_page(writer, f"/vtex/tenis-{seed}/p.html", "Tenis", jsonld_script(product), body)


def vue_storefront(writer: SiteWriter, seed: int) -> PageTruth:
    """A client-rendered Vue shop: the HTML has only og:image and an empty mount point; the gallery is in
    `window.__INITIAL_STATE__`, found by the product's handle, with recommended products' images beside it."""
    handle = f"desk-lamp-{seed}"
    views = add_photos(
        writer, [f"/media/catalog/vs{seed}-{index}.jpg" for index in range(3)], seed * 10 + 500
    )
    others = [f"/media/catalog/rec{seed}-{index}.jpg" for index in range(3)]
    add_state_only_junk(writer, others)
    state = {
        "route": {"path": f"/products/{handle}"},
        "catalog": {
            "recommended": [
                {"handle": f"other-lamp-{seed}-{i}", "images": [{"src": p}]} for i, p in enumerate(others)
            ],
            "product": {
                "handle": handle,
                "title": "Desk lamp",
                "featuredImage": {"src": views[0]},
                "images": [{"src": view, "alt": "Desk lamp"} for view in views],
                "media": [{"mediaType": "VIDEO", "src": f"/media/video/vs{seed}.mp4"}],
            },
        },
    }
    head = f'<meta property="og:image" content="{views[0]}">'
    body = (
        '<div id="app"><div class="skeleton"></div></div>'
        f"<script>window.__INITIAL_STATE__ = {json.dumps(state)};</script>"
    )
    return chrome_page(writer, f"/products/{handle}", "Desk lamp", head, body)
