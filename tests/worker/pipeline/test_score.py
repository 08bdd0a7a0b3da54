"""Quality score monotonicity, classification, hero choice and junk rules, on hand-built measurements."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from backend.models import ImageType
from worker.pipeline import rank_image, rank_images
from worker.pipeline.score import (
    MIN_SHORT_SIDE,
    choose_hero,
    classify,
    junk_reason,
    quality_score,
    score_factors,
)
from worker.pipeline.types import Candidate, ImageInfo, RankedImage

PHOTO_FEATURES: dict[str, Any] = {
    "sharpness": 800.0,
    "border_plain": 1.0,
    "border_std": 1.0,
    "border_brightness": 250.0,
    "entropy": 4.0,
    "colors": 257,
    "transparent_fraction": 0.0,
    "frames": 1,
}


def info(width: int = 800, height: int = 800, image_format: str = "JPEG", **features: Any) -> ImageInfo:
    return ImageInfo(
        format=image_format,
        mime="image/jpeg",
        width=width,
        height=height,
        file_size=100_000,
        content_hash=f"{width}x{height}-{sorted(features.items())}",
        phash="0" * 64,
        features={**PHOTO_FEATURES, **features},
    )


def candidate(*hints: str, position: int = 0, url: str = "https://shop.example.com/a.jpg") -> Candidate:
    return Candidate(url=url, source="img", position=position, hints=frozenset(hints))


def scores(infos: list[ImageInfo], hints: tuple[str, ...] = ()) -> list[float]:
    return [quality_score(item, candidate(*hints)) for item in infos]


def test_score_rises_with_resolution():
    """More pixels never lower the score, and do raise it between 200 px and 2 MP."""
    values = scores([info(side, side) for side in (200, 300, 500, 800, 1200, 1400)])
    assert values == sorted(values)
    assert len(set(values)) == len(values)
    assert scores([info(1500, 1500)]) == scores([info(3000, 3000)])


def test_score_rises_with_sharpness():
    """A sharper image (more edge variance) scores higher, all else equal."""
    values = scores([info(sharpness=value) for value in (0.0, 10.0, 100.0, 500.0, 1400.0)])
    assert values == sorted(values)
    assert len(set(values)) == len(values)


def test_score_falls_with_extreme_aspect_at_equal_pixels():
    """At the same pixel count, strips beyond 2:1 score lower, down to 4:1."""
    values = scores([info(800, 800), info(1131, 566), info(1386, 462), info(1600, 400)])
    assert values[0] == pytest.approx(values[1], abs=0.1)
    assert values[1] > values[2] > values[3]


def test_score_rises_with_jpeg_quality():
    """A JPEG saved at a higher quality scores higher; lossless formats count as full quality."""
    values = scores([info(jpeg_quality=q) for q in (20, 40, 60, 80, 95)])
    assert values == sorted(values)
    assert values[0] < values[-1]
    assert scores([info(image_format="PNG")]) >= scores([info(jpeg_quality=95)])


def test_score_prefers_full_color_formats():
    """GIF (256 colors) scores below JPEG, PNG and WebP."""
    gif, jpg, png, webp = scores([info(image_format=name) for name in ("GIF", "JPEG", "PNG", "WEBP")])
    assert gif < jpg == png == webp


@pytest.mark.parametrize("hint", ["og", "jsonld_product", "microdata", "gallery", "hero", "zoom", "linked"])
def test_score_rises_with_each_product_signal(hint):
    """Each product signal raises the score; the page chrome lowers it."""
    plain, signalled = quality_score(info(), candidate()), quality_score(info(), candidate(hint))
    assert signalled > plain
    assert quality_score(info(), candidate("chrome")) < plain


def test_score_stays_between_0_and_100():
    """The worst and best imaginable images stay within 0–100."""
    worst = quality_score(info(1, 1, "BMP", sharpness=0.0), candidate("chrome"))
    best = quality_score(
        info(4000, 4000, sharpness=1e9), candidate("og", "jsonld_product", "gallery", "hero", "zoom")
    )
    assert 0 <= worst < best <= 100
    assert best == 100


def test_score_factors_are_each_within_unit_range():
    """Every factor is in [0, 1]."""
    for factors in (
        score_factors(info(10, 5000), candidate("chrome")),
        score_factors(info(5000, 5000), candidate("og")),
    ):
        assert all(0.0 <= value <= 1.0 for value in factors.values())


def test_classify_studio_shot_as_product():
    """A plain backdrop is a product shot."""
    assert classify(info(), candidate()) == (ImageType.PRODUCT, False, True, False)


def test_classify_busy_border_as_lifestyle():
    """A busy, mid-toned border is a lifestyle scene."""
    assert classify(info(border_plain=0.3, border_brightness=140.0), candidate()) == (
        ImageType.LIFESTYLE,
        False,
        False,
        True,
    )


def test_a_busy_but_light_backdrop_is_a_studio_shot():
    """A textured light backdrop (paper, marble, a gradient with grain) is a studio's: a product shot."""
    for brightness in (180.0, 250.0):
        assert (
            classify(info(border_plain=0.2, border_brightness=brightness), candidate())[0]
            == ImageType.PRODUCT
        )
    assert classify(info(border_plain=0.2, border_brightness=160.0), candidate())[0] == ImageType.LIFESTYLE


