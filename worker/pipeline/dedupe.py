"""Drop exact and near-duplicate images, keeping the best-scored copy of each picture.

Exact duplicates share a content hash (the same bytes under two URLs). Near duplicates are
the same picture resized or re-encoded (a 400 px WebP beside the 1000 px JPEG): their 256-bit
perceptual hashes (16×16 DCT, see measure.py) differ in at most NEAR_DUPLICATE_BITS bits and
their aspect ratios agree within ASPECT_TOLERANCE. Resizing and re-encoding cost 0–4 bits on
our test photos, while two different products on the same white backdrop sit 18 or more
apart (a 64-bit hash put such pairs 2 bits apart, hence the larger hash). A pair between
NEAR_DUPLICATE_BITS and VERIFY_BITS (a strong resize can cost 12 bits) is settled by the
pixels: both decoded small, the same picture differs by a few gray levels on average
(crops.same_pixels). The copy that is
kept takes over the product signals (og, JSON-LD, gallery…) of the ones dropped, so an
og:image copy still marks its picture.

Crops: an og:image 1200×630 cut from a square gallery photo has another aspect ratio, so its
hash is compared with the matching region of the larger picture instead (crops.py). The
uncropped picture is kept, even when the crop scored higher (an og hint), and inherits the
crop's signals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from worker.pipeline.crops import DecodeCache, RegionHashCache, is_crop_of, same_pixels
from worker.pipeline.phash import bit_distance, hex_bits
from worker.pipeline.score import STRONG_SIGNALS, best_first_key
from worker.pipeline.types import Hint, ImageInfo, RankedImage, Skip

NEAR_DUPLICATE_BITS = 10  # of 256
VERIFY_BITS = 24  # between the two, the pixels decide (crops.same_pixels)
ASPECT_TOLERANCE = 0.08


def dedupe(images: Sequence[RankedImage]) -> tuple[list[RankedImage], list[Skip]]:
    """(unique images best first, one Skip('duplicate') per copy dropped)."""
    images, skips = collapse_upsized(images)
    kept: list[RankedImage] = []
    kept_hashes: list[np.ndarray | None] = []
    cache: DecodeCache = {}
    for image in sorted(images, key=best_first_key):
        phash = _parse_phash(image.info)
        match = find_duplicate(image, phash, kept, kept_hashes, cache)
        if match is None:
            kept.append(image)
            kept_hashes.append(phash)
            continue
        original, how = match
        kept[original] = absorb_hints(kept[original], image)
        skips.append(Skip(image.candidate.url, "duplicate", f"{how} of {kept[original].candidate.url}"))
    unique, crop_skips = collapse_crops(kept, cache)
    return unique, skips + crop_skips


def collapse_upsized(images: Sequence[RankedImage]) -> tuple[list[RankedImage], list[Skip]]:
    """Drop a CDN's "largest copy" that came back no larger than the URL the page wrote; that one absorbs its signals.

    The larger URL is a guess from the CDN's conventions (cdn.py). When the CDN ignores the size
    asked for, or the page already wrote the largest size, it brings no pixel more: the page's own
    URL is the picture's address (the one a person sees in the page and would name).
    """
    by_url = {image.candidate.url: index for index, image in enumerate(images)}
    kept = list(images)
    dropped: set[int] = set()
    skips: list[Skip] = []
    for index, image in enumerate(images):
        source = by_url.get(image.candidate.upsized_from or "")
        if source is None or source in dropped:
            continue
        original = kept[source]
        if original.info.width * original.info.height < image.info.width * image.info.height:
            continue
        kept[source] = absorb_hints(original, image)
        dropped.add(index)
        skips.append(Skip(image.candidate.url, "duplicate", f"no larger than {original.candidate.url}"))
    return [image for index, image in enumerate(kept) if index not in dropped], skips


def collapse_crops(images: Sequence[RankedImage], cache: DecodeCache) -> tuple[list[RankedImage], list[Skip]]:
    """Drop every image that is a crop of a larger one; the larger absorbs its signals. Order is kept."""
    order = sorted(range(len(images)), key=lambda i: -images[i].info.width * images[i].info.height)
    wholes: dict[int, RankedImage] = {}
    skips: list[Skip] = []
    regions: RegionHashCache = {}
    for index in order:
        image = images[index]
        found = next((key for key, whole in wholes.items() if is_crop_of(image, whole, cache, regions)), None)
        if found is None:
            wholes[index] = image
            continue
        wholes[found] = absorb_hints(wholes[found], image)
        skips.append(Skip(image.candidate.url, "duplicate", f"crop of {wholes[found].candidate.url}"))
    return [wholes[index] for index in sorted(wholes)], skips


def find_duplicate(
    image: RankedImage,
    phash: np.ndarray | None,
    kept: Sequence[RankedImage],
    kept_hashes: Sequence[np.ndarray | None],
    cache: DecodeCache,
) -> tuple[int, str] | None:
    """(index in `kept`, "exact copy" or "near copy (n bits)") of the image this one duplicates, if any."""
    info = image.info
    for index, (other, other_hash) in enumerate(zip(kept, kept_hashes, strict=True)):
        if other.info.content_hash == info.content_hash:
            return index, "exact copy"
        if phash is None or other_hash is None or not _same_shape(info, other.info):
            continue
        distance = int(bit_distance(phash, other_hash))
        if distance <= NEAR_DUPLICATE_BITS or (distance <= VERIFY_BITS and same_pixels(image, other, cache)):
            return index, f"near copy ({distance} bits apart)"
    return None


def _same_shape(first: ImageInfo, second: ImageInfo) -> bool:
    ratio_first = first.width / max(1, first.height)
    ratio_second = second.width / max(1, second.height)
    return abs(ratio_first - ratio_second) <= ASPECT_TOLERANCE * max(ratio_first, ratio_second)


def _parse_phash(info: ImageInfo) -> np.ndarray | None:
    return hex_bits(info.phash) if info.phash else None


def absorb_hints(kept: RankedImage, dropped: RankedImage) -> RankedImage:
    """The kept image with the dropped copy's product signals added (the caller recomputes its score).

    A copy the page shows makes the picture more than a meta tag: "meta_only" and "unshown" go.
    """
    hints = kept.candidate.hints | (dropped.candidate.hints & STRONG_SIGNALS)
    for tag in (Hint.META_ONLY, Hint.UNSHOWN):
        if tag not in dropped.candidate.hints:
            hints -= {tag}
    if hints == kept.candidate.hints:
        return kept
    candidate = dataclasses.replace(
        kept.candidate, hints=hints, alt=kept.candidate.alt or dropped.candidate.alt
    )
    return dataclasses.replace(kept, candidate=candidate)
