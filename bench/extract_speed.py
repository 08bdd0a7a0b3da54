"""Extraction cost against a bare lxml parse of the same pages; prints the ratio (target: at most 2×).

Usage:

    python -m bench.extract_speed [--dir DIR] [--repeat N] [--json] [--profile [TOP]]

Pages: every `*.html` under DIR, or else the project's generated sites (tests/shopsite/site.py
and tests/shopsite/platforms/, built in a temporary directory). For each page it times
`lxml.html.document_fromstring` alone and `extract_candidates` (which parses, then
extracts), best of N runs each, and prints the summed times and their ratio. Nothing is
asserted: speed goals live here, not in the test suite.

With `--profile`, it then runs `extract_candidates` over all pages N more times under
cProfile and prints the TOP (default 25) functions by own time (tottime).

The memo caches of worker.pipeline.extract.hints (class-name and URL hints) live for the process,
so the best of N runs measures them warm, as in a worker that has seen a few pages.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import tempfile
import time
from pathlib import Path

import lxml.html

from tests.shopsite import build_site
from tests.shopsite.platforms import build_platform_site
from worker.pipeline.extract.candidates import extract_candidates
from worker.pipeline.types import Page

CANDIDATE_LIMIT = 300


def best_time(action: object, repeat: int) -> float:
    """The fastest of `repeat` runs of `action()`, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return best


def measure_pages(paths: list[Path], repeat: int) -> dict[str, float]:
    """Summed best times of parse and extraction, their ratio, and what the extraction beyond the parse costs.

    The ratio depends on how dense the pages are in images: the parse costs about the same per
    byte, the extraction beyond it per candidate, so `us_per_candidate` (the extraction minus
    the parse, per candidate found) and `html_bytes_per_candidate` say why a corpus of small,
    image-dense pages gives a higher ratio than one of large pages.
    """
    parse = extract = 0.0
    candidates = html_bytes = 0
    for path in paths:
        html = path.read_bytes()
        page = Page(url="https://shop.example.com/" + path.name, html=html, content_type="text/html")
        parse += best_time(lambda html=html: lxml.html.document_fromstring(html), repeat)
        extract += best_time(lambda page=page: extract_candidates(page, limit=CANDIDATE_LIMIT), repeat)
        candidates += len(extract_candidates(page, limit=CANDIDATE_LIMIT))
        html_bytes += len(html)
    return {
        "pages": len(paths),
        "parse_s": parse,
        "extract_s": extract,
        "ratio": extract / parse,
        "candidates": candidates,
        "us_per_candidate": (extract - parse) / candidates * 1e6 if candidates else 0.0,
        "html_bytes_per_candidate": html_bytes / candidates if candidates else 0.0,
    }


def profile_pages(paths: list[Path], repeat: int, top: int) -> None:
    """cProfile over `repeat` passes of extract_candidates on every page; the `top` entries by own time."""
    pages = [
        Page(url="https://shop.example.com/" + path.name, html=path.read_bytes(), content_type="text/html")
        for path in paths
    ]
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        for page in pages:
            extract_candidates(page, limit=CANDIDATE_LIMIT)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def generated_pages(tmp: Path) -> list[Path]:
    build_site(tmp / "shop")
    build_platform_site(tmp / "platforms", copies=2)
    return sorted(tmp.rglob("*.html"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, help="measure every *.html under this directory instead")
    parser.add_argument("--repeat", type=int, default=5, help="runs per page; the fastest counts")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--profile", type=int, nargs="?", const=25, metavar="TOP", help="then print a cProfile of extraction"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = sorted(args.dir.rglob("*.html")) if args.dir else generated_pages(Path(tmp))
        result = measure_pages(paths, args.repeat)
        if args.json:
            print(json.dumps(result), flush=True)
        else:
            print(
                f"{result['pages']} pages: lxml parse {result['parse_s'] * 1000:.1f} ms,"
                f" extract_candidates {result['extract_s'] * 1000:.1f} ms, ratio {result['ratio']:.2f}x;"
                f" {result['candidates']} candidates, {result['us_per_candidate']:.1f} us each beyond the"
                f" parse, {result['html_bytes_per_candidate']:.0f} bytes of HTML per candidate",
                flush=True,
            )
        if args.profile:
            profile_pages(paths, args.repeat, args.profile)


if __name__ == "__main__":
    main()
