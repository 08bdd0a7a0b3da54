"""Perceptual hashes of gray pictures and of regions of them, as small matrix products.

The hash is imagehash's 256-bit phash (a 16×16 block of the DCT-II of the picture brought to
64×64, against its median), area-averaged instead of Lanczos-resampled to 64×64. Averaging
and the low DCT rows are both linear, so each side of a region is one precomputed matrix
(`_low_dct_of_average`): a region costs two small products instead of a crop, a resize and two
FFT calls, about a tenth of imagehash.phash. The area average is the better anti-aliasing
filter for a downscale, and hashes stay within a few bits of imagehash's (tests pin it). The
hex form is imagehash's, so a stored `phash` reads with `imagehash.hex_to_hash`.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image
from threadpoolctl import threadpool_limits

PHASH_SIZE = 16  # 16×16 = 256 bits: 8×8 cannot tell two products on white apart
PHASH_SAMPLING = 4  # imagehash's highfreq_factor: the DCT is taken at 4× the hash size

Box = tuple[int, int, int, int]  # x, y, width, height

# numpy's OpenBLAS would start a team of threads for each of these tiny products, inside download
# threads and worker processes that already fill the cores: measured on the shared corpus, 30 %
# more worker CPU spent spinning. One thread, for the whole process.
threadpool_limits(limits=1, user_api="blas")


def gray_array(gray: Image.Image) -> np.ndarray:
    """A gray ("L") picture as floats, the form the hashes are computed from."""
    return np.asarray(gray, dtype=np.float64)


def phash_hex(gray: Image.Image) -> str:
    """The phash of a whole gray picture, in imagehash's hex form (64 hex digits, first bit highest)."""
    pixels = gray_array(gray)
    (bits,) = region_bits(pixels, [(0, 0, pixels.shape[1], pixels.shape[0])])
    return np.packbits(bits).tobytes().hex()


def hex_bits(phash: str) -> np.ndarray:
    """The 256 bits of a hex phash, as one flat row of booleans."""
    return np.unpackbits(np.frombuffer(bytes.fromhex(phash), dtype=np.uint8)).astype(bool)


def bit_distance(bits: np.ndarray, other: np.ndarray) -> np.ndarray:
    """How many bits two phashes differ in; with rows of hashes on one side, one count per row."""
    return np.count_nonzero(bits != other, axis=-1)


def region_bits(pixels: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """The phash bits of each region (x, y, width, height) of a gray float array: one row per region.

    Regions as tall as the picture share its row transform, and regions as wide as it share its
    column transform (the crop check slides five such regions along one axis): one large product
    for the picture, then a small one per region.
    """
    height, width = pixels.shape
    rows = np.empty((len(boxes), PHASH_SIZE * PHASH_SIZE))
    by_rows = by_columns = None
    for index, (x, y, region_width, region_height) in enumerate(boxes):
        if region_height == height:
            by_rows = _low_dct_of_average(height) @ pixels if by_rows is None else by_rows
            block = by_rows[:, x : x + region_width] @ _low_dct_of_average(region_width).T
        elif region_width == width:
            by_columns = pixels @ _low_dct_of_average(width).T if by_columns is None else by_columns
            block = _low_dct_of_average(region_height) @ by_columns[y : y + region_height]
        else:
            region = pixels[y : y + region_height, x : x + region_width]
            block = _low_dct_of_average(region_height) @ region @ _low_dct_of_average(region_width).T
        rows[index] = block.reshape(-1)
    return rows > row_medians(rows)


def row_medians(rows: np.ndarray) -> np.ndarray:
    """np.median(rows, axis=1, keepdims=True) for rows of even length, the same numbers at a
    quarter of its cost (np.median's generic partitioning dominated the crop check)."""
    middle = rows.shape[1] // 2
    ordered = np.sort(rows, axis=1)
    return ((ordered[:, middle - 1] + ordered[:, middle]) / 2)[:, None]


def shrink(pixels: np.ndarray, side: int) -> np.ndarray:
    """A gray float array area-averaged to side × side."""
    return average_matrix(pixels.shape[0], side) @ pixels @ average_matrix(pixels.shape[1], side).T


@functools.lru_cache(maxsize=512)
def _low_dct_of_average(length: int) -> np.ndarray:
    """(PHASH_SIZE × length): average `length` samples down to the sampling size, then its low DCT-II rows.

    The DCT is scipy.fftpack's unnormalised type II, as imagehash uses:
    y[k] = 2 Σ x[n] cos(π k (2n + 1) / 2N).
    """
    side = PHASH_SIZE * PHASH_SAMPLING
    k, n = np.arange(PHASH_SIZE)[:, None], np.arange(side)[None, :]
    return (2 * np.cos(np.pi * k * (2 * n + 1) / (2 * side))) @ average_matrix(length, side)


@functools.lru_cache(maxsize=512)
def average_matrix(length: int, side: int) -> np.ndarray:
    """(side × length): the area average (box filter) that brings `length` samples to `side`."""
    edges = np.arange(side + 1) * (length / side)  # output sample i covers [edges[i], edges[i + 1])
    starts = np.arange(length)
    overlap = np.minimum(edges[1:, None], starts + 1) - np.maximum(edges[:-1, None], starts)
    return np.clip(overlap, 0, None) / (length / side)
