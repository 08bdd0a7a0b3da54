"""Precision, recall and hero top-1 of the pipeline on the project's own generated shop sites.

Usage:

    python -m bench.quality [--copies N] [--json]

Builds two sites with ground truth in a temporary directory — `tests/shopsite/site.py` (the
generic shop: lazy loading, srcset, JSON-LD, duplicates, junk) and `tests/shopsite/platforms/`
(pages shaped like Shopify, WooCommerce, Magento, BigCommerce, PrestaShop, Amazon, Scene7
and Demandware shops, a headless Next.js storefront, Wix, Squarespace, VTEX, Etsy, eBay and
AliExpress listings, a theme whose product cards say nothing but their links, a sales page
whose product shots link to its order form, a client-rendered storefront whose gallery is
only in its app state, Shopware 6, OpenCart 3 and Webflow shops, and web-app shops whose
gallery is only in their state: Nuxt 3's `__NUXT_DATA__`, Nuxt 2's `__NUXT__`, a React
store as a `JSON.parse` string, a Next.js App Router flight payload, and a fashion shop's
state naming the product by the id its URL ends with; N copies of each) — serves them on
loopback, runs `run_pipeline` on every page (max_images=100) and prints, per site and per
page: precision, recall, how often the main photo is ranked first (hero top-1) and kept at
all, duplicates kept, and type accuracy (kept real photos whose image_type is their true
role: hero, product or lifestyle). `--shared-corpus DIR` adds a third site: a shop site
generated elsewhere in the same layout as the shared benchmark's (`DIR/site/` to serve,
`DIR/truth/pNNNN.json` with each real picture's role and URL variants).
Beside them, two naive baselines on the same pages, read from the files (no pipeline): how
often the page's `og:image` shows the main photo, and how often its largest `<img src>` (by
decoded pixels) does. Loopback only; nothing is stored.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import lxml.html
from PIL import Image

from backend.settings import Settings
from tests.shopsite import (
    PageTruth,
    Photo,
    SiteManifest,
    build_site,
    serve_site,
    served_file,
    site_path,
)
from tests.shopsite.platforms import build_platform_site
from tests.shopsite.quality import SiteScore, evaluate_site


def shared_corpus(directory: Path) -> tuple[SiteManifest, Path]:
    """A generated shop site in the shared benchmark's layout, as a manifest (its junk is not listed)."""
    pages = {}
    for file in sorted((directory / "truth").glob("p*.json")):
        truth = json.loads(file.read_text())
        photos = tuple(
            Photo(name=real["id"], role=real["role"], urls=tuple(v["url"] for v in real["variants"]))
            for real in truth["real"]
        )
        pages[truth["id"]] = PageTruth(path=truth["page"], photos=photos, junk={})
    return SiteManifest(pages=pages, redirects={}), (directory / "site").resolve()


def run_site(name: str, manifest: SiteManifest, root: Path, settings: Settings) -> SiteScore:
    with serve_site(root) as base_url:
        started = time.monotonic()
        score = evaluate_site(manifest, base_url, settings)
    print(f"{name}: {len(score.pages)} pages in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return score


def _shows_main_photo(truth: PageTruth, url: str | None) -> bool:
    photo = truth.photo_for(site_path(url)) if url else None
    return photo is not None and photo.role == "hero"


def _pixels(root: Path, url: str) -> int:
    """Width × height of the file the test server answers `url` with; 0 if there is none or it is no image."""
    parts = urlsplit(url)
    file = served_file(root, unquote(parts.path), parts.query)
    if file is None:
        return 0
    try:
        with Image.open(file) as image:
            return image.width * image.height
    except OSError:
        return 0


def baselines(manifest: SiteManifest, root: Path) -> dict[str, float]:
    """Share of pages (with a main photo) where og:image, or the largest <img src>, shows the main photo."""
    og_hits = largest_hits = pages = 0
    for truth in manifest.pages.values():
        if not any(photo.role == "hero" for photo in truth.photos):
            continue
        pages += 1
        page_url = "http://shop.test" + truth.path
        path, _, query = truth.path.partition("?")
        document = lxml.html.document_fromstring(served_file(root, path, query).read_bytes())
        og = document.xpath("string(//meta[@property='og:image'][1]/@content)") or None
        og_hits += _shows_main_photo(truth, urljoin(page_url, og) if og else None)
        sources = [urljoin(page_url, src.strip()) for src in document.xpath("//img/@src") if src.strip()]
        sized = [(_pixels(root, url), url) for url in sources if not url.startswith("data:")]
        largest = max(sized, default=(0, None))[1]
        largest_hits += _shows_main_photo(truth, largest)
    return {
        "pages": pages,
        "og_image_first": og_hits / max(1, pages),
        "largest_img": largest_hits / max(1, pages),
    }


def print_baselines(found: dict[str, dict[str, float]]) -> None:
    print(f"\n{'baselines':<12} {'pages':>5} {'og:image first':>14} {'largest <img>':>13}")
    for name, rates in found.items():
        print(
            f"{name:<12} {rates['pages']:>5} {rates['og_image_first']:>14.3f} {rates['largest_img']:>13.3f}"
        )


def print_table(scores: dict[str, SiteScore]) -> None:
    print(
        f"{'site':<12} {'pages':>5} {'precision':>9} {'recall':>6} {'hero top-1':>10} {'main kept':>9} {'dups':>4}"
        f" {'types':>5}"
    )
    for name, score in scores.items():
        t = score.totals()
        print(
            f"{name:<12} {t['pages']:>5} {t['precision']:>9.3f} {t['recall']:>6.3f}"
            f" {t['hero_top1']:>10.3f} {t['main_kept']:>9.3f} {t['duplicates']:>4} {t['type_accuracy']:>5.3f}"
        )
    for name, score in scores.items():
        for page in score.pages:
            if page.false_positives or page.missed or page.hero_top1 is False or page.duplicates:
                print(
                    f"  {name}/{page.name}: fp={page.false_positives} missed={page.missed} top1={page.hero_top1}"
                )
            for wrong in page.mistyped:
                print(f"  {name}/{page.name}: type {wrong}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=2, help="pages per platform shape")
    parser.add_argument("--json", action="store_true", help="print the totals and pages as JSON")
    parser.add_argument(
        "--shared-corpus",
        type=Path,
        help="also score a shop site in the shared benchmark's layout (site/, truth/)",
    )
    args = parser.parse_args()
    settings = Settings(scraper_allow_private=True)
    with tempfile.TemporaryDirectory() as tmp:
        shop_root, platform_root = Path(tmp, "shop").resolve(), Path(tmp, "platforms").resolve()
        sites = {
            "shopsite": (build_site(shop_root), shop_root),
            "platforms": (build_platform_site(platform_root, copies=args.copies), platform_root),
        }
        if args.shared_corpus is not None:
            sites["shared"] = shared_corpus(args.shared_corpus)
        scores = {name: run_site(name, manifest, root, settings) for name, (manifest, root) in sites.items()}
        naive = {name: baselines(manifest, root) for name, (manifest, root) in sites.items()}
    if args.json:
        out = {
            name: {
                "totals": s.totals(),
                "baselines": naive[name],
                "pages": [dataclasses.asdict(p) for p in s.pages],
            }
            for name, s in scores.items()
        }
        print(json.dumps(out, indent=2))
    else:
        print_table(scores)
        print_baselines(naive)


if __name__ == "__main__":
    main()
