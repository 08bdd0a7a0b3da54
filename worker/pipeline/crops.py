"""Tell whether one image is a crop of another: the og:image 1200×630 cut from a square gallery photo.

Perceptual hashes of a photo and of a crop of it at another aspect ratio have nothing in
common, so `dedupe` asks here instead. The larger picture is taken small and gray from
measure() (or, without that copy, decoded again at reduced scale; cached per content hash), the
largest region of the crop's aspect ratio is cut from it at CROP_OFFSETS along the long axis
(top to bottom or left to right), and each region's 256-bit phash is compared with the crop's.
Within CROP_BITS bits it is the same photo. Only maximal crops are found: a zoomed-in detail (a
smaller region) is kept as its own picture.
"""

from __future__ import annotations

from io import BytesIO

import numpy as np
from PIL import Image, ImageOps

from worker.pipeline.measure import FEATURE_SIDE, OPENED_FORMATS, flatten_on_white
from worker.pipeline.phash import Box, bit_distance, gray_array, hex_bits, region_bits, shrink
from worker.pipeline.types import RankedImage

CROP_BITS = 32  # of 256: true crops measured 0–6 bits away, crops of other photos 58 or more
CROP_OFFSETS = (0.0, 0.25, 0.5, 0.75, 1.0)
MIN_ASPECT_GAP = 0.08  # aspect ratios closer than this are the plain near-duplicate case
COMPARE_SIDE = 64  # same_pixels compares 64×64 gray thumbnails
SAME_PIXELS_MAD = 3.0  # mean absolute gray difference: resizes measured 0.2–0.6, other products ~10+
MAX_CROP_LOSS = 0.75  # a crop keeping under a quarter of the picture is a detail shot, not a copy


DecodeCache = dict[str, np.ndarray | None]  # content hash → the gray FEATURE_SIDE copy, as floats
# (content hash of the larger picture, crop width, crop height) → the phash bits of its regions at
# that crop's shape: a page has few distinct shapes, so each is cut and hashed once per picture.
RegionHashCache = dict[tuple[str, int, int], np.ndarray]


def is_crop_of(
    crop: RankedImage, whole: RankedImage, cache: DecodeCache, regions: RegionHashCache | None = None
) -> bool:
    """True when `crop` shows the largest region of `whole` at its own aspect ratio."""
    if crop.info.phash is None or not _plausible(crop, whole):
        return False
    gray = _gray_of(whole, cache)
    if gray is None:
        return False
    regions = {} if regions is None else regions
    key = (whole.info.content_hash, crop.info.width, crop.info.height)
    if key not in regions:
        regions[key] = region_bits(
            gray, crop_boxes(gray.shape[1], gray.shape[0], crop.info.width / crop.info.height)
        )
    return bool(bit_distance(regions[key], hex_bits(crop.info.phash)).min() <= CROP_BITS)


def _gray_of(image: RankedImage, cache: DecodeCache) -> np.ndarray | None:
    """The gray FEATURE_SIDE copy of `image` as floats: measure()'s, else decoded again (cached)."""
    key = image.info.content_hash
    if key not in cache:
        gray = image.info.gray if image.info.gray is not None else reduce_image(image.data)
        cache[key] = None if gray is None else gray_array(gray)
    return cache[key]


def same_pixels(first: RankedImage, second: RankedImage, cache: DecodeCache) -> bool:
    """True when two same-shape images, decoded small and gray, differ by under SAME_PIXELS_MAD levels."""
    small = []
    for image in (first, second):
        gray = _gray_of(image, cache)
        if gray is None:
            return False
        small.append(shrink(gray, COMPARE_SIDE))
    return float(np.abs(small[0] - small[1]).mean()) < SAME_PIXELS_MAD


def _plausible(crop: RankedImage, whole: RankedImage) -> bool:
    crop_aspect = crop.info.width / max(1, crop.info.height)
    whole_aspect = whole.info.width / max(1, whole.info.height)
    gap = abs(crop_aspect - whole_aspect) / max(crop_aspect, whole_aspect)
    kept_share = min(crop_aspect, whole_aspect) / max(crop_aspect, whole_aspect)
    return gap > MIN_ASPECT_GAP and kept_share >= 1 - MAX_CROP_LOSS


def crop_boxes(width: int, height: int, aspect: float) -> list[Box]:
    """The largest regions (x, y, width, height) of a width × height picture with this aspect, slid along the long axis."""
    if width / height > aspect:  # cut the sides
        region_width = min(width, max(1, round(height * aspect)))
        return [(round((width - region_width) * f), 0, region_width, height) for f in CROP_OFFSETS]
    region_height = min(height, max(1, round(width / aspect)))
    return [(0, round((height - region_height) * f), width, region_height) for f in CROP_OFFSETS]


def reduce_image(data: bytes) -> Image.Image | None:
    """The picture decoded small (draft mode), upright, on white and gray, or None if unreadable."""
    try:
        with Image.open(BytesIO(data), formats=OPENED_FORMATS) as image:
            image.draft("RGB", (FEATURE_SIDE, FEATURE_SIDE))
            upright = ImageOps.exif_transpose(image)
            small = upright.convert("RGBA" if upright.mode in ("RGBA", "LA", "PA") else "RGB")
            small.thumbnail((FEATURE_SIDE, FEATURE_SIDE))
            return flatten_on_white(small).convert("L")
    except Exception:  # measure() already accepted these bytes; a failure here only means "not a crop"
        return None
