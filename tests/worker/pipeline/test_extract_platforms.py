"""Extraction of shop-platform sources: Shopify, WooCommerce, Magento, BigCommerce, Amazon, lazy themes, noscript."""

from __future__ import annotations

import json

import pytest

from tests.worker.pipeline.test_extract import BASE, found

SHOPIFY_CDN = "https://cdn.shopify.com/s/files/1/0001/products"


def test_shopify_product_json_images_and_featured_hero():
    """A Shopify product JSON blob gives featured_image (hero), images and media, upsized."""
    product = {
        "id": 1,
        "variants": [{"id": 2}],
        "featured_image": f"{SHOPIFY_CDN}/mug.jpg",
        "images": [f"{SHOPIFY_CDN}/mug.jpg", f"{SHOPIFY_CDN}/mug-side.jpg"],
        "media": [
            {"media_type": "image", "src": f"{SHOPIFY_CDN}/mug-top.jpg"},
            {"media_type": "video", "src": f"{SHOPIFY_CDN}/clip.mp4"},
        ],
    }
    body = f'<script type="application/json" data-product-json>{json.dumps(product)}</script>'
    result = found(body)
    assert set(result) == {f"{SHOPIFY_CDN}/{name}.jpg" for name in ("mug", "mug-side", "mug-top")}
    assert {"platform", "hero"} <= result[f"{SHOPIFY_CDN}/mug.jpg"].hints
    assert "hero" not in result[f"{SHOPIFY_CDN}/mug-side.jpg"].hints


def test_unrelated_json_scripts_are_ignored():
    """Application JSON that is not a product (app state with images) gives nothing."""
    state = {"recommendations": {"images": ["/other.jpg"]}}
    assert found(f'<script type="application/json">{json.dumps(state)}</script>') == {}


def test_shopify_width_placeholder_is_filled():
    """Shopify themes write {width} in data-src for JS to fill: it becomes a large width, upsized."""
    result = found(f'<img src="data:image/gif;base64,R0" data-src="{SHOPIFY_CDN}/mug_{{width}}x.jpg">')
    assert f"{SHOPIFY_CDN}/mug.jpg" in result
    assert f"{SHOPIFY_CDN}/mug_2048x.jpg" in result


def _next_data(page_props: dict) -> str:
    state = {"props": {"pageProps": page_props}, "page": "/product/[handle]", "buildId": "b1"}
    return f'<script id="__NEXT_DATA__" type="application/json">{json.dumps(state)}</script>'


def test_next_data_gives_the_pages_product_images_not_the_recommendations():
    """A headless Next.js storefront: props.pageProps.product's featuredImage (hero) and images; other products not."""
    product = {
        "title": "Backpack",
        "featuredImage": {"url": "/products/bag-0.jpg", "altText": "Backpack"},
        "images": [{"url": "/products/bag-0.jpg"}, {"url": "/products/bag-1.jpg", "width": 1000}],
        "variants": [{"id": "gid://shopify/ProductVariant/1"}],
    }
    recommendations = [{"title": "Other", "featuredImage": {"url": "/products/other.jpg"}, "images": []}]
    result = found(_next_data({"product": product, "recommendations": recommendations}))
    assert set(result) == {f"{BASE}/products/bag-0.jpg", f"{BASE}/products/bag-1.jpg"}
    assert {"platform", "hero"} <= result[f"{BASE}/products/bag-0.jpg"].hints
    assert "hero" not in result[f"{BASE}/products/bag-1.jpg"].hints


@pytest.mark.parametrize(
    "images",
    [
        {"edges": [{"node": {"url": "/p/a.jpg"}}, {"node": {"originalSrc": "/p/b.jpg"}}]},
        {"nodes": [{"url": "/p/a.jpg"}, {"src": "/p/b.jpg"}]},
        ["/p/a.jpg", {"url": "/p/b.jpg"}, {"url": 3}, None],
    ],
)
def test_next_data_product_images_in_every_storefront_shape(images):
    """images as a GraphQL connection (edges or nodes) or a list of objects and strings; junk entries skipped."""
    assert set(found(_next_data({"product": {"images": images}}))) == {f"{BASE}/p/a.jpg", f"{BASE}/p/b.jpg"}


