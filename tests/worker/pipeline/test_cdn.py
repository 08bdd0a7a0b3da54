"""Image-CDN size variants: the URL of the largest copy, and ordinary URLs left alone."""

from __future__ import annotations

import pytest

from worker.pipeline.extract.cdn import largest_variant


@pytest.mark.parametrize(
    ("url", "largest"),
    [
        (
            "https://cdn.shopify.com/s/files/1/p/mug_100x.jpg?v=1",
            "https://cdn.shopify.com/s/files/1/p/mug.jpg?v=1",
        ),
        (
            "https://cdn.shopify.com/s/files/1/p/mug_200x300_crop_center@2x.png",
            "https://cdn.shopify.com/s/files/1/p/mug.png",
        ),
        ("https://cdn.shopify.com/s/files/1/p/mug_grande.jpg", "https://cdn.shopify.com/s/files/1/p/mug.jpg"),
        (
            "https://shop.com/cdn/shop/products/mug.jpg?v=1&width=360",
            "https://shop.com/cdn/shop/products/mug.jpg?v=1",
        ),
        (
            "https://s7d9.scene7.com/is/image/B/sku?wid=300&hei=300&fmt=jpeg",
            "https://s7d9.scene7.com/is/image/B/sku?fmt=jpeg&wid=2000",
        ),
        (
            "https://x.com/dw/image/v2/AB_PRD/on/demandware.static/-/S/dw1/a.jpg?sw=300&sh=300&sm=fit",
            "https://x.com/dw/image/v2/AB_PRD/on/demandware.static/-/S/dw1/a.jpg",
        ),
        (
            "https://m.com/media/catalog/product/cache/0f831c1845fc143d00d6d1ebc49f446a/m/b/mb01.jpg",
            "https://m.com/media/catalog/product/m/b/mb01.jpg",
        ),
        (
            "https://b.com/wp-content/uploads/2024/01/hoodie-150x150.jpg",
            "https://b.com/wp-content/uploads/2024/01/hoodie.jpg",
        ),
        (
            "https://m.media-amazon.com/images/I/81abc._AC_SX679_.jpg",
            "https://m.media-amazon.com/images/I/81abc.jpg",
        ),
        (
            "https://cdn11.bigcommerce.com/s-a/images/stencil/500x659/products/1/f.jpg?c=2",
            "https://cdn11.bigcommerce.com/s-a/images/stencil/original/products/1/f.jpg?c=2",
        ),
        (
            "https://res.cloudinary.com/d/image/upload/w_300,h_300,c_fill/v1/s.jpg",
            "https://res.cloudinary.com/d/image/upload/v1/s.jpg",
        ),
        (
            "https://assets.imgix.net/p/a.jpg?w=400&h=400&fit=crop&auto=format",
            "https://assets.imgix.net/p/a.jpg?auto=format",
        ),
        (
            "https://cdn.sanity.io/images/abc/production/f00-2000x2000.jpg?w=300&h=300&fit=crop&auto=format",
            "https://cdn.sanity.io/images/abc/production/f00-2000x2000.jpg?auto=format",
        ),
        (
            "https://images.ctfassets.net/sp/id/tok/a.jpg?w=400&h=400&fm=webp&q=80",
            "https://images.ctfassets.net/sp/id/tok/a.jpg",
        ),
        (
            "https://static.wixstatic.com/media/84770f_abc~mv2.jpg/v1/fill/w_300,h_300,al_c,q_80/84770f_abc~mv2.jpg",
            "https://static.wixstatic.com/media/84770f_abc~mv2.jpg",
        ),
        (
            "https://images.squarespace-cdn.com/content/v1/5f/160-X/a.jpg?format=300w",
            "https://images.squarespace-cdn.com/content/v1/5f/160-X/a.jpg?format=2500w",
        ),
        (
            "https://i.ebayimg.com/images/g/AbCAAOSw/s-l300.jpg",
            "https://i.ebayimg.com/images/g/AbCAAOSw/s-l1600.jpg",
        ),
        (
            "https://i.etsystatic.com/123/r/il/ab12cd/4567/il_794xN.4567_x1y2.jpg",
            "https://i.etsystatic.com/123/r/il/ab12cd/4567/il_fullxfull.4567_x1y2.jpg",
        ),
        (
            "https://ae01.alicdn.com/kf/Habc123.jpg_640x640q90.jpg_.webp",
            "https://ae01.alicdn.com/kf/Habc123.jpg",
        ),
        (
            "https://loja.vteximg.com.br/arquivos/ids/155404-500-500/tenis.jpg?v=637",
            "https://loja.vteximg.com.br/arquivos/ids/155404/tenis.jpg?v=637",
        ),
        (
            "https://i5.walmartimages.com/asr/abc.jpeg?odnHeight=450&odnWidth=450&odnBg=FFFFFF",
            "https://i5.walmartimages.com/asr/abc.jpeg",
        ),
        ("https://ik.imagekit.io/demo/tr:w-300,h-300/cafe.jpg", "https://ik.imagekit.io/demo/cafe.jpg"),
        ("https://ik.imagekit.io/demo/cafe.jpg?tr=w-300", "https://ik.imagekit.io/demo/cafe.jpg"),
        (
            "https://a.storyblok.com/f/39898/3310x2192/e4ec08624e/demo.jpeg/m/600x0/filters:quality(80)",
            "https://a.storyblok.com/f/39898/3310x2192/e4ec08624e/demo.jpeg",
        ),
        ("https://shop.com/_ipx/w_640&f_webp/images/a.jpg", "https://shop.com/_ipx/_/images/a.jpg"),
        (
            "https://www.shop.de/thumbnail/a0/b1/c2/1612345678/produkt_800x800.jpg",
            "https://www.shop.de/media/a0/b1/c2/1612345678/produkt.jpg",
        ),
        (
            "https://m1.com/media/catalog/product/cache/1/image/600x/9df78eab33525d08d6e5fb8d27136e95/a/b/ab.jpg",
            "https://m1.com/media/catalog/product/a/b/ab.jpg",
        ),
        (
            "https://pwa.com/media/catalog/product/v/s/vsw01-ll_main.jpg?auto=webp&format=pjpg&width=640&height=800&fit=cover",
            "https://pwa.com/media/catalog/product/v/s/vsw01-ll_main.jpg",
        ),
        (
            "https://pisces.bbystatic.com/image2/BestBuy_US/images/products/6505/6505727_sd.jpg;maxHeight=640;maxWidth=550",
            "https://pisces.bbystatic.com/image2/BestBuy_US/images/products/6505/6505727_sd.jpg",
        ),
        (
            "https://images.thdstatic.com/productImages/0a1b/svn/drill-64_300.jpg",
            "https://images.thdstatic.com/productImages/0a1b/svn/drill-64_1000.jpg",
        ),
        (
            "https://static.zara.net/photos///2023/V/0/1/p/1234/567/800/2/w/563/1234567800_1_1_1.jpg?ts=1",
            "https://static.zara.net/photos///2023/V/0/1/p/1234/567/800/2/w/1920/1234567800_1_1_1.jpg?ts=1",
        ),
        (
            "https://img.ltwebstatic.com/images3_pi/2023/01/01/abc_thumbnail_220x293.jpg",
            "https://img.ltwebstatic.com/images3_pi/2023/01/01/abc.jpg",
        ),
        (
            "https://thumbnail.image.rakuten.co.jp/@0_mall/shop/cabinet/img.jpg?_ex=128x128",
            "https://thumbnail.image.rakuten.co.jp/@0_mall/shop/cabinet/img.jpg",
        ),
        (
            "https://shop.example.com/image/cache/catalog/demo/canon_eos_5d_1-500x500.jpg",
            "https://shop.example.com/image/catalog/demo/canon_eos_5d_1.jpg",
        ),
        (
            "https://cdn.prod.website-files.com/64f1c0/65a1b2_mug-blue-p-800.jpeg",
            "https://cdn.prod.website-files.com/64f1c0/65a1b2_mug-blue.jpeg",
        ),
        (
            "https://uploads-ssl.webflow.com/5e8f/5e90_cup-p-130x130q80.png",
            "https://uploads-ssl.webflow.com/5e8f/5e90_cup.png",
        ),
        (
            "https://img01.ztat.net/article/spp-media-p1/3b9c/dress.jpg?imwidth=156&filter=packshot",
            "https://img01.ztat.net/article/spp-media-p1/3b9c/dress.jpg?filter=packshot",
        ),
        (
            "https://image.hm.com/assets/hm/4f/2a/shirt.jpg?imwidth=657",
            "https://image.hm.com/assets/hm/4f/2a/shirt.jpg",
        ),
    ],
)
def test_size_variants_map_to_the_largest_copy(url, largest):
    """Each CDN's size request is removed (or raised, for Scene7)."""
    assert largest == largest_variant(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example.com/img/mug_100x.jpg",
        "https://shop.example.com/img/hoodie-150x150.jpg",
        "https://cdn.shopify.com/s/files/1/p/mug.jpg?v=1",
        "https://s7d9.scene7.com/is/image/B/sku?fmt=jpeg",
        "https://b.com/wp-content/uploads/2024/01/hoodie.jpg",
        "https://images.squarespace-cdn.com/content/v1/5f/160-X/a.jpg",
        "https://i.ebayimg.com/images/g/AbCAAOSw/s-l1600.jpg",
        "https://i.etsystatic.com/123/r/il/ab12cd/4567/il_fullxfull.4567_x1y2.jpg",
        "https://shop.com/_ipx/_/images/a.jpg",
        "https://shop.example.com/images/g/sale/banner.jpg",
        "https://shop.example.com/content/v1/page.jpg?format=json",
        "https://shop.example.com/api/v1/fill/a.jpg",
        "https://shop.example.com/thumbnail/blog/post_800x800.jpg",
        "https://m.com/media/catalog/product/m/b/mb01.jpg?v=2",
        "https://assets.imgix.net/p/a.jpg?auto=format&name=a/b",  # nothing to drop: not re-encoded into a new URL
        "https://images.thdstatic.com/productImages/0a1b/svn/drill-64_1000.jpg",
        "https://shop.example.com/image/cache/catalog/demo/canon_eos_5d_1-500x500.webp",
        "https://shop.example.com/image/catalog/demo/canon_eos_5d_1.jpg",
        "https://cdn.prod.website-files.com/64f1c0/65a1b2_mug-blue.jpeg",
        "https://shop.example.com/img/a.jpg?primwidth=3",  # a parameter merely ending in "imwidth"
    ],
)
def test_ordinary_and_already_full_urls_are_left_alone(url):
    """No known CDN shape, or no size request: None."""
    assert largest_variant(url) is None