def test_classify_lifestyle_hint_wins():
    """A lifestyle hint makes a plain-bordered image lifestyle."""
    assert classify(info(), candidate("lifestyle"))[3] is True


def test_classify_transparent_cutout_as_product():
    """A cut-out on transparency is a product shot even if the flattened border looks mixed."""
    assert classify(info(border_plain=0.3, transparent_fraction=0.4), candidate())[2] is True


def test_classify_hero_keeps_product_flags():
    """The hero's type is hero; its product/lifestyle flags still describe it."""
    assert classify(info(border_plain=0.2, border_brightness=120.0), candidate(), is_hero=True) == (
        ImageType.HERO,
        True,
        False,
        True,
    )


def ranked(
    *hints: str, side: int = 800, plain: float = 1.0, position: int = 0, sharpness: float = 800.0
) -> RankedImage:
    item = info(
        side,
        side,
        border_plain=plain,
        sharpness=sharpness,
        border_brightness=250.0 if plain >= 0.75 else 120.0,
    )
    return rank_image(
        candidate(*hints, position=position, url=f"https://shop.example.com/{position}.jpg"), b"", item
    )


def test_hero_prefers_og_over_bigger_unsignalled_images():
    """The og:image wins the hero even when another image scores higher."""
    images = [ranked("gallery", side=1400, position=0), ranked("og", side=500, position=1)]
    assert choose_hero(images) == 1


def test_hero_falls_back_to_jsonld_then_best_product():
    """Without og/hero marks the best JSON-LD image is hero; without those, the best product shot."""
    assert choose_hero([ranked(side=1200, position=0), ranked("jsonld_product", side=600, position=1)]) == 1
    assert choose_hero([ranked(side=600, position=0, plain=0.2), ranked(side=500, position=1)]) == 1
    assert choose_hero([ranked(side=600, plain=0.2)]) is None
    assert choose_hero([]) is None


@pytest.mark.parametrize(
    ("hints", "expected"),
    [
        (("pixel",), "tracking_pixel"),
        (("placeholder",), "placeholder"),
        (("logo",), "logo"),
        (("icon",), "icon"),
        (("sprite",), "sprite"),
        (("badge",), "badge"),
        (("avatar",), "avatar"),
        (("promo",), "promo"),
        (("related",), "related_product"),
        (("related", "gallery"), "related_product"),
        (("logo", "gallery"), None),
        (("icon", "og"), None),
        (("related", "jsonld_product"), None),
        (("css", "chrome"), "page_chrome"),
        (("chrome", "og"), None),
        (("chrome", "gallery"), None),
        (("social",), "social"),
        (("review",), "review_photo"),
        (("review", "avatar"), "avatar"),
        (("review", "gallery"), None),
        (("chart",), "size_chart"),
        (("chart", "gallery", "platform", "og"), "size_chart"),
        (("image_map", "hero"), "image_map"),
        (("image_map", "gallery"), "image_map"),
        (("image_map", "jsonld_product"), None),
        ((), None),
    ],
)
def test_markup_junk_rules(hints, expected):
    """Junk hints name the kind; strong product signals overrule name-based ones, page signals overrule
    'related', and nothing overrules a size chart."""
    assert junk_reason(candidate(*hints), None) == expected


@pytest.mark.parametrize(
    ("measured", "expected"),
    [
        (info(1, 1), "tracking_pixel"),
        (info(300, 2), "tracking_pixel"),
        (info(4, 4), "tracking_pixel"),
        (info(24, 24), "icon"),
        (info(64, 40), "icon"),
        (info(300, 300, "ICO"), "icon"),
        (info(512, 64), "sprite"),
        (info(MIN_SHORT_SIDE - 1, 800), "too_small"),
        (info(150, 150), "too_small"),
        (info(800, 800, "TIFF"), "unsupported_format"),
        (info(400, 400, colors=1), "placeholder"),
        (info(400, 400, entropy=0.2), "placeholder"),
        (info(600, 300, colors=40), "graphic"),
        (info(2000, 400), "extreme_aspect"),
        (info(MIN_SHORT_SIDE, MIN_SHORT_SIDE), None),
        (info(1000, 667), None),
    ],
)
def test_pixel_junk_rules(measured, expected):
    """Size, shape, format and flatness rules name the junk kind; real photos pass."""
    assert junk_reason(candidate(), measured) == expected


def test_markup_verdict_comes_before_pixels():
    """A related-product thumbnail is related_product even though its pixels look fine."""
    assert junk_reason(candidate("related"), info(800, 800)) == "related_product"


def test_wide_banner_named_by_the_page_is_not_junk():
    """The extreme-aspect rule spares a wide image that the page marks as hero or og."""
    assert junk_reason(candidate("hero"), info(2000, 400)) is None
    assert junk_reason(candidate(), info(2000, 400)) == "extreme_aspect"


