"""The response models send exactly the JSON of DESIGN.md: field names, UTC "Z" times, links, enums."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

from backend import shapes
from backend.models import ImageType, Job, JobStatus, ScrapedImage

JOB_ID = uuid.UUID("11111111-1111-4111-8111-111111111111")
CAMPAIGN_ID = uuid.UUID("22222222-2222-4222-8222-222222222222")


def _job() -> Job:
    return Job(
        id=JOB_ID,
        campaign_id=CAMPAIGN_ID,
        sales_page_url="https://shop.example.test/p/1",
        max_images=10,
        status=JobStatus.FAILED,
        attempts=2,
        images_found=7,
        images_processed=5,
        images_saved=3,
        images_skipped=1,
        images_failed=1,
        error_code="http_error",
        error_message=None,
        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        started_at=datetime(2026, 1, 2, 4, 4, 5, 123456, tzinfo=timezone(timedelta(hours=1))),
        finished_at=None,
    )


def test_job_serializes_to_the_documented_json():
    """Every field, the error object, times in UTC with a Z, and links under the given base path."""
    assert shapes.Job.of(_job(), base_path="/app/api/v1").model_dump(mode="json") == {
        "id": str(JOB_ID),
        "campaign_id": str(CAMPAIGN_ID),
        "sales_page_url": "https://shop.example.test/p/1",
        "max_images": 10,
        "status": "failed",
        "attempts": 2,
        "progress": {
            "images_found": 7,
            "images_processed": 5,
            "images_saved": 3,
            "images_skipped": 1,
            "images_failed": 1,
        },
        "error": {"code": "http_error", "message": ""},
        "created_at": "2026-01-02T03:04:05Z",
        "started_at": "2026-01-02T03:04:05.123456Z",
        "finished_at": None,
        "links": {
            "self": f"/app/api/v1/jobs/{JOB_ID}",
            "images": f"/app/api/v1/campaigns/{CAMPAIGN_ID}/images",
        },
    }


def test_job_without_error_and_callback_body_bytes():
    """No error code: `error` is null; the callback body is compact JSON of the same document."""
    job = _job()
    job.error_code = None
    document = shapes.Job.of(job).model_dump(mode="json")
    assert document["error"] is None
    assert document["links"]["self"] == f"/api/v1/jobs/{JOB_ID}"
    assert json.loads(json.dumps(document, separators=(",", ":"))) == document


def test_image_serializes_to_the_documented_json():
    image_id = uuid.uuid4()
    image = ScrapedImage(
        id=image_id,
        campaign_id=CAMPAIGN_ID,
        job_id=None,
        cdn_url="https://cdn.example.test/a.jpg",
        thumbnail_url=None,
        storage_key="campaigns/x/a.jpg",
        original_url="https://shop.example.test/a.jpg",
        width=1200,
        height=900,
        file_size=1000,
        format="JPEG",
        quality_score=87.5,
        image_type=ImageType.HERO,
        is_hero=True,
        is_product=True,
        is_lifestyle=False,
        alt_text=None,
        content_hash="ab" * 32,
        times_used=0,
        last_used_at=None,
        scraped_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    document = shapes.Image.of(image).model_dump(mode="json")
    assert list(document) == list(shapes.Image.model_fields)
    assert document["id"] == str(image_id)
    assert document["job_id"] is None
    assert document["image_type"] == "hero"
    assert document["quality_score"] == 87.5
    assert document["scraped_at"] == "2026-01-02T03:04:05Z"