def test_the_first_rule_wins_when_several_cdn_markers_occur():
    """Rules are tried in order (Shopify before Demandware and WordPress), whichever marker comes first."""
    assert (
        largest_variant("https://x.com/wp-content/uploads/cdn/shop/a-100x100_200x.jpg?width=3")
        == "https://x.com/wp-content/uploads/cdn/shop/a-100x100.jpg"
    )
    assert (
        largest_variant("https://demandware.static/cdn/shop/a_100x.jpg?sw=2&width=1")
        == "https://demandware.static/cdn/shop/a.jpg?sw=2"
    )


@pytest.mark.parametrize(
    ("url", "source"),
    [
        ("https://shop.com/_next/image?url=%2Fimages%2Fa.jpg&w=640&q=75", "https://shop.com/images/a.jpg"),
        (
            "https://shop.com/cdn-cgi/image/width=400,quality=75/uploads/a.jpg?v=3",
            "https://shop.com/uploads/a.jpg?v=3",
        ),
        (
            "https://shop.com/cdn-cgi/image/fit=cover,width=400/https://img.example.net/a.jpg",
            "https://img.example.net/a.jpg",
        ),
    ],
)
def test_image_proxies_give_the_url_they_wrap(url, source):
    """Next.js's /_next/image and Cloudflare's /cdn-cgi/image/ serve another URL resized: that URL."""
    assert largest_variant(url) == source