@pytest.mark.parametrize(
    "script",
    [
        '<script id="__NEXT_DATA__" type="application/json">{"props": {"pageProps": {"product": 3}}}</script>',
        '<script id="__NEXT_DATA__" type="application/json">{"props": ["product"]}</script>',
        '<script id="__NEXT_DATA__" type="application/json">{"product": {"images": ["/p/a.jpg"]</script>',
    ],
)
def test_next_data_of_another_shape_or_broken_gives_nothing(script):
    """No product object where a Next.js page keeps it, or broken JSON: no candidates, no error."""
    assert found(script) == {}


def test_woocommerce_variation_images():
    """data-product_variations JSON: each variation's full-size image is a platform candidate."""
    variations = [
        {"variation_id": 1, "image": {"src": "/up/a-600x600.jpg", "full_src": "/up/a.jpg"}},
        {"variation_id": 2, "image": {"url": "/up/b.jpg"}},
        {"variation_id": 3, "image": []},
    ]
    body = f"<form class='variations_form' data-product_variations='{json.dumps(variations)}'></form>"
    result = found(body)
    assert set(result) == {f"{BASE}/up/a.jpg", f"{BASE}/up/b.jpg"}
    assert "platform" in result[f"{BASE}/up/a.jpg"].hints


def test_magento_gallery_init_script_marks_the_main_image():
    """text/x-magento-init with mage/gallery/gallery: full-size images, isMain is the hero."""
    init = {
        "[data-gallery-role=gallery-placeholder]": {
            "mage/gallery/gallery": {
                "data": [
                    {
                        "thumb": "/t/1.jpg",
                        "img": "/m/1.jpg",
                        "full": "/f/1.jpg",
                        "isMain": True,
                        "type": "image",
                    },
                    {"thumb": "/t/2.jpg", "img": "/m/2.jpg", "type": "image"},
                    {"thumb": "/t/v.jpg", "img": "/m/v.jpg", "type": "video"},
                ]
            }
        }
    }
    result = found(f'<script type="text/x-magento-init">{json.dumps(init)}</script>')
    assert set(result) == {f"{BASE}/f/1.jpg", f"{BASE}/m/2.jpg"}
    assert "hero" in result[f"{BASE}/f/1.jpg"].hints


def test_magento_data_gallery_attribute():
    """A data-gallery JSON attribute is read like the gallery init data."""
    gallery = [{"img": "/m/a.jpg", "full": "/f/a.jpg", "isMain": True}]
    result = found(f"<div data-gallery='{json.dumps(gallery)}'></div>")
    assert list(result) == [f"{BASE}/f/a.jpg"]


def test_bigcommerce_bcdata_and_gallery_links():
    """BCData's product image ({:size} → original) and the gallery link attributes are candidates."""
    stencil = "https://cdn11.bigcommerce.com/s-abc/images/stencil"
    bcdata = {"product_attributes": {"image": {"data": f"{stencil}/{{:size}}/products/1/2/mug.jpg"}}}
    body = (
        f"<script>var BCData = {json.dumps(bcdata)};</script>"
        f'<a class="productView-thumbnail-link" href="#" data-image-gallery-new-image-url="{stencil}/500x659/p/side.jpg"'
        f' data-image-gallery-zoom-image-url="{stencil}/1280x1280/p/side.jpg"><img src="{stencil}/50x50/p/side.jpg"></a>'
    )
    result = found(body)
    assert f"{stencil}/original/products/1/2/mug.jpg" in result
    assert f"{stencil}/original/p/side.jpg" in result
    assert "zoom" in result[f"{stencil}/original/p/side.jpg"].hints


