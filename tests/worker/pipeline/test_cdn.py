"""Image-CDN size variants: the URL of the largest copy, and ordinary URLs left alone."""

from __future__ import annotations

import pytest

from worker.pipeline.cdn import largest_variant


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
