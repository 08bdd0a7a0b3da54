"""Precision, recall and hero top-1 of the pipeline on the project's own generated shop sites.

Usage:

    python bench/quality.py [--copies N] [--json]

Builds two sites with ground truth in a temporary directory — `tests/shopsite.py` (the
generic shop: lazy loading, srcset, JSON-LD, duplicates, junk) and `tests/shoppages.py`
(pages shaped like Shopify, WooCommerce, Magento, BigCommerce, PrestaShop, Amazon, Scene7
and Demandware shops, a headless Next.js storefront, Wix, Squarespace, VTEX, and Etsy, eBay
and AliExpress listings, N copies of each) — serves them on loopback, runs `run_pipeline` on
every page (max_images=100) and prints, per site and per page: precision, recall, how
often the main photo is ranked first (hero top-1) and kept at all, and duplicates kept.
Loopback only; nothing is stored.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.settings import Settings
from tests.shoppages import build_platform_site
from tests.shopquality import SiteScore, evaluate_site
from tests.shopsite import SiteManifest, build_site, serve_site


def run_site(name: str, manifest: SiteManifest, root: Path, settings: Settings) -> SiteScore:
    with serve_site(root) as base_url:
        started = time.monotonic()
        score = evaluate_site(manifest, base_url, settings)
    print(f"{name}: {len(score.pages)} pages in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return score


def print_table(scores: dict[str, SiteScore]) -> None:
    print(
        f"{'site':<12} {'pages':>5} {'precision':>9} {'recall':>6} {'hero top-1':>10} {'main kept':>9} {'dups':>4}"
    )
    for name, score in scores.items():
        t = score.totals()
        print(
            f"{name:<12} {t['pages']:>5} {t['precision']:>9.3f} {t['recall']:>6.3f}"
            f" {t['hero_top1']:>10.3f} {t['main_kept']:>9.3f} {t['duplicates']:>4}"
        )
    for name, score in scores.items():
        for page in score.pages:
            if page.false_positives or page.missed or page.hero_top1 is False or page.duplicates:
                print(
                    f"  {name}/{page.name}: fp={page.false_positives} missed={page.missed} top1={page.hero_top1}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=2, help="pages per platform shape")
    parser.add_argument("--json", action="store_true", help="print the totals and pages as JSON")
    args = parser.parse_args()
    settings = Settings(scraper_allow_private=True)
    with tempfile.TemporaryDirectory() as tmp:
        shop_root, platform_root = Path(tmp, "shop"), Path(tmp, "platforms")
        scores = {
            "shopsite": run_site("shopsite", build_site(shop_root), shop_root, settings),
            "platforms": run_site(
                "platforms", build_platform_site(platform_root, copies=args.copies), platform_root, settings
            ),
        }
    if args.json:
        out = {
            name: {"totals": s.totals(), "pages": [dataclasses.asdict(p) for p in s.pages]}
            for name, s in scores.items()
        }
        print(json.dumps(out, indent=2))
    else:
        print_table(scores)


if __name__ == "__main__":
    main()
