"""Tell whether one image is a crop of another: the og:image 1200×630 cut from a square gallery photo.

Perceptual hashes of a photo and of a crop of it at another aspect ratio have nothing in
common, so `dedupe` asks here instead. The larger picture is taken small from the preview
measure() kept (or, without one, decoded again at reduced scale; cached per content hash), the largest region of the crop's aspect ratio is
cut from it at CROP_OFFSETS along the long axis (top to bottom or left to right), and each region's
256-bit phash is compared with the crop's. Within CROP_BITS bits it is the same photo. Only
maximal crops are found: a zoomed-in detail (a smaller region) is kept as its own picture.
"""

from __future__ import annotations

from io import BytesIO

import imagehash
from PIL import Image, ImageChops, ImageOps, ImageStat

from worker.pipeline.measure import FEATURE_SIDE, OPENED_FORMATS, PHASH_SIZE, flatten_on_white
from worker.pipeline.types import RankedImage

CROP_BITS = 32  # of 256: true crops measured 8–20 bits away, crops of other photos 64 or more
CROP_OFFSETS = (0.0, 0.25, 0.5, 0.75, 1.0)
MIN_ASPECT_GAP = 0.08  # aspect ratios closer than this are the plain near-duplicate case
COMPARE_SIDE = 64  # same_pixels compares 64×64 gray thumbnails
SAME_PIXELS_MAD = 3.0  # mean absolute gray difference: resizes measured 0.2–0.6, other products ~10+
PHASH_SAMPLING = 4  # imagehash.phash's highfreq_factor: it samples 4× the hash size before its DCT
MAX_CROP_LOSS = 0.75  # a crop keeping under a quarter of the picture is a detail shot, not a copy


DecodeCache = dict[str, Image.Image | None]
# (content hash of the larger picture, region width, region height) → the regions' phashes: a page
# has few distinct aspect ratios, so each picture's regions are hashed once per ratio, not per pair.
RegionHashCache = dict[tuple[str, int, int], list[imagehash.ImageHash]]


def is_crop_of(
    crop: RankedImage, whole: RankedImage, cache: DecodeCache, regions: RegionHashCache | None = None
) -> bool:
    """True when `crop` shows the largest region of `whole` at its own aspect ratio."""
    if crop.info.phash is None or not _plausible(crop, whole):
        return False
    key = whole.info.content_hash
    if key not in cache:
        preview = whole.info.preview
        cache[key] = reduce_preview(preview) if preview is not None else reduce_image(whole.data)
    reduced = cache[key]
    if reduced is None:
        return False
    target = imagehash.hex_to_hash(crop.info.phash)
    hashes = region_hashes(
        reduced, key, crop.info.width / crop.info.height, {} if regions is None else regions
    )
    return any(region_hash - target <= CROP_BITS for region_hash in hashes)


def region_hashes(
    reduced: Image.Image, key: str, aspect: float, regions: RegionHashCache
) -> list[imagehash.ImageHash]:
    """The phashes of `reduced`'s crop_regions at `aspect`, from `regions` when already computed."""
    cut = crop_regions(reduced, aspect)
    cache_key = (key, *cut[0].size)
    if cache_key not in regions:
        regions[cache_key] = [region_phash(region) for region in cut]
    return regions[cache_key]


def region_phash(region: Image.Image) -> imagehash.ImageHash:
    """The phash of a region, brought to phash's sampling size with a box filter first.

    imagehash would resample the region with Lanczos, which costs several times more; the
    hashes move by a few bits at most, well inside CROP_BITS (the tests pin both sides).
    """
    side = PHASH_SIZE * PHASH_SAMPLING
    return imagehash.phash(
        region.convert("L").resize((side, side), Image.Resampling.BOX), hash_size=PHASH_SIZE
    )


def same_pixels(first: RankedImage, second: RankedImage, cache: DecodeCache) -> bool:
    """True when two same-shape images, decoded small and gray, differ by under SAME_PIXELS_MAD levels."""
    small = []
    for image in (first, second):
        key = image.info.content_hash
        if key not in cache:
            cache[key] = reduce_image(image.data)
        if cache[key] is None:
            return False
        small.append(cache[key].convert("L").resize((COMPARE_SIDE, COMPARE_SIDE), Image.Resampling.BOX))
    return ImageStat.Stat(ImageChops.difference(*small)).mean[0] < SAME_PIXELS_MAD


def _plausible(crop: RankedImage, whole: RankedImage) -> bool:
    crop_aspect = crop.info.width / max(1, crop.info.height)
    whole_aspect = whole.info.width / max(1, whole.info.height)
    gap = abs(crop_aspect - whole_aspect) / max(crop_aspect, whole_aspect)
    kept_share = min(crop_aspect, whole_aspect) / max(crop_aspect, whole_aspect)
    return gap > MIN_ASPECT_GAP and kept_share >= 1 - MAX_CROP_LOSS


def crop_regions(image: Image.Image, aspect: float) -> list[Image.Image]:
    """The largest regions of `image` with this aspect ratio, slid along the long axis."""
    width, height = image.size
    if width / height > aspect:  # cut the sides
        region_width = max(1, round(height * aspect))
        boxes = [(round((width - region_width) * f), 0, 0, height) for f in CROP_OFFSETS]
        return [image.crop((x, 0, x + region_width, height)) for x, *_ in boxes]
    region_height = max(1, round(width / aspect))
    tops = [round((height - region_height) * f) for f in CROP_OFFSETS]
    return [image.crop((0, top, width, top + region_height)) for top in tops]


def reduce_preview(preview: Image.Image) -> Image.Image:
    """measure()'s upright preview shrunk to FEATURE_SIDE and put on white: no second decode."""
    small = preview.copy()
    small.thumbnail((FEATURE_SIDE, FEATURE_SIDE))
    return flatten_on_white(small)


def reduce_image(data: bytes) -> Image.Image | None:
    """The picture decoded small (draft mode), upright and on white, or None if unreadable."""
    try:
        with Image.open(BytesIO(data), formats=OPENED_FORMATS) as image:
            image.draft("RGB", (FEATURE_SIDE, FEATURE_SIDE))
            upright = ImageOps.exif_transpose(image)
            small = upright.convert("RGBA" if upright.mode in ("RGBA", "LA", "PA") else "RGB")
            small.thumbnail((FEATURE_SIDE, FEATURE_SIDE))
            return flatten_on_white(small)
    except Exception:  # measure() already accepted these bytes; a failure here only means "not a crop"
        return None
