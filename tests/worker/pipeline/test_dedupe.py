"""Exact and near-duplicate removal on real encoded images."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from backend.settings import load_settings
from tests.shopsite import encode, jpeg, product_photo, resized
from worker.pipeline import rank_image
from worker.pipeline.crops import crop_boxes, same_pixels
from worker.pipeline.dedupe import dedupe
from worker.pipeline.measure import measure
from worker.pipeline.types import Candidate, RankedImage


def ranked(data: bytes, settings: Any, name: str, *hints: str, position: int = 0) -> RankedImage:
    candidate = Candidate(
        url=f"https://shop.example.com/{name}", source="img", position=position, hints=frozenset(hints)
    )
    return rank_image(candidate, data, measure(data, settings))


def urls(images: list[RankedImage]) -> list[str]:
    return [image.candidate.url.rsplit("/", 1)[1] for image in images]


def test_exact_copies_collapse_to_one(make_settings):
    """The same bytes under two URLs are one image; the copy is skipped as duplicate."""
    settings = make_settings()
    data = jpeg(product_photo(1, (600, 600)))
    kept, skips = dedupe([ranked(data, settings, "a.jpg"), ranked(data, settings, "b.jpg", position=1)])
    assert urls(kept) == ["a.jpg"]
    assert [(skip.reason, skip.failed) for skip in skips] == [("duplicate", False)]
    assert "exact copy" in skips[0].detail


def test_resized_webp_copy_is_a_near_duplicate_and_the_larger_wins(make_settings):
    """A smaller WebP re-encode of a photo is dropped in favour of the full-size JPEG."""
    settings = make_settings()
    photo = product_photo(2, (1000, 1000))
    small = ranked(encode(resized(photo, 500), "WEBP", quality=75), settings, "small.webp", position=0)
    large = ranked(jpeg(photo), settings, "large.jpg", position=1)
    kept, skips = dedupe([small, large])
    assert urls(kept) == ["large.jpg"]
    assert skips[0].url.endswith("small.webp")
    assert "near copy" in skips[0].detail


def test_different_products_on_white_are_kept(make_settings):
    """Two different studio shots on the same white backdrop are not merged."""
    settings = make_settings()
    images = [
        ranked(jpeg(product_photo(seed, (800, 800))), settings, f"{seed}.jpg", position=seed)
        for seed in range(3, 9)
    ]
    kept, skips = dedupe(images)
    assert len(kept) == 6
    assert skips == []


def test_wide_crop_collapses_into_the_uncropped_photo(make_settings):
    """An og-style 1200x630 center crop of a square photo is dropped; the photo keeps its og hint."""
    settings = make_settings()
    photo = product_photo(10, (1000, 1000))
    square = ranked(jpeg(photo), settings, "square.jpg", "gallery")
    crop = photo.crop((0, 238, 1000, 763)).resize((1200, 630))
    wide = ranked(jpeg(crop, quality=80), settings, "wide.jpg", "og", position=1)
    kept, skips = dedupe([wide, square])
    assert urls(kept) == ["square.jpg"]
    assert "og" in kept[0].candidate.hints
    assert "crop of" in skips[0].detail


def test_top_crop_of_a_tall_photo_collapses(make_settings):
    """A square cut from the top of a portrait photo is a crop of it."""
    settings = make_settings()
    photo = product_photo(15, (800, 1100))
    tall = ranked(jpeg(photo), settings, "tall.jpg")
    top = ranked(jpeg(photo.crop((0, 0, 800, 800))), settings, "top.jpg", position=1)
    assert urls(dedupe([tall, top])[0]) == ["tall.jpg"]


def test_crops_of_different_photos_are_kept(make_settings):
    """A wide crop of one product does not collapse into another product's photo."""
    settings = make_settings()
    other = ranked(jpeg(product_photo(16, (1000, 1000))), settings, "other.jpg")
    crop = product_photo(17, (1000, 1000)).crop((0, 238, 1000, 763))
    wide = ranked(jpeg(crop), settings, "wide.jpg", position=1)
    assert len(dedupe([other, wide])[0]) == 2


def test_detail_zoom_is_not_a_crop(make_settings):
    """A small zoomed-in detail (a quarter of the photo) is kept as its own picture."""
    settings = make_settings()
    photo = product_photo(18, (1000, 1000))
    whole = ranked(jpeg(photo), settings, "whole.jpg")
    detail = ranked(jpeg(photo.crop((250, 250, 750, 500)).resize((1000, 500))), settings, "detail.jpg")
    assert len(dedupe([whole, detail])[0]) == 2


