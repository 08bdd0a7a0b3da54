"""run_pipeline end to end against the served shop site: what it keeps, skips, counts and raises."""

from __future__ import annotations

import time

import pytest

from backend.errors import HttpStatusError, JobCancelledError, NotHtmlError
from tests.shopsite import PageTruth, site_path
from worker.pipeline import ProgressTracker, process_candidates, run_pipeline
from worker.pipeline.types import Candidate, PipelineResult, Progress

PRECISION_FLOOR = 0.95
RECALL_FLOOR = 0.95


def scrape(shop_site, settings, page: str, **options) -> PipelineResult:
    return run_pipeline(
        shop_site.url(shop_site.manifest.pages[page].path),
        settings,
        max_images=options.pop("max_images", 20),
        **options,
    )


def matched_photos(result: PipelineResult, truth: PageTruth) -> tuple[set[str], int]:
    """(names of real photos kept, number of kept images that are junk or a second copy of a photo)."""
    names: set[str] = set()
    wrong = 0
    for image in result.kept:
        photo = truth.photo_for(site_path(image.candidate.url))
        if photo is None or photo.name in names:
            wrong += 1
        else:
            names.add(photo.name)
    return names, wrong


def test_pipeline_keeps_the_real_photos_and_drops_the_junk(shop_site, make_settings):
    """Across the site, precision and recall against the manifest stay above their floors."""
    settings = make_settings()
    true_positives = kept = photos = 0
    for name, truth in shop_site.manifest.pages.items():
        result = scrape(shop_site, settings, name)
        names, _wrong = matched_photos(result, truth)
        true_positives += len(names)
        kept += len(result.kept)
        photos += len(truth.photos)
    precision, recall = true_positives / kept, true_positives / photos
    assert precision >= PRECISION_FLOOR, f"precision {precision:.2f} ({true_positives}/{kept})"
    assert recall >= RECALL_FLOOR, f"recall {recall:.2f} ({true_positives}/{photos})"


@pytest.mark.parametrize("page", ["basic", "lazy", "base", "dupes", "brokenjson"])
def test_no_junk_is_ever_kept(shop_site, make_settings, page):
    """No logo, icon, pixel, placeholder, related thumbnail or broken image is kept."""
    result = scrape(shop_site, make_settings(), page)
    junk = shop_site.manifest.pages[page].junk
    assert [
        site_path(image.candidate.url) for image in result.kept if site_path(image.candidate.url) in junk
    ] == []


@pytest.mark.parametrize("page", ["basic", "lazy", "base", "dupes", "brokenjson"])
def test_one_hero_and_it_is_the_pages_main_photo(shop_site, make_settings, page):
    """Exactly one kept image is the hero, and it is the photo the manifest calls hero."""
    truth = shop_site.manifest.pages[page]
    heroes = [image for image in scrape(shop_site, make_settings(), page).kept if image.is_hero]
    assert len(heroes) == 1
    photo = truth.photo_for(site_path(heroes[0].candidate.url))
    assert photo is not None
    assert photo.role == "hero"
    assert heroes[0].image_type == "hero"


@pytest.mark.parametrize("page", ["basic", "lazy", "base"])
def test_lifestyle_and_product_shots_are_told_apart(shop_site, make_settings, page):
    """Scenes are classified lifestyle and studio shots product, as the manifest says."""
    truth = shop_site.manifest.pages[page]
    for image in scrape(shop_site, make_settings(), page).kept:
        photo = truth.photo_for(site_path(image.candidate.url))
        assert photo is not None
        assert image.is_lifestyle == (photo.role == "lifestyle"), photo.name
        assert image.is_product == (photo.role != "lifestyle"), photo.name


def test_kept_images_are_the_original_bytes(shop_site, make_settings):
    """Every kept image carries the bytes exactly as served, never re-encoded."""
    for image in scrape(shop_site, make_settings(), "lazy").kept:
        assert image.data == shop_site.file_bytes(site_path(image.candidate.url))
        assert image.info.file_size == len(image.data)