def test_amazon_dynamic_image_and_old_hires():
    """data-a-dynamic-image gives its largest entry, data-old-hires the full size; both as zoom."""
    dynamic = {
        "https://m.media-amazon.com/images/I/81x._AC_SX300_.jpg": [300, 300],
        "https://m.media-amazon.com/images/I/81x._AC_SX679_.jpg": [679, 679],
    }
    body = (
        f"<img id='landingImage' src='https://m.media-amazon.com/images/I/81x._AC_SX300_.jpg'"
        f" data-old-hires='https://m.media-amazon.com/images/I/81x._AC_SL1500_.jpg'"
        f" data-a-dynamic-image='{json.dumps(dynamic)}'>"
    )
    result = found(body)
    assert "https://m.media-amazon.com/images/I/81x.jpg" in result
    assert "zoom" in result["https://m.media-amazon.com/images/I/81x._AC_SL1500_.jpg"].hints
    assert result["https://m.media-amazon.com/images/I/81x._AC_SX679_.jpg"].width_hint == 679
    assert "hero" in result["https://m.media-amazon.com/images/I/81x.jpg"].hints


def test_etsy_zoom_attribute_and_upsized_listing_image():
    """Etsy's carousel: data-src-zoom-image is the full size (zoom); the il_794xN src is upsized too."""
    listing = "https://i.etsystatic.com/1/r/il/ab/99"
    body = (
        f'<img class="carousel-image" src="{listing}/il_794xN.99_x.jpg"'
        f' data-src-zoom-image="{listing}/il_fullxfull.99_x.jpg">'
    )
    result = found(body)
    assert "zoom" in result[f"{listing}/il_fullxfull.99_x.jpg"].hints
    assert f"{listing}/il_794xN.99_x.jpg" in result


@pytest.mark.parametrize(
    "attribute", ["data-flickity-lazyload", "data-lazyload", "data-image", "data-img-src", "data-main-image"]
)
def test_more_lazy_attributes(attribute):
    """Slider and theme lazy attributes are the real image; the placeholder src is dropped."""
    assert list(found(f'<img src="/blank.gif" {attribute}="/real.jpg">')) == [f"{BASE}/real.jpg"]


def test_data_bgset_is_a_srcset():
    """lazysizes data-bgset on an <img> contributes its largest entry."""
    result = found('<img src="data:image/gif;base64,R0" data-bgset="/bg-400.jpg 400w, /bg-1600.jpg 1600w">')
    assert list(result) == [f"{BASE}/bg-1600.jpg"]


def test_data_bgset_on_any_element_gives_each_sets_largest_entry():
    """lazysizes' bgset plugin on a slide: one srcset per media query, separated by |."""
    result = found(
        '<div class="slide lazyload" data-sizes="auto"'
        ' data-bgset="/s-400.jpg 400w, /s-1600.jpg 1600w [(min-width: 750px)] | /m-300.jpg 300w, /m-900.jpg 900w"></div>'
    )
    assert list(result) == [f"{BASE}/s-1600.jpg", f"{BASE}/m-900.jpg"]
    assert {candidate.source for candidate in result.values()} == {"css"}


def test_noscript_fallback_elements_and_escaped_text():
    """<noscript> images count, whether parsed as elements or left as escaped markup text."""
    result = found('<noscript><img src="/a.jpg"></noscript><noscript>&lt;img src="/b.jpg"&gt;</noscript>')
    assert set(result) == {f"{BASE}/a.jpg", f"{BASE}/b.jpg"}
    assert result[f"{BASE}/a.jpg"].source == "noscript"


def test_zoom_attribute_on_a_container():
    """data-zoom-image on a wrapper <div> (Magento/elevateZoom themes) is a zoom candidate."""
    result = found('<div class="product-image" data-zoom-image="/xl.jpg"><img src="/m.jpg"></div>')
    assert "zoom" in result[f"{BASE}/xl.jpg"].hints


def test_upsized_candidate_comes_first_and_the_original_stays():
    """A CDN size variant yields the full-size URL (hint upsized) before the original fallback."""
    result = list(found(f'<img src="{SHOPIFY_CDN}/mug_300x.jpg?v=7">').values())
    assert [candidate.url for candidate in result] == [
        f"{SHOPIFY_CDN}/mug.jpg?v=7",
        f"{SHOPIFY_CDN}/mug_300x.jpg?v=7",
    ]
    assert "upsized" in result[0].hints
    assert "upsized" not in result[1].hints
