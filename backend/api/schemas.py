"""The JSON shapes of DESIGN.md: pydantic request models in, plain-dict serializers out.

The serializers (`job_to_dict`, `image_to_dict`, `analysis_to_dict`) need no request
context, so the CLI's `--json` output is exactly what the API returns.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    WithJsonSchema,
    model_validator,
)

from backend.api import API_PREFIX
from backend.images import ImageKey
from backend.jobs import JobKey
from backend.models import ImageType, Job, JobStatus, ScrapedImage
from worker.pipeline.types import PipelineResult, RankedImage, Skip

MAX_URL_LENGTH = 2048
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def _check_http_url(value: str) -> str:
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError("must not contain spaces or control characters")
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("must be an http or https URL")
    try:
        host, _port = parts.hostname, parts.port
    except ValueError:
        raise ValueError("has an invalid host or port") from None
    if not host:
        raise ValueError("must include a host name")
    return value


# What the OpenAPI description promises: an absolute http(s) URL without spaces or control characters.
HTTP_URL_JSON_SCHEMA = {
    "type": "string",
    "format": "uri",
    "minLength": 1,
    "maxLength": MAX_URL_LENGTH,
    "pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9]+(\.[A-Za-z0-9]+)*(:[1-9][0-9]{0,3})?(/[\x21-\x7e]*)?$",
}

HttpUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_URL_LENGTH),
    AfterValidator(_check_http_url),
    WithJsonSchema(HTTP_URL_JSON_SCHEMA),
]


def _integral_number(value: Any) -> Any:
    # JSON does not tell 50 from 50.0 and JSON Schema calls both integers; strings and booleans stay refused.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


MaxImages = Annotated[int, Field(ge=1, le=100, strict=True), BeforeValidator(_integral_number)]


class _Body(BaseModel):
    # Unknown fields are refused, so a typo (`maxImages`) is a 422, not a silent default.
    model_config = ConfigDict(extra="forbid", frozen=True)


class JobCreate(_Body):
    """POST /jobs: the page to scrape, for which campaign, and how many images to keep."""

    sales_page_url: HttpUrl
    campaign_id: uuid.UUID | None = None
    max_images: MaxImages = 10
    callback_url: HttpUrl | None = None


class AnalyzeRequest(_Body):
    """POST /analyze: the page to preview (`max_images` caps the ranked list, as for jobs)."""

    url: HttpUrl
    max_images: MaxImages = 10


IdempotencyKey = TypeAdapter(
    Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[\x20-\x7e]+$")]
)


# --- cursors: opaque to clients, a typed keyset position to the services ---------------------


def encode_cursor(kind: str, *values: object) -> str:
    raw = json.dumps([kind, *values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(kind: str, value: str, size: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError):
        raise ValueError("is not a valid cursor") from None
    if not (isinstance(data, list) and len(data) == size + 1 and data[0] == kind):
        raise ValueError("is not a valid cursor for this listing")
    return data[1:]


def _job_key(value: object) -> JobKey | None:
    if value is None or isinstance(value, JobKey):
        return value
    try:
        created_at, job_id = _decode_cursor("jobs", str(value), 2)
        return JobKey(datetime.fromisoformat(created_at), uuid.UUID(job_id))
    except (TypeError, ValueError):
        raise ValueError("is not a valid cursor for this listing") from None


def _image_key(value: object) -> ImageKey | None:
    if value is None or isinstance(value, ImageKey):
        return value
    try:
        score, image_id = _decode_cursor("images", str(value), 2)
        return ImageKey(float(score), uuid.UUID(image_id))
    except (TypeError, ValueError):
        raise ValueError("is not a valid cursor for this listing") from None


def job_cursor(key: JobKey | None) -> str | None:
    return None if key is None else encode_cursor("jobs", key.created_at.isoformat(), str(key.id))


def image_cursor(key: ImageKey | None) -> str | None:
    return None if key is None else encode_cursor("images", key.quality_score, str(key.id))


class _Query(BaseModel):
    # Unknown query parameters are ignored, as caches and proxies add their own.
    model_config = ConfigDict(extra="ignore", frozen=True)

    limit: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)

    @model_validator(mode="before")
    @classmethod
    def _blank_means_absent(cls, data: Any) -> Any:
        # `?campaign_id=&status=` is what URL templates produce for "no filter".
        if isinstance(data, dict):
            return {name: value for name, value in data.items() if value != ""}
        return data


class JobListQuery(_Query):
    """GET /jobs: filters, page size, and where the previous page ended."""

    campaign_id: uuid.UUID | None = None
    status: JobStatus | None = None
    cursor: Annotated[JobKey | None, BeforeValidator(_job_key)] = None


class ImageListQuery(_Query):
    """GET /campaigns/{id}/images: filters, page size, and where the previous page ended."""

    image_type: ImageType | None = None
    min_quality: float | None = Field(default=None, ge=0, le=100)
    cursor: Annotated[ImageKey | None, BeforeValidator(_image_key)] = None


# --- serializers --------------------------------------------------------------------------


def _timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    # SQLite hands back naive datetimes; every timestamp we store is UTC.
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def job_to_dict(job: Job, *, base_path: str = API_PREFIX) -> dict[str, Any]:
    """A job as the API returns it; links are paths under `base_path`."""
    error = {"code": job.error_code, "message": job.error_message or ""} if job.error_code else None
    return {
        "id": str(job.id),
        "campaign_id": str(job.campaign_id),
        "sales_page_url": job.sales_page_url,
        "max_images": job.max_images,
        "status": JobStatus(job.status).value,
        "attempts": job.attempts,
        "progress": {
            "images_found": job.images_found,
            "images_processed": job.images_processed,
            "images_saved": job.images_saved,
            "images_skipped": job.images_skipped,
            "images_failed": job.images_failed,
        },
        "error": error,
        "created_at": _timestamp(job.created_at),
        "started_at": _timestamp(job.started_at),
        "finished_at": _timestamp(job.finished_at),
        "links": {
            "self": f"{base_path}/jobs/{job.id}",
            "images": f"{base_path}/campaigns/{job.campaign_id}/images",
        },
    }


def image_to_dict(image: ScrapedImage) -> dict[str, Any]:
    """A stored image as the API returns it."""
    return {
        "id": str(image.id),
        "campaign_id": str(image.campaign_id),
        "job_id": str(image.job_id) if image.job_id else None,
        "cdn_url": image.cdn_url,
        "thumbnail_url": image.thumbnail_url,  # a small JPEG (WebP if transparent) for galleries; null for older rows
        "storage_key": image.storage_key,
        "original_url": image.original_url,
        "width": image.width,
        "height": image.height,
        "file_size": image.file_size,
        "format": image.format,
        "quality_score": image.quality_score,
        "image_type": ImageType(image.image_type).value,
        "is_hero": image.is_hero,
        "is_product": image.is_product,
        "is_lifestyle": image.is_lifestyle,
        "alt_text": image.alt_text,
        "content_hash": image.content_hash,
        "times_used": image.times_used,
        "last_used_at": _timestamp(image.last_used_at),
        "scraped_at": _timestamp(image.scraped_at),
    }


def candidate_to_dict(image: RankedImage) -> dict[str, Any]:
    """One ranked image of a preview (nothing stored, so no ids or URLs of ours)."""
    return {
        "url": image.candidate.url,
        "width": image.info.width,
        "height": image.info.height,
        "format": image.info.format,
        "file_size": image.info.file_size,
        "quality_score": image.quality_score,
        "image_type": ImageType(image.image_type).value,
        "is_hero": image.is_hero,
        "is_product": image.is_product,
        "is_lifestyle": image.is_lifestyle,
        "alt_text": image.candidate.alt,
    }


def skip_to_dict(skip: Skip) -> dict[str, Any]:
    return {"url": skip.url, "reason": skip.reason, "detail": skip.detail}


def analysis_to_dict(url: str, result: PipelineResult) -> dict[str, Any]:
    """POST /analyze's answer: the ranked keepers best first, and why the others were dropped."""
    return {
        "url": url,
        "images_found": result.progress.images_found,
        "candidates": [candidate_to_dict(image) for image in result.kept],
        "skipped": [skip_to_dict(skip) for skip in result.skipped],
    }