@pytest.mark.parametrize("page", ["basic", "lazy", "base"])
def test_kept_images_are_ranked_hero_first_then_best_first(shop_site, make_settings, page):
    """The hero leads the kept list; the rest are ordered by quality score, highest first."""
    kept = scrape(shop_site, make_settings(), page).kept
    scores = [image.quality_score for image in kept[1:]]
    assert kept[0].is_hero
    assert scores == sorted(scores, reverse=True)


def test_duplicates_collapse_to_the_best_copy(shop_site, make_settings):
    """The exact copy and the resized WebP are skipped as duplicates of the full-size JPEG, which inherits og."""
    result = scrape(shop_site, make_settings(), "dupes")
    assert [site_path(image.candidate.url) for image in result.kept] == [
        "/img/dupes/main.jpg",
        "/img/dupes/other.jpg",
    ]
    duplicates = {site_path(skip.url) for skip in result.skipped if skip.reason == "duplicate"}
    assert duplicates == {"/img/dupes/main-copy.jpg", "/img/dupes/main-600.webp"}
    assert "og" in result.kept[0].candidate.hints


def test_skip_reasons_name_each_kind_of_junk(shop_site, make_settings):
    """Each junk image on the basic page is skipped or failed with a telling reason."""
    result = scrape(shop_site, make_settings(), "basic")
    reasons = {
        site_path(skip.url) if not skip.url.startswith("data:") else "data:": (skip.reason, skip.failed)
        for skip in result.skipped
    }
    assert reasons["/img/basic/missing.jpg"] == ("http_error", True)
    assert reasons["/static/social/facebook.svg"] == ("svg", False)
    assert reasons["data:"] == ("data_uri", False)
    assert reasons["/t/pixel.gif?uid=42&ev=view"] == ("tracking_pixel", False)
    assert reasons["/static/img-default.gif"] == ("placeholder", False)
    assert reasons["/static/logo.png"] == ("logo", False)
    assert reasons["/img/people/ann.jpg"] == ("avatar", False)
    assert {reasons[f"/img/other/p{index}.jpg"] for index in range(3)} == {("related_product", False)}


def test_progress_counters_add_up_and_are_reported(shop_site, make_settings):
    """on_progress sees images_processed climb to images_found; kept + skipped + failed == found."""
    seen: list[Progress] = []
    result = scrape(
        shop_site, make_settings(), "basic", on_progress=lambda p: seen.append(Progress(**vars(p)))
    )
    progress = result.progress
    assert progress.images_found == len(result.kept) + len(result.skipped)
    assert progress.images_processed == progress.images_found
    assert progress.images_found == len(result.kept) + progress.images_skipped + progress.images_failed
    assert progress.images_failed == sum(skip.failed for skip in result.skipped) == 1
    processed = [snapshot.images_processed for snapshot in seen]
    assert processed == sorted(processed)
    assert len(seen) >= progress.images_found
    assert seen[-1] == progress


def test_max_images_keeps_the_best_and_the_hero(shop_site, make_settings):
    """Beyond max_images images are skipped as over_limit; the hero is always kept."""
    result = scrape(shop_site, make_settings(), "lazy", max_images=2)
    assert len(result.kept) == 2
    assert any(image.is_hero for image in result.kept)
    over = [skip for skip in result.skipped if skip.reason == "over_limit"]
    assert len(over) == 7
    assert not any(skip.failed for skip in over)
    assert result.progress.images_found == 2 + result.progress.images_skipped + result.progress.images_failed


def test_should_stop_cancels_between_images(shop_site, make_settings):
    """When should_stop turns true the run ends with JobCancelledError."""
    calls: list[int] = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(JobCancelledError):
        scrape(shop_site, make_settings(), "lazy", should_stop=should_stop)


def test_redirected_page_is_scraped_from_its_final_url(shop_site, make_settings):
    """A page reached through a redirect reports and resolves against its final URL."""
    result = run_pipeline(shop_site.url(shop_site.manifest.redirect_to_basic), make_settings(), max_images=20)
    assert result.page_url == shop_site.url("/products/basic.html")
    assert len(result.kept) == 5