def test_marked_hero_beats_og():
    """An image the page marks as hero/main wins over the og:image (often a crop or a banner)."""
    images = [ranked("og", side=1200, position=0), ranked("hero", side=700, position=1)]
    assert choose_hero(images) == 1


def test_the_picture_fetched_first_is_the_hero_after_a_marked_one_and_before_og():
    """fetchpriority="high" (hint `priority`) names the first screen's main picture: it beats og, not a hero mark."""
    og_and_priority = [ranked("og", side=1200, position=0), ranked("priority", side=700, position=1)]
    assert choose_hero(og_and_priority) == 1
    assert choose_hero([*og_and_priority, ranked("hero", side=600, position=2)]) == 2


def test_a_junk_picture_fetched_first_is_still_junk():
    """`priority` is no strong product signal: it spares no junk rule."""
    assert junk_reason(candidate("priority", "logo"), None) == "logo"
    assert junk_reason(candidate("priority"), info(2000, 400)) == "extreme_aspect"


def test_platform_json_counts_like_jsonld_for_the_hero():
    """Without hero/og marks, an image named by shop-platform product JSON is the hero."""
    assert choose_hero([ranked(side=1200, position=0), ranked("platform", side=600, position=1)]) == 1


def test_ranking_puts_the_hero_first():
    """rank_images returns the hero first even when another image scores higher."""
    big = ranked("gallery", "zoom", side=1600, position=0)
    other = dataclasses.replace(big.info, width=500, height=500, content_hash="other", phash="f" * 64)
    images = [big, rank_image(candidate("og", position=1, url="https://shop.example.com/1.jpg"), b"", other)]
    kept, _skips = rank_images(images, max_images=5)
    assert kept[0].is_hero
    assert kept[0].candidate.position == 1


def test_a_picture_the_page_shows_beats_an_og_or_jsonld_image_it_never_shows():
    """An og:image or JSON-LD image no markup shows (`unshown`) is another picture than the one on screen
    (a share card, another colour): the shown gallery or zoom picture is the hero; shown og still wins."""
    card = ranked("og", "meta_only", "unshown", side=1200, position=0)
    stock = ranked("jsonld_product", "unshown", side=1200, position=1)
    gallery = ranked("gallery", side=600, position=2)
    assert choose_hero([card, stock, gallery]) == 2
    assert choose_hero([card, stock, ranked("zoom", side=600, position=2)]) == 2
    assert choose_hero([card, stock, ranked(side=1400, position=2)]) == 0
    assert choose_hero([stock, ranked(side=1400, position=2)]) == 0
    assert choose_hero([ranked("microdata", side=600, position=0), ranked("og", side=600, position=1)]) == 1
    assert choose_hero([gallery, ranked("microdata", side=500, position=3)]) == 1


def test_within_a_tier_the_pages_first_picture_wins_among_close_scores():
    """A carousel's slides all marked hero, or a gallery of same-size shots: the first one is the main photo,
    even when a later one scores a little higher (sharpness); one scoring far lower is no contender."""
    slides = [ranked("hero", position=p, sharpness=s) for p, s in ((3, 300.0), (4, 1500.0), (5, 900.0))]
    assert choose_hero(slides) == 0
    sprite = ranked("hero", side=300, position=1, sharpness=50.0)
    assert choose_hero([sprite, *slides]) == 1


def test_a_small_picture_the_page_names_as_its_product_is_kept_down_to_150_px():
    """A 192x300 book cover marked as the main image is the product's photo; a plain or gallery one is a thumbnail."""
    cover = info(192, 300)
    assert junk_reason(candidate("hero"), cover) is None
    assert junk_reason(candidate("microdata"), cover) is None
    assert junk_reason(candidate(), cover) == "too_small"
    assert junk_reason(candidate("gallery"), cover) == "too_small"
    assert junk_reason(candidate("hero"), info(120, 120)) == "too_small"


def test_a_picture_named_by_the_products_title_is_the_hero_after_gallery_and_zoom():
    """Without hero, og or gallery marks, the picture whose alt is the product's h1 (`titled`) beats a larger one."""
    assert choose_hero([ranked(side=1400, position=0), ranked("titled", side=500, position=1)]) == 1
    assert choose_hero([ranked("titled", side=800, position=0), ranked("gallery", side=800, position=1)]) == 1


def test_a_logo_or_a_popups_picture_is_no_hero_unless_product_markup_vouches_for_it():
    """An og:image that is the shop's logo, or an upsell popup's "hero" picture, is passed over; a gallery
    picture whose ancestors say "rating" (badge) still counts."""
    logo = ranked("og", "logo", position=0)
    upsell = ranked("hero", "popup", position=1)
    product = ranked("titled", side=500, position=2)
    assert choose_hero([logo, upsell, product]) == 2
    assert choose_hero([ranked("hero", "badge", "gallery", position=0), product]) == 0
