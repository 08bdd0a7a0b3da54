"""The response side of DESIGN.md's JSON shapes, as pydantic models that are the serializers.

Each model is built from a row or a pipeline result (`Job.of(job)`) and dumped with
`model_dump(mode="json")`; the OpenAPI document describes the same models, so what is sent
and what is described cannot drift. Framework-free: the API, the worker's callbacks and the
CLI's `--json` output all send these documents, and the worker never loads Flask.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from backend import models
from backend.models import ImageType, JobStatus

if TYPE_CHECKING:
    from backend.campaigns import CampaignSummary
    from worker.pipeline.types import PipelineResult, RankedImage, Skip

API_PREFIX = "/api/v1"


def _timestamp(value: datetime) -> str:
    # Columns hand back aware UTC (models.UTCDateTime); a datetime built by hand may carry another zone.
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


Timestamp = Annotated[
    datetime,
    PlainSerializer(_timestamp, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def absolute_url(url: str, origin: str) -> str:
    """A stored URL as clients get it: a path (local storage's /files/…) is put under `origin`."""
    return origin.rstrip("/") + url if url.startswith("/") else url


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)


class Progress(_Shape):
    images_found: int
    images_processed: int
    images_saved: int
    images_skipped: int
    images_failed: int


class JobError(_Shape):
    code: str = Field(
        description="A stable error code: invalid_url, blocked_url, fetch_failed, http_error, …"
    )
    message: str


class JobLinks(_Shape):
    self: str
    images: str


class Job(_Shape):
    """A scrape job, as POST/GET /jobs and the job callbacks send it."""

    id: uuid.UUID
    campaign_id: uuid.UUID
    sales_page_url: str
    max_images: int = Field(ge=1, le=100)
    status: JobStatus
    attempts: int = Field(ge=0)
    progress: Progress
    error: JobError | None
    created_at: Timestamp | None
    started_at: Timestamp | None
    finished_at: Timestamp | None
    links: JobLinks

    @classmethod
    def of(cls, job: models.Job, *, base_path: str = API_PREFIX) -> Job:
        """The job as sent; links are paths under `base_path`."""
        error = JobError(code=job.error_code, message=job.error_message or "") if job.error_code else None
        return cls(
            id=job.id,
            campaign_id=job.campaign_id,
            sales_page_url=job.sales_page_url,
            max_images=job.max_images,
            status=JobStatus(job.status),
            attempts=job.attempts,
            progress=Progress(
                images_found=job.images_found,
                images_processed=job.images_processed,
                images_saved=job.images_saved,
                images_skipped=job.images_skipped,
                images_failed=job.images_failed,
            ),
            error=error,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            links=JobLinks(
                self=f"{base_path}/jobs/{job.id}",
                images=f"{base_path}/campaigns/{job.campaign_id}/images",
            ),
        )


class JobList(_Shape):
    items: list[Job]
    next_cursor: str | None


class Image(_Shape):
    """A stored image of a campaign."""

    id: uuid.UUID
    campaign_id: uuid.UUID
    job_id: uuid.UUID | None
    cdn_url: str
    thumbnail_url: str | None = Field(
        description="A small JPEG (WebP if transparent) for galleries; null for older rows."
    )
    storage_key: str
    original_url: str
    width: int
    height: int
    file_size: int
    format: str
    quality_score: float = Field(ge=0, le=100)
    image_type: ImageType
    is_hero: bool
    is_product: bool
    is_lifestyle: bool
    alt_text: str | None
    content_hash: str
    times_used: int = Field(ge=0)
    last_used_at: Timestamp | None
    scraped_at: Timestamp | None

    @classmethod
    def of(cls, image: models.ScrapedImage, *, origin: str = "") -> Image:
        """The image as sent; `origin` is where this answer's /files/ paths live."""
        thumbnail = image.thumbnail_url
        return cls(
            id=image.id,
            campaign_id=image.campaign_id,
            job_id=image.job_id,
            cdn_url=absolute_url(image.cdn_url, origin),
            thumbnail_url=None if thumbnail is None else absolute_url(thumbnail, origin),
            storage_key=image.storage_key,
            original_url=image.original_url,
            width=image.width,
            height=image.height,
            file_size=image.file_size,
            format=image.format,
            quality_score=image.quality_score,
            image_type=ImageType(image.image_type),
            is_hero=image.is_hero,
            is_product=image.is_product,
            is_lifestyle=image.is_lifestyle,
            alt_text=image.alt_text,
            content_hash=image.content_hash,
            times_used=image.times_used,
            last_used_at=image.last_used_at,
            scraped_at=image.scraped_at,
        )


