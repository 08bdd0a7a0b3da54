"""tune_allocator: a process that keeps decoding large images stops page-faulting its buffers in anew."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Decodes of several-MB pictures, as measure() does them, one after the other; prints the page
# faults the loop took (after a warm-up round).
PROBE = """
import json, resource, sys
from io import BytesIO
from PIL import Image
from worker.allocator import tune_allocator
tuned = tune_allocator() if sys.argv[1] == "tuned" else None
data = []
for side in (1100, 1300, 1200, 1400):
    out = BytesIO()
    Image.effect_noise((side, side), 60).convert("RGBA").save(out, "PNG", compress_level=1)
    data.append(out.getvalue())
def decode_all():
    for blob in data:
        with Image.open(BytesIO(blob)) as image:
            image.convert("RGB").resize((320, 320))
decode_all()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    decode_all()
print(json.dumps({"tuned": tuned, "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before}))
"""


def _faults(mode: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_tuned_allocator_reuses_decode_buffers():
    """With the tuning, repeated multi-MB decodes take a small fraction of the page faults they take without it."""
    default, tuned = _faults("default"), _faults("tuned")
    assert tuned["tuned"] is True
    assert int(tuned["faults"]) * 10 < int(default["faults"])


def test_pillow_allocates_big_pictures_in_blocks_above_the_mmap_threshold():
    """Blocks larger than the mmap threshold are mapped, so a huge decode goes back to the kernel when freed."""
    probe = (
        "from PIL import Image; from worker.allocator import tune_allocator, PILLOW_BLOCK_BYTES, "
        "MMAP_THRESHOLD_BYTES; tune_allocator(); "
        "print(Image.core.get_block_size() == PILLOW_BLOCK_BYTES > MMAP_THRESHOLD_BYTES)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "True", done.stderr
