"""Peak RSS of one pool process scraping two hostile pages (issue 22 §3); target below 600 MB each.

    python -m bench.memory [--json out.json] [--page zeros|jpeg|both]

- `zeros`: 8 <img> of a 7745×7745 all-zero gray+alpha PNG (113 KB each, just under the 60 Mpx
  limit), each under its own URL, so each is downloaded and decoded.
- `jpeg`: one ~19 MB JPEG referenced 200 times (200 URLs serving the same bytes).

The site is served on 127.0.0.1 by this process; each page is scraped by `run_pipeline` in a
fresh child process (the same imports, settings and allocator tuning a Celery pool process
has, default SCRAPER_DOWNLOAD_WORKERS), which then reads its kept images' bytes as the upload would, and
reports its peak RSS (`ru_maxrss`), the time, and the kept and skipped counts by reason.
Nothing else runs in the child, so its peak is the pipeline's.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
TARGET_MB = 600
ZERO_SIDE = 7745
ZERO_IMAGES = 8
JPEG_REFERENCES = 200
JPEG_BYTES = 19_000_000  # under MAX_IMAGE_BYTES (20 MiB), so every copy is downloaded

CHILD = r"""
import collections, json, resource, sys, time
from backend.settings import load_settings
from worker.allocator import tune_allocator
from worker.pipeline import run_pipeline

tune_allocator()  # as worker_process_init does in every pool process
settings = load_settings(app_env="development", scraper_allow_private=True)
started = time.monotonic()
result = run_pipeline(sys.argv[1], settings, max_images=10)
read = sum(len(image.data) for image in result.kept)  # what the upload reads
print(json.dumps({
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    "seconds": round(time.monotonic() - started, 1),
    "images_found": result.progress.images_found,
    "kept": len(result.kept),
    "kept_bytes": read,
    "skipped": dict(collections.Counter(skip.reason for skip in result.skipped)),
}))
"""


def zero_png() -> bytes:
    out = io.BytesIO()
    Image.new("LA", (ZERO_SIDE, ZERO_SIDE)).save(out, "PNG", compress_level=9)
    return out.getvalue()


def big_jpeg() -> bytes:
    """Noise saved at quality 100 (~2 bytes a pixel): the side is adjusted until the file is within 3% of JPEG_BYTES."""
    side = 3000
    for _ in range(6):
        noise = Image.merge("RGB", [Image.effect_noise((side, side), 120) for _ in range(3)])
        out = io.BytesIO()
        noise.save(out, "JPEG", quality=100)
        if abs(out.tell() - JPEG_BYTES) <= JPEG_BYTES * 0.03:
            break
        side = int(side * (JPEG_BYTES / out.tell()) ** 0.5)
    return out.getvalue()


def build_site(root: Path) -> None:
    (root / "zeros.png").write_bytes(zero_png())
    (root / "big.jpg").write_bytes(big_jpeg())
    zeros = "".join(f'<img src="/zeros.png?n={n}" alt="zero {n}">' for n in range(ZERO_IMAGES))
    jpegs = "".join(f'<img src="/big.jpg?n={n}" alt="big {n}">' for n in range(JPEG_REFERENCES))
    for name, images in (("zeros", zeros), ("jpeg", jpegs)):
        html = f"<!DOCTYPE html><html><head><title>{name}</title></head><body>{images}</body></html>"
        (root / f"{name}.html").write_text(html)


@contextmanager
def serve(root: Path) -> Iterator[str]:
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def scrape_in_child(url: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--page", choices=("zeros", "jpeg", "both"), default="both")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    pages = ("zeros", "jpeg") if args.page == "both" else (args.page,)
    figures: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        build_site(root)
        sizes = {name: (root / name).stat().st_size for name in ("zeros.png", "big.jpg")}
        print(f"zeros.png {sizes['zeros.png'] / 1000:.0f} kB, big.jpg {sizes['big.jpg'] / 1e6:.1f} MB")
        with serve(root) as base:
            for page in pages:
                figures[page] = scrape_in_child(f"{base}/{page}.html")
                verdict = "ok" if int(figures[page]["peak_rss_mb"]) < TARGET_MB else "OVER"  # type: ignore[call-overload]
                print(f"{page}: {json.dumps(figures[page])}  target < {TARGET_MB} MB: {verdict}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
