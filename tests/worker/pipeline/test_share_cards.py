"""Share cards: an og/twitter image named only in meta tags, at the card's shape, is not a product photo."""

from __future__ import annotations

from backend.settings import load_settings
from tests.shopsite import jpeg, lifestyle_photo, product_photo
from worker.pipeline import rank_image, rank_images
from worker.pipeline.extract.candidates import extract_candidates
from worker.pipeline.measure import measure
from worker.pipeline.types import Candidate, Page, RankedImage

SETTINGS = load_settings(app_env="test")
PAGE_URL = "https://shop.example.com/p/vase.html"


def ranked(data: bytes, name: str, source: str, *hints: str, position: int = 0) -> RankedImage:
    candidate = Candidate(
        url=f"https://shop.example.com/{name}", source=source, position=position, hints=frozenset(hints)
    )
    return rank_image(candidate, data, measure(data, SETTINGS))


def found(html: str) -> dict[str, Candidate]:
    page = Page(url=PAGE_URL, html=html.encode(), content_type="text/html", encoding="utf-8")
    return {candidate.url: candidate for candidate in extract_candidates(page, limit=50)}


def test_a_url_named_only_in_meta_tags_is_marked_meta_only():
    """og:image alone gets "meta_only"; the same URL shown in an <img> too does not."""
    result = found(
        '<html><head><meta property="og:image" content="/banner.jpg">'
        '<meta property="og:image" content="/vase.jpg"></head>'
        '<body><img src="/vase.jpg" alt="Vase"></body></html>'
    )
    assert "meta_only" in result["https://shop.example.com/banner.jpg"].hints
    assert "meta_only" not in result["https://shop.example.com/vase.jpg"].hints


def test_share_banner_is_skipped_and_the_product_is_the_hero():
    """A 1200x630 photo only in og:image, beside the page's own product photo, is skipped as share_card."""
    banner = ranked(jpeg(lifestyle_photo(5, (1200, 630))), "banner.jpg", "og", "og", "meta_only")
    product = ranked(jpeg(product_photo(6, (1000, 1000))), "vase.jpg", "img", "gallery", position=1)

    kept, skips = rank_images([banner, product], max_images=10)

    assert [image.candidate.url for image in kept] == ["https://shop.example.com/vase.jpg"]
    assert kept[0].is_hero
    assert [(skip.url, skip.reason) for skip in skips] == [
        ("https://shop.example.com/banner.jpg", "share_card")
    ]


def test_og_copy_of_a_shown_photo_keeps_the_picture():
    """An og:image that is a byte copy of a gallery photo is that photo: the picture stays, once."""
    data = jpeg(product_photo(7, (1200, 630)))
    og_copy = ranked(data, "og.jpg", "og", "og", "meta_only")
    shown = ranked(data, "gallery.jpg", "img", "gallery", position=1)

    kept, skips = rank_images([og_copy, shown], max_images=10)

    assert len(kept) == 1
    assert [skip.reason for skip in skips] == ["duplicate"]


def test_a_card_that_is_all_the_page_has_is_kept():
    """With nothing else on the page, the share card is the best picture there is."""
    card = ranked(jpeg(lifestyle_photo(8, (1200, 630))), "card.jpg", "og", "og", "meta_only")
    kept, skips = rank_images([card], max_images=10)
    assert [image.candidate.url for image in kept] == ["https://shop.example.com/card.jpg"]
    assert skips == []


def test_a_meta_only_picture_of_another_shape_is_kept():
    """A square og:image found nowhere else on the page is still judged as a photo, not as a card."""
    square = ranked(jpeg(product_photo(9, (1000, 1000))), "square.jpg", "og", "og", "meta_only")
    product = ranked(jpeg(product_photo(10, (1000, 1000))), "vase.jpg", "img", "gallery", position=1)
    kept, _skips = rank_images([square, product], max_images=10)
    assert {image.candidate.url for image in kept} == {
        "https://shop.example.com/square.jpg",
        "https://shop.example.com/vase.jpg",
    }


def test_a_url_only_named_by_metadata_is_marked_unshown():
    """og:image, JSON-LD and <meta itemprop=image> only name a picture; an <img>, lazy or zoom attribute shows it."""
    result = found(
        '<html><head><meta property="og:image" content="/card.jpg">'
        '<script type="application/ld+json">{"@type": "Product", "image": ["/studio.jpg", "/mug.jpg"]}</script>'
        '</head><body><img src="/mug.jpg" alt="Mug"><img src="/t.jpg" data-zoom-image="/big.jpg"></body></html>'
    )
    assert "unshown" in result["https://shop.example.com/card.jpg"].hints
    assert "unshown" in result["https://shop.example.com/studio.jpg"].hints
    for shown in ("mug.jpg", "t.jpg", "big.jpg"):
        assert "unshown" not in result[f"https://shop.example.com/{shown}"].hints
