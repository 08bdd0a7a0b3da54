"""The response side of DESIGN.md's JSON shapes: jobs, images, previews and analyses as plain dicts.

Framework-free, so the API, the worker's callbacks and the CLI's `--json` output all send
exactly the same documents, and the worker never loads Flask to sign a callback.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from backend.models import ImageType, Job, JobStatus, ScrapedImage

if TYPE_CHECKING:
    from backend.campaigns import CampaignSummary
    from worker.pipeline.types import PipelineResult, RankedImage, Skip

API_PREFIX = "/api/v1"


def _timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    # Columns hand back aware UTC (models.UTCDateTime); a datetime built by hand may carry another zone.
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


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


def absolute_url(url: str, origin: str) -> str:
    """A stored URL as clients get it: a path (local storage's /files/…) is put under `origin`."""
    return origin.rstrip("/") + url if url.startswith("/") else url


def image_to_dict(image: ScrapedImage, *, origin: str = "") -> dict[str, Any]:
    """A stored image as the API returns it; `origin` is where this answer's /files/ paths live."""
    thumbnail = image.thumbnail_url
    return {
        "id": str(image.id),
        "campaign_id": str(image.campaign_id),
        "job_id": str(image.job_id) if image.job_id else None,
        "cdn_url": absolute_url(image.cdn_url, origin),
        # A small JPEG (WebP if transparent) for galleries; null for older rows.
        "thumbnail_url": None if thumbnail is None else absolute_url(thumbnail, origin),
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


def campaign_to_dict(summary: CampaignSummary, *, base_path: str = API_PREFIX) -> dict[str, Any]:
    """A campaign as GET /campaigns lists it: name, counts, and its newest job's status."""
    campaign = summary.campaign
    last_job = None
    if summary.last_job_id is not None and summary.last_job_status is not None:
        last_job = {
            "id": str(summary.last_job_id),
            "status": summary.last_job_status.value,
            "created_at": _timestamp(summary.last_job_at),
        }
    return {
        "id": str(campaign.id),
        "name": campaign.name,
        "created_at": _timestamp(campaign.created_at),
        "job_count": summary.job_count,
        "image_count": summary.image_count,
        "last_job": last_job,
        "links": {
            "images": f"{base_path}/campaigns/{campaign.id}/images",
            "jobs": f"{base_path}/jobs?campaign_id={campaign.id}",
        },
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
