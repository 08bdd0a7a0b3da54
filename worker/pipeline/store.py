"""Upload kept images under content-addressed keys, with a small thumbnail beside each, and build their rows."""

from __future__ import annotations

import contextvars
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from typing import cast

from PIL import Image, ImageOps

from backend.logging import get_logger
from backend.storage import ImageStore
from worker.pipeline.measure import OPENED_FORMATS
from worker.pipeline.types import RankedImage

logger = get_logger(__name__)

# The gallery shows cards about 300 px wide; 320 px on the long side stays sharp there.
THUMBNAIL_MAX_SIDE = 320
# Quality 80 keeps a product label readable at a fraction of the original's bytes.
THUMBNAIL_QUALITY = 80
# Opaque thumbnails are JPEGs: libjpeg-turbo encodes a 320 px one in about a fifth of the time
# of WebP at its lowest effort, for a few KB more. Only a thumbnail with transparency (a cut-out
# product on a PNG) is a WebP, which keeps the alpha channel; WebP effort 0-6, 4 is Pillow's
# default, 0 is a quarter of its time, on an image nobody zooms into.
THUMBNAIL_WEBP_METHOD = 0
# Images uploaded at once by one job: each upload is a network wait plus a thumbnail encode
# (Pillow releases the GIL), and the process's one boto3 client keeps up to 32 connections.
UPLOAD_THREADS = 4


@dataclass(frozen=True)
class Thumbnail:
    """An encoded thumbnail and what it is stored as."""

    data: bytes
    mime: str  # image/jpeg, or image/webp when it has transparency
    extension: str


def storage_key(campaign_id: uuid.UUID, image: RankedImage) -> str:
    # Content-addressed: the same bytes always land on the same key, so a retried
    # upload overwrites itself instead of leaving an orphan beside it.
    return f"campaigns/{campaign_id}/{image.info.content_hash}.{image.extension}"


def thumbnail_key(campaign_id: uuid.UUID, image: RankedImage, thumbnail: Thumbnail) -> str:
    """The thumbnail's key: content-addressed like the original, in the campaign's thumbs/ folder."""
    return f"campaigns/{campaign_id}/thumbs/{image.info.content_hash}.{thumbnail.extension}"


def make_thumbnail(data: bytes, max_side: int = THUMBNAIL_MAX_SIDE) -> Thumbnail:
    """A thumbnail at most `max_side` px on the long side, upright, from an image's original bytes.

    The bytes were already measured (and refused above MAX_IMAGE_PIXELS) by measure.py;
    JPEGs are decoded at reduced scale. Raises OSError/ValueError on bytes Pillow cannot read.
    """
    with Image.open(BytesIO(data), formats=OPENED_FORMATS) as opened:
        opened.draft("RGB", (max_side, max_side))  # JPEG only: decode at 1/2…1/8 scale
        image = ImageOps.exif_transpose(opened)
        has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        return encode_thumbnail(image)


def encode_thumbnail(image: Image.Image) -> Thumbnail:
    """An already upright, thumbnail-sized RGB/RGBA image as a JPEG, or as a WebP if it has transparency."""
    out = BytesIO()
    if image.mode == "RGBA" and cast("tuple[tuple[int, int], ...]", image.getextrema())[3][0] < 255:
        image.save(out, format="WEBP", quality=THUMBNAIL_QUALITY, method=THUMBNAIL_WEBP_METHOD)
        return Thumbnail(out.getvalue(), "image/webp", "webp")
    opaque = image if image.mode == "RGB" else image.convert("RGB")
    opaque.save(out, format="JPEG", quality=THUMBNAIL_QUALITY)
    return Thumbnail(out.getvalue(), "image/jpeg", "jpg")


def thumbnail_of(image: RankedImage) -> Thumbnail:
    """The thumbnail from the preview measure() kept, else (hand-built info) from the original bytes."""
    preview = image.info.preview
    if preview is not None and max(preview.size) <= THUMBNAIL_MAX_SIDE:
        return encode_thumbnail(preview)
    return make_thumbnail(image.data)


@dataclass(frozen=True)
class StoredImage:
    image: RankedImage
    key: str
    url: str
    thumbnail_key: str | None = None
    thumbnail_url: str | None = None

    @property
    def keys(self) -> list[str]:
        """Every object this image put in the store (the original, and its thumbnail if any)."""
        return [self.key] if self.thumbnail_key is None else [self.key, self.thumbnail_key]


def _upload_thumbnail(store: ImageStore, campaign_id: uuid.UUID, image: RankedImage) -> str | None:
    """Store the image's thumbnail and return its key; None if Pillow cannot make one (the card shows the original)."""
    try:
        thumbnail = thumbnail_of(image)
    except (OSError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        logger.warning(
            "image.thumbnail_failed", content_hash=image.info.content_hash, error=type(exc).__name__
        )
        return None
    key = thumbnail_key(campaign_id, image, thumbnail)
    store.put(key, thumbnail.data, thumbnail.mime)
    return key


def upload_image(store: ImageStore, campaign_id: uuid.UUID, image: RankedImage) -> StoredImage:
    """Put one image's original bytes and its thumbnail in the store."""
    key = storage_key(campaign_id, image)
    store.put(key, image.data, image.info.mime)
    thumb = _upload_thumbnail(store, campaign_id, image)
    return StoredImage(
        image=image,
        key=key,
        url=store.public_url(key),
        thumbnail_key=thumb,
        thumbnail_url=None if thumb is None else store.public_url(thumb),
    )


def upload_images(store: ImageStore, campaign_id: uuid.UUID, images: list[RankedImage]) -> list[StoredImage]:
    """Upload every image (UPLOAD_THREADS at a time), in order; StorageError propagates (the job is retried).

    As before the pool, objects put before a failure are overwritten by the retry: the keys
    are content-addressed.
    """
    if len(images) <= 1:
        return [upload_image(store, campaign_id, image) for image in images]
    context = contextvars.copy_context()  # a copy per thread: their log lines keep the job's ids
    with ThreadPoolExecutor(max_workers=UPLOAD_THREADS, thread_name_prefix="upload") as pool:
        return list(
            pool.map(lambda image: context.copy().run(upload_image, store, campaign_id, image), images)
        )


def image_row(
    stored: StoredImage, *, campaign_id: uuid.UUID, job_id: uuid.UUID, rank: int
) -> dict[str, object]:
    """The scraped_images row for one uploaded image; `rank` is its place in the job's ranking (0: the hero)."""
    image, info = stored.image, stored.image.info
    return {
        "id": uuid.uuid4(),
        "campaign_id": campaign_id,
        "job_id": job_id,
        "cdn_url": stored.url,
        "storage_key": stored.key,
        "thumbnail_url": stored.thumbnail_url,
        "thumbnail_key": stored.thumbnail_key,
        "original_url": image.candidate.url,
        "width": info.width,
        "height": info.height,
        "file_size": info.file_size,
        "format": info.format,
        "quality_score": round(image.quality_score, 2),
        "image_type": image.image_type,
        "is_hero": image.is_hero,
        "is_product": image.is_product,
        "is_lifestyle": image.is_lifestyle,
        "pipeline_rank": rank,
        "alt_text": image.candidate.alt,
        "content_hash": info.content_hash,
        "phash": info.phash,
        "metadata": {
            "source": image.candidate.source,
            "position": image.candidate.position,
            "hints": sorted(image.candidate.hints),
            "features": info.features,
        },
        "times_used": 0,
    }
