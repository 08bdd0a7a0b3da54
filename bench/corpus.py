"""The benchmark's own shop site: platform-shaped product pages plus pages of 30-megapixel photos, and its server.

Usage (the server runs as a child of bench/speed.py, so its CPU stays off the harness's GIL):

    python -m bench.corpus build ROOT [--pages N] [--big-pages M]
    python -m bench.corpus serve ROOT --port PORT [--max-seconds S]

`build` writes the site under ROOT and ROOT/pages.txt (one site path per line). The pages
come from the test suite's generators (tests/shopsite/platforms/, about 1-megapixel photos, CDN
variants and site junk); the big pages each show BIG_PHOTOS_PER_PAGE JPEGs of about 30
megapixels, for the worker memory check. `serve` serves ROOT on 127.0.0.1 with
tests.shopsite's handler and stops by itself after --max-seconds.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from PIL import Image

from tests.shopsite import jpeg, product_photo, serve_site
from tests.shopsite.platforms import PAGE_BUILDERS, build_platform_site

BIG_SIZE = (6720, 4480)  # 30.1 megapixels, a full-frame camera's photo
BIG_PHOTOS_PER_PAGE = 2
BIG_VARIANTS = 3  # distinct big photos, reused across big pages


def big_photo(seed: int) -> bytes:
    """A ~30-megapixel JPEG: a generated product photo scaled up (realistic size, decode cost and bytes)."""
    small = product_photo(seed, (1120, 747))
    return jpeg(small.resize(BIG_SIZE, Image.Resampling.BILINEAR), quality=90)


def big_page_html(index: int) -> str:
    photos = "".join(
        f'<img src="/big/photo-{(index + offset) % BIG_VARIANTS}.jpg" alt="Product view {offset}"'
        f' width="1344" height="896">'
        for offset in range(BIG_PHOTOS_PER_PAGE)
    )
    return (
        f"<!doctype html><html><head><title>Camera bag {index}</title></head><body>"
        f'<main class="product"><h1>Camera bag {index}</h1><div class="gallery">{photos}</div></main>'
        "</body></html>"
    )


def build(root: Path, pages: int, big_pages: int) -> list[str]:
    """Write the site under `root`; the site paths of exactly `pages` + `big_pages` product pages."""
    copies = max(1, math.ceil(pages / len(PAGE_BUILDERS)))
    manifest = build_platform_site(root, copies=copies)
    paths = sorted(truth.path for truth in manifest.pages.values())[:pages]
    if big_pages:
        (root / "big").mkdir(parents=True, exist_ok=True)
        for seed in range(BIG_VARIANTS):
            (root / "big" / f"photo-{seed}.jpg").write_bytes(big_photo(4000 + seed))
    for index in range(big_pages):
        (root / "big" / f"page-{index}.html").write_text(big_page_html(index))
        paths.append(f"/big/page-{index}.html")
    (root / "pages.txt").write_text("\n".join(paths) + "\n")
    return paths


def serve(root: Path, port: int, max_seconds: float) -> None:
    """Serve `root` on 127.0.0.1:`port` until killed or `max_seconds` pass."""
    with serve_site(root, port=port) as base:
        print(base, flush=True)
        time.sleep(max_seconds)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    build_cmd = sub.add_parser("build")
    build_cmd.add_argument("root", type=Path)
    build_cmd.add_argument("--pages", type=int, default=48)
    build_cmd.add_argument("--big-pages", type=int, default=4)
    serve_cmd = sub.add_parser("serve")
    serve_cmd.add_argument("root", type=Path)
    serve_cmd.add_argument("--port", type=int, required=True)
    serve_cmd.add_argument("--max-seconds", type=float, default=900)
    args = parser.parse_args()
    if args.command == "build":
        print(len(build(args.root, args.pages, args.big_pages)))
    else:
        serve(args.root, args.port, args.max_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
