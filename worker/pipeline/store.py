"""Upload kept images under content-addressed keys and build their database rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from backend.storage import ImageStore
from worker.pipeline.types import RankedImage


def storage_key(campaign_id: uuid.UUID, image: RankedImage) -> str:
    # Content-addressed: the same bytes always land on the same key, so a retried
    # upload overwrites itself instead of leaving an orphan beside it.
    return f"campaigns/{campaign_id}/{image.info.content_hash}.{image.extension}"


@dataclass(frozen=True)
class StoredImage:
    image: RankedImage
    key: str
    url: str


def upload_images(store: ImageStore, campaign_id: uuid.UUID, images: list[RankedImage]) -> list[StoredImage]:
    """Put each image's original bytes in the store; StorageError propagates (the job is retried)."""
    stored = []
    for image in images:
        key = storage_key(campaign_id, image)
        store.put(key, image.data, image.info.mime)
        stored.append(StoredImage(image=image, key=key, url=store.public_url(key)))
    return stored


def image_row(stored: StoredImage, *, campaign_id: uuid.UUID, job_id: uuid.UUID) -> dict[str, object]:
    """The scraped_images row for one uploaded image."""
    image, info = stored.image, stored.image.info
    return {
        "id": uuid.uuid4(),
        "campaign_id": campaign_id,
        "job_id": job_id,
        "cdn_url": stored.url,
        "storage_key": stored.key,
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
