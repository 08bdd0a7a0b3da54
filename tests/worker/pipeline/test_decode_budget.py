"""Decoded pixels in flight are bounded per process, not per image (issue 22 §3)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image

from worker.pipeline.decode_budget import DecodeBudget
from worker.pipeline.measure import decoded_pixels, shrink_huge

ROOT = Path(__file__).resolve().parents[3]


def test_a_reservation_waits_until_the_budget_can_cover_it():
    budget = DecodeBudget(100)
    entered = threading.Event()

    def second() -> None:
        with budget.reserve(60):
            entered.set()

    with budget.reserve(60):
        thread = threading.Thread(target=second)
        thread.start()
        assert not entered.wait(0.3)  # 60 + 60 > 100: the second decode waits
    thread.join(timeout=5)
    assert entered.is_set()
    assert budget.in_use == 0


def test_a_reservation_above_the_whole_budget_runs_alone():
    budget = DecodeBudget(100)
    with budget.reserve(10_000):
        assert budget.in_use == 100


def test_a_jpeg_is_reserved_at_its_draft_scale_a_png_in_full():
    for fmt, expected in (("JPEG", 500 * 375), ("PNG", 4000 * 3000)):
        out = BytesIO()
        Image.new("RGB", (4000, 3000)).save(out, fmt)
        with Image.open(BytesIO(out.getvalue())) as image:
            assert decoded_pixels(image) == expected


def test_shrinking_a_huge_picture_in_strips_gives_the_pixels_of_one_reduce():
    pixels = np.random.default_rng(7).integers(0, 256, (4100, 4000, 2)).astype("uint8")
    image = Image.fromarray(pixels, "LA")
    factor = max(image.size) // 640
    assert np.array_equal(np.asarray(shrink_huge(image)), np.asarray(image.reduce(factor)))


# Four threads measure a 17.6-megapixel gray+alpha PNG each (70 MB decoded) in a fresh process
# tuned like a pool process, with a budget for one of them; prints the RSS growth in MB.
PROBE = """
import io, json, resource, threading
from PIL import Image
from backend.settings import load_settings
from worker.allocator import tune_allocator
from worker.pipeline.measure import measure

tune_allocator()
out = io.BytesIO()
Image.new("LA", (4200, 4200)).save(out, "PNG", compress_level=1)
data = out.getvalue()
settings = load_settings(app_env="test", max_decode_bytes=4200 * 4200 * 8)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
threads = [threading.Thread(target=measure, args=(data, settings)) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024))
"""


def test_four_huge_decodes_on_four_threads_take_turns():
    """Unbounded, four 70 MB decodes at once grow the process by 280 MB or more; bounded, by about one."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) < 120