@pytest.mark.parametrize(
    ("path", "error"), [("/products/gone.html", HttpStatusError), ("/feed.json", NotHtmlError)]
)
def test_page_level_failures_raise(shop_site, make_settings, path, error):
    """A page that cannot be scraped raises its JobFailedError subclass."""
    with pytest.raises(error):
        run_pipeline(shop_site.url(path), make_settings(), max_images=5)


def test_a_callers_session_is_used_and_left_open(shop_site, make_settings, http):
    """A session passed in is used for the run and still works afterwards."""
    result = scrape(shop_site, make_settings(), "brokenjson", http=http)
    assert len(result.kept) == 2
    assert http.get(shop_site.url("/feed.json"), timeout=5).status_code == 200


def test_single_download_worker_gives_the_same_result(shop_site, make_settings):
    """The thread pool size changes speed, not the outcome."""
    one = scrape(shop_site, make_settings(scraper_download_workers=1), "lazy")
    many = scrape(shop_site, make_settings(scraper_download_workers=8), "lazy")
    assert [image.candidate.url for image in one.kept] == [image.candidate.url for image in many.kept]


def test_image_budget_fails_the_stragglers_and_keeps_the_rest(shop_site, make_settings, http):
    """When the images phase runs out of budget, unfinished downloads fail with timeout; finished ones count."""
    settings = make_settings(scraper_timeout=1)
    candidates = [
        Candidate(url=shop_site.url("/img/basic/side.jpg"), source="img", position=0),
        Candidate(url=shop_site.url("/stall/img/basic/back.jpg"), source="img", position=1),
    ]
    tracker = ProgressTracker(Progress(images_found=2))
    started = time.monotonic()
    images, skips = process_candidates(
        candidates, shop_site.url("/"), settings, http, tracker, budget_seconds=0.3
    )
    assert time.monotonic() - started < 2
    assert [site_path(image.candidate.url) for image in images] == ["/img/basic/side.jpg"]
    assert [(site_path(skip.url), skip.reason, skip.failed) for skip in skips] == [
        ("/stall/img/basic/back.jpg", "timeout", True)
    ]
    assert (tracker.progress.images_processed, tracker.progress.images_failed) == (2, 1)


def process_with_fallback(shop_site, settings, http, fallback: str) -> tuple[list, list, Progress]:
    """Process one srcset candidate whose largest copy is missing (404) and whose fallback is `fallback`."""
    candidate = Candidate(
        url=shop_site.url("/img/basic/no-such-large.jpg"),
        source="srcset",
        position=0,
        width_hint=2400,
        fallbacks=(shop_site.url(fallback),),
    )
    tracker = ProgressTracker(Progress(images_found=1))
    images, skips = process_candidates([candidate], shop_site.url("/"), settings, http, tracker)
    return images, skips, tracker.progress


def test_a_missing_largest_copy_falls_back_to_the_smaller_one(shop_site, make_settings, http):
    """The srcset's largest entry answers 404: its fallback (the img's src) is downloaded and kept instead."""
    images, skips, progress = process_with_fallback(shop_site, make_settings(), http, "/img/basic/side.jpg")
    assert skips == []
    assert [site_path(image.candidate.url) for image in images] == ["/img/basic/side.jpg"]
    assert images[0].candidate.width_hint is None  # the hint described the copy that was missing
    assert (progress.images_processed, progress.images_failed) == (1, 0)


def test_when_every_copy_is_missing_the_first_problem_is_reported(shop_site, make_settings, http):
    """No copy can be had: one failed Skip, naming the largest copy's URL and its error."""
    images, skips, progress = process_with_fallback(
        shop_site, make_settings(), http, "/img/basic/no-such-small.jpg"
    )
    assert images == []
    assert [(site_path(skip.url), skip.reason, skip.failed) for skip in skips] == [
        ("/img/basic/no-such-large.jpg", "http_error", True)
    ]
    assert (progress.images_processed, progress.images_failed) == (1, 1)