def test_the_url_a_proxy_wraps_is_upsized_once_more():
    """A proxied CDN variant becomes the CDN's largest copy; the proxy's own marker wins over the CDN's."""
    shopify = "https%3A%2F%2Fcdn.shopify.com%2Fs%2Ffiles%2F1%2Fa_800x.jpg%3Fv%3D2"
    assert largest_variant(f"https://shop.com/_next/image?url={shopify}&w=1080&q=75") == (
        "https://cdn.shopify.com/s/files/1/a.jpg?v=2"
    )
    assert largest_variant(
        "https://shop.com/cdn-cgi/image/width=400/https://cdn.shopify.com/s/a_400x.jpg"
    ) == ("https://cdn.shopify.com/s/a.jpg")


def test_a_proxy_in_a_proxy_is_unwrapped_once():
    """Cloudflare wrapping Next.js: the Next.js URL, not unwrapped again (no unbounded unwrapping)."""
    assert largest_variant(
        "https://shop.com/cdn-cgi/image/width=400/https://shop.com/_next/image?url=%2Fa.jpg"
    ) == ("https://shop.com/_next/image?url=%2Fa.jpg")


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.com/_next/image?url=javascript%3Aalert(1)&w=64",
        "https://shop.com/_next/image?url=data%3Aimage%2Fpng%3Bbase64%2CAAAA&w=64",
        "https://shop.com/_next/image?w=64",
        "https://shop.com/cdn-cgi/image/width=400",
    ],
)
def test_a_proxy_without_a_usable_web_url_gives_nothing(url):
    """No wrapped URL, or one that is not http(s): None, so nothing but the proxy's own URL is fetched."""
    assert largest_variant(url) is None
