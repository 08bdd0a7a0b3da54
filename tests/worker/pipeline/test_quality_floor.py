"""Regression floors for extraction quality on the project's own sites with ground truth (bench/quality.py in small)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backend.settings import load_settings
from tests.shopsite import serve_site
from tests.shopsite.platforms import build_platform_site
from tests.shopsite.quality import SiteScore, evaluate_site

PRECISION_FLOOR = 0.9
RECALL_FLOOR = 0.97
HERO_TOP1_FLOOR = 0.85
MAIN_KEPT_FLOOR = 0.95
TYPE_ACCURACY_FLOOR = 0.95


@pytest.fixture(scope="module")
def platform_score(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteScore]:
    root = tmp_path_factory.mktemp("platforms")
    manifest = build_platform_site(root, copies=1)
    settings = load_settings(app_env="test", var_dir=root / "var", scraper_allow_private=True)
    with serve_site(root) as base_url:
        yield evaluate_site(manifest, base_url, settings)


def test_platform_pages_precision_and_recall(platform_score):
    """On pages shaped like the shop platforms, site builders and marketplaces, precision and recall hold."""
    totals = platform_score.totals()
    assert totals["precision"] >= PRECISION_FLOOR, totals
    assert totals["recall"] >= RECALL_FLOOR, totals


def test_platform_pages_rank_the_main_photo_first(platform_score):
    """The main product photo is ranked first on most platform pages and kept on nearly all."""
    totals = platform_score.totals()
    assert totals["hero_top1"] >= HERO_TOP1_FLOOR, totals
    assert totals["type_accuracy"] >= TYPE_ACCURACY_FLOOR, totals
    assert totals["main_kept"] >= MAIN_KEPT_FLOOR, totals


def test_platform_pages_keep_no_duplicates(platform_score):
    """Size variants, upsized CDN copies and og:image crops collapse to one image per photo."""
    assert platform_score.totals()["duplicates"] == 0


def test_platform_pages_type_their_photos_as_a_person_would(platform_score):
    """Kept photos are typed as their role in the truth: the hero as hero, gallery shots as product."""
    totals = platform_score.totals()
    assert totals["type_accuracy"] >= TYPE_ACCURACY_FLOOR, totals


def test_shop_site_scores(shop_site, make_settings):
    """The generic shop site keeps every photo, no junk, and its hero first."""
    totals = evaluate_site(shop_site.manifest, shop_site.base_url, make_settings()).totals()
    assert totals["precision"] >= PRECISION_FLOOR, totals
    assert totals["recall"] >= RECALL_FLOOR, totals
    assert totals["hero_top1"] >= HERO_TOP1_FLOOR, totals
    assert totals["type_accuracy"] >= TYPE_ACCURACY_FLOOR, totals
