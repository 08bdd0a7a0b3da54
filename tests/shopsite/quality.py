"""Score run_pipeline against a generated site's ground truth: precision, recall, hero top-1, main photo kept.

`evaluate_site(manifest, base_url, settings)` runs the pipeline on every page of a
`SiteManifest` (tests/shopsite/site.py, tests/shopsite/platforms/) and returns a `SiteScore`:
- precision: kept images that show one of the page's real photos / kept images;
- recall: real photos with at least one kept URL / real photos;
- hero_top1: pages whose first-ranked image shows the main (hero) photo / pages with one;
- main_kept: pages where the main photo is kept at all;
- duplicates: kept images beyond the first for the same photo (should be 0);
- type_accuracy: kept real photos whose image_type is their truth role (hero/product/lifestyle).
Used by bench/quality.py and the regression floor in tests/worker/pipeline/test_quality_floor.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.settings import Settings
from tests.shopsite.site import PageTruth, SiteManifest, site_path
from worker.pipeline import run_pipeline
from worker.pipeline.types import PipelineResult

MAX_IMAGES = 100


@dataclass
class PageScore:
    name: str
    kept: int
    true_kept: int
    photos: int
    photos_found: int
    duplicates: int
    hero_top1: bool | None  # None when the page has no main photo
    main_kept: bool | None
    false_positives: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    types_right: int = 0  # kept real photos typed as their role
    mistyped: list[str] = field(default_factory=list)  # "path: role -> type"


@dataclass
class SiteScore:
    pages: list[PageScore]

    def totals(self) -> dict[str, float]:
        kept = sum(page.kept for page in self.pages)
        photos = sum(page.photos for page in self.pages)
        with_main = [page for page in self.pages if page.hero_top1 is not None]
        return {
            "pages": len(self.pages),
            "precision": sum(page.true_kept for page in self.pages) / max(1, kept),
            "recall": sum(page.photos_found for page in self.pages) / max(1, photos),
            "hero_top1": sum(bool(page.hero_top1) for page in with_main) / max(1, len(with_main)),
            "main_kept": sum(bool(page.main_kept) for page in with_main) / max(1, len(with_main)),
            "duplicates": sum(page.duplicates for page in self.pages),
            "type_accuracy": sum(page.types_right for page in self.pages)
            / max(1, sum(page.true_kept for page in self.pages)),
        }


def score_page(name: str, truth: PageTruth, result: PipelineResult) -> PageScore:
    """Compare one pipeline result with the page's truth."""
    shown = [truth.photo_for(site_path(image.candidate.url)) for image in result.kept]
    names = [photo.name for photo in shown if photo is not None]
    mains = {photo.name for photo in truth.photos if photo.role == "hero"}
    first = shown[0].name if shown and shown[0] is not None else None
    return PageScore(
        name=name,
        kept=len(result.kept),
        true_kept=len(names),
        photos=len(truth.photos),
        photos_found=len(set(names)),
        duplicates=len(names) - len(set(names)),
        hero_top1=(first in mains) if mains else None,
        main_kept=bool(mains & set(names)) if mains else None,
        false_positives=[
            site_path(i.candidate.url) for i, p in zip(result.kept, shown, strict=True) if p is None
        ],
        missed=sorted({photo.name for photo in truth.photos} - set(names)),
        types_right=sum(
            p is not None and i.image_type.value == p.role for i, p in zip(result.kept, shown, strict=True)
        ),
        mistyped=[
            f"{site_path(i.candidate.url)}: {p.role} -> {i.image_type.value}"
            for i, p in zip(result.kept, shown, strict=True)
            if p is not None and i.image_type.value != p.role
        ],
    )


def evaluate_site(manifest: SiteManifest, base_url: str, settings: Settings) -> SiteScore:
    """Run the pipeline on every page of the site and score each against its truth."""
    scores = []
    for name, truth in manifest.pages.items():
        result = run_pipeline(base_url + truth.path, settings, max_images=MAX_IMAGES)
        scores.append(score_page(name, truth, result))
    return SiteScore(scores)
