"""Perceptual hashes as matrix products: close to imagehash's, and computed on one BLAS thread."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import imagehash
import numpy as np
import pytest

from tests.shopsite import product_photo
from worker.pipeline.phash import gray_array, hex_bits, phash_hex, region_bits, row_medians, shrink

ROOT = Path(__file__).resolve().parents[3]


def test_phash_stays_within_a_few_bits_of_imagehash():
    """The matrix phash of a photo, whole or of a region, is within a few bits of imagehash's phash of it."""
    for seed in (40, 41, 42):
        gray = product_photo(seed, (256, 256)).convert("L")
        reference = imagehash.phash(gray, hash_size=16)
        assert imagehash.hex_to_hash(phash_hex(gray)) - reference <= 8
        region = (0, 60, 256, 135)
        (bits,) = region_bits(gray_array(gray), [region])
        cut = imagehash.phash(gray.crop((0, 60, 256, 195)), hash_size=16).hash.reshape(-1)
        assert int(np.count_nonzero(bits != cut)) <= 8


def test_sliding_regions_hash_as_each_region_alone():
    """Regions sharing the picture's row or column transform hash as each region cut out and hashed alone."""
    pixels = gray_array(product_photo(45, (256, 200)).convert("L"))
    tall = [(x, 0, 110, 200) for x in (0, 36, 73, 109, 146)]
    wide = [(0, y, 256, 120) for y in (0, 20, 40, 60, 80)]
    inner = [(30, 40, 100, 90)]
    for boxes in (tall, wide, inner):
        shared = region_bits(pixels, boxes)
        for (x, y, width, height), bits in zip(boxes, shared, strict=True):
            (alone,) = region_bits(pixels[y : y + height, x : x + width], [(0, 0, width, height)])
            assert int(np.count_nonzero(bits != alone)) <= 1


def test_region_medians_are_numpy_s():
    """The median each region's bits are taken against is np.median's, number for number."""
    rows = np.random.default_rng(7).normal(size=(5, 256)) * 1000
    assert row_medians(rows).tolist() == np.median(rows, axis=1, keepdims=True).tolist()


def test_shrink_averages_areas():
    """shrink() of a half-black, half-white picture to 2×2 keeps the two halves exactly."""
    pixels = np.zeros((100, 100))
    pixels[:, 50:] = 255.0
    assert shrink(pixels, 2) == pytest.approx(np.array([[0.0, 255.0], [0.0, 255.0]]))


def test_blas_runs_on_one_thread():
    """A process that imports the Celery tasks (and so the pipeline) runs every loaded BLAS on one thread."""
    probe = (
        "import json, threadpoolctl, worker.tasks;"
        "print(json.dumps([p['num_threads'] for p in threadpoolctl.threadpool_info() if p['user_api'] == 'blas']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    threads = json.loads(done.stdout.strip().splitlines()[-1])
    assert threads
    assert set(threads) == {1}


def test_hex_form_is_imagehash_s():
    """A phash written by us reads back with imagehash.hex_to_hash, bit for bit, and the other way round."""
    gray = product_photo(44, (256, 256)).convert("L")
    ours = phash_hex(gray)
    assert len(ours) == 64
    assert imagehash.hex_to_hash(ours).hash.reshape(-1).tolist() == hex_bits(ours).tolist()
    theirs = str(imagehash.phash(gray, hash_size=16))
    assert hex_bits(theirs).tolist() == imagehash.hex_to_hash(theirs).hash.reshape(-1).tolist()