def test_kept_copy_takes_over_product_signals(make_settings):
    """When the og:image copy is dropped, the kept original gains the og hint (not junk hints)."""
    settings = make_settings()
    photo = product_photo(11, (1000, 1000))
    og_copy = ranked(encode(resized(photo, 400), "WEBP"), settings, "og.webp", "og", "chrome")
    original = ranked(jpeg(photo), settings, "main.jpg", "gallery", position=1)
    (kept,), _ = dedupe([og_copy, original])
    assert kept.candidate.url.endswith("main.jpg")
    assert kept.candidate.hints == frozenset({"gallery", "og"})


def test_a_shown_copy_makes_an_unshown_picture_shown(make_settings):
    """A JSON-LD-only image (`unshown`, larger, kept) whose smaller copy an <img> shows loses `unshown`."""
    settings = make_settings()
    photo = product_photo(12, (1000, 1000))
    named = ranked(jpeg(photo), settings, "full.jpg", "jsonld_product", "unshown")
    shown = ranked(encode(resized(photo, 400), "WEBP"), settings, "small.webp", "gallery", position=1)
    (kept,), _ = dedupe([named, shown])
    assert kept.candidate.url.endswith("full.jpg")
    assert kept.candidate.hints == frozenset({"gallery", "jsonld_product"})


def test_dedupe_returns_best_first(make_settings):
    """Survivors come back ordered by score, largest first on ties."""
    settings = make_settings()
    images = [
        ranked(jpeg(product_photo(seed, (size, size))), settings, f"{size}.jpg", position=seed)
        for seed, size in ((12, 300), (13, 900), (14, 600))
    ]
    assert urls(dedupe(images)[0]) == ["900.jpg", "600.jpg", "300.jpg"]


def test_strong_resize_beyond_the_hash_threshold_is_settled_by_pixels(make_settings):
    """A copy whose phash drifted past NEAR_DUPLICATE_BITS still collapses when its pixels match."""
    settings = make_settings()
    photo = product_photo(19, (1000, 1000))
    large = ranked(jpeg(photo), settings, "large.jpg")
    small = ranked(jpeg(resized(photo, 679), quality=80), settings, "small.jpg", position=1)
    kept, skips = dedupe([small, large])
    assert urls(kept) == ["large.jpg"]
    assert [skip.reason for skip in skips] == ["duplicate"]


def test_same_pixels_tells_products_apart():
    """same_pixels is False for two different products on white, True for a resized copy."""
    settings = load_settings(app_env="test")
    first, second = (
        ranked(jpeg(product_photo(seed, (800, 800))), settings, f"{seed}.jpg") for seed in (30, 31)
    )
    copy = ranked(jpeg(resized(product_photo(30, (800, 800)), 500)), settings, "copy.jpg")
    assert not same_pixels(first, second, {})
    assert same_pixels(first, copy, {})


@pytest.mark.parametrize(
    ("width", "height", "aspect", "step", "box_size"),
    [(200, 200, 2.0, (0, 25), (200, 100)), (200, 100, 1.0, (25, 0), (100, 100))],
    ids=["wide-from-square-slides-down", "square-from-wide-slides-right"],
)
def test_crop_boxes_slide_along_the_long_axis(width, height, aspect, step, box_size):
    """The largest boxes of the shape, at five offsets from one end of the long axis to the other."""
    expected = [(step[0] * i, step[1] * i, *box_size) for i in range(5)]
    assert crop_boxes(width, height, aspect) == expected


def _upsized(image: RankedImage, source: str) -> RankedImage:
    candidate = dataclasses.replace(image.candidate, upsized_from=f"https://shop.example.com/{source}")
    return dataclasses.replace(image, candidate=candidate)


def test_a_largest_copy_no_larger_than_the_pages_url_gives_way_to_it(make_settings):
    """A CDN that ignores the size asked for: the page's own URL stays (with the guess's signals); a real
    larger copy is kept as before."""
    settings = make_settings()
    # Two different pictures at the same size: only the upsized link ties them, not their pixels.
    guess = _upsized(
        ranked(jpeg(product_photo(13, (600, 600))), settings, "full.jpg", "zoom", "upsized"), "s.jpg"
    )
    page = ranked(jpeg(product_photo(14, (600, 600))), settings, "s.jpg", "microdata", position=1)
    kept, skips = dedupe([guess, page])
    assert urls(kept) == ["s.jpg"]
    assert kept[0].candidate.hints == frozenset({"microdata", "zoom"})
    assert [skip.reason for skip in skips] == ["duplicate"]
    larger = _upsized(ranked(jpeg(product_photo(13, (1200, 1200))), settings, "full.jpg", "upsized"), "s.jpg")
    assert sorted(urls(dedupe([larger, page])[0])) == ["full.jpg", "s.jpg"]