class ImageList(_Shape):
    items: list[Image]
    next_cursor: str | None


class ImageStats(_Shape):
    """A campaign's totals (backend.images.ImageStats, field for field)."""

    total_count: int
    hero_count: int
    product_count: int
    lifestyle_count: int
    avg_quality: float | None
    max_quality: float | None
    total_bytes: int


class LastJob(_Shape):
    id: uuid.UUID
    status: JobStatus
    created_at: Timestamp | None


class CampaignLinks(_Shape):
    images: str
    jobs: str


class Campaign(_Shape):
    """A campaign as GET /campaigns lists it: name, counts, and its newest job's status."""

    id: uuid.UUID
    name: str | None
    created_at: Timestamp | None
    job_count: int = Field(ge=0)
    image_count: int = Field(ge=0)
    last_job: LastJob | None
    links: CampaignLinks

    @classmethod
    def of(cls, summary: CampaignSummary, *, base_path: str = API_PREFIX) -> Campaign:
        campaign = summary.campaign
        last_job = None
        if summary.last_job_id is not None and summary.last_job_status is not None:
            last_job = LastJob(
                id=summary.last_job_id, status=summary.last_job_status, created_at=summary.last_job_at
            )
        return cls(
            id=campaign.id,
            name=campaign.name,
            created_at=campaign.created_at,
            job_count=summary.job_count,
            image_count=summary.image_count,
            last_job=last_job,
            links=CampaignLinks(
                images=f"{base_path}/campaigns/{campaign.id}/images",
                jobs=f"{base_path}/jobs?campaign_id={campaign.id}",
            ),
        )


class CampaignList(_Shape):
    items: list[Campaign]
    next_cursor: str | None


class PreviewImage(_Shape):
    """One ranked image of a preview (nothing stored, so no ids or URLs of ours)."""

    url: str
    width: int
    height: int
    format: str
    file_size: int
    quality_score: float
    image_type: ImageType
    is_hero: bool
    is_product: bool
    is_lifestyle: bool
    alt_text: str | None

    @classmethod
    def of(cls, image: RankedImage) -> PreviewImage:
        return cls(
            url=image.candidate.url,
            width=image.info.width,
            height=image.info.height,
            format=image.info.format,
            file_size=image.info.file_size,
            quality_score=image.quality_score,
            image_type=ImageType(image.image_type),
            is_hero=image.is_hero,
            is_product=image.is_product,
            is_lifestyle=image.is_lifestyle,
            alt_text=image.candidate.alt,
        )


class PreviewSkip(_Shape):
    url: str
    reason: str
    detail: str

    @classmethod
    def of(cls, skip: Skip) -> PreviewSkip:
        return cls(url=skip.url, reason=skip.reason, detail=skip.detail)


class Analysis(_Shape):
    """POST /analyze: the ranked images of one page (nothing stored) and why the others were dropped."""

    url: str
    images_found: int
    candidates: list[PreviewImage]
    skipped: list[PreviewSkip]

    @classmethod
    def of(cls, url: str, result: PipelineResult) -> Analysis:
        return cls(
            url=url,
            images_found=result.progress.images_found,
            candidates=[PreviewImage.of(image) for image in result.kept],
            skipped=[PreviewSkip.of(skip) for skip in result.skipped],
        )


class FieldError(_Shape):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details; `errors` on validation failures, `code` when a URL cannot be processed."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    errors: list[FieldError] | None = None
    code: str | None = None


class Health(_Shape):
    status: Literal["ok", "unavailable"]
    database: str
    broker: str
    storage: str
    # `schema` would shadow BaseModel.schema; the JSON name is the alias (serialize_by_alias).
    schema_: str = Field(
        alias="schema",
        description="ok, behind (the database is not at the code's migration head: 503), ahead, or unknown",
    )


class Live(_Shape):
    status: Literal["ok"]


class WebhookSecret(_Shape):
    """The caller's secret for checking the HMAC signature of job callbacks."""

    webhook_secret: str
    signature_header: str
    timestamp_header: str
    algorithm: str
