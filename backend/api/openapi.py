"""GET /api/v1/openapi.json: an OpenAPI 3.1 description of the whole HTTP API, built from pydantic models.

Request bodies and query parameters come from the models the routes validate with
(backend.api.schemas), so the description cannot drift from what is accepted. Responses
are described by the models below, which mirror the serializers in backend.shapes field for
field; tests/backend/api/test_openapi.py checks real responses against them and a
schemathesis run exercises every operation. The document is public (it holds no user
data), like /health; every other /api/v1 route needs a Bearer key.
"""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import Any, Literal, get_type_hints

from flask import Blueprint, Response, jsonify
from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.json_schema import models_json_schema

from backend import images
from backend.api.schemas import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    AnalyzeRequest,
    JobCreate,
)
from backend.models import ImageType, JobStatus

bp = Blueprint("openapi", __name__)

REF = "#/components/schemas/{model}"
PROBLEM_MIME = "application/problem+json"
UUID_SCHEMA = {"type": "string", "format": "uuid"}


# --- response shapes (documentation models; the serializers in backend.shapes produce them) -


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Progress(_Out):
    images_found: int
    images_processed: int
    images_saved: int
    images_skipped: int
    images_failed: int


class JobError(_Out):
    code: str = Field(
        description="A stable error code: invalid_url, blocked_url, fetch_failed, http_error, …"
    )
    message: str


class JobLinks(_Out):
    self: str
    images: str


class Job(_Out):
    """A scrape job, as POST/GET /jobs return it."""

    id: uuid.UUID
    campaign_id: uuid.UUID
    sales_page_url: str
    max_images: int = Field(ge=1, le=100)
    status: JobStatus
    attempts: int = Field(ge=0)
    progress: Progress
    error: JobError | None
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    links: JobLinks


class JobList(_Out):
    items: list[Job]
    next_cursor: str | None


class Image(_Out):
    """A stored image of a campaign."""

    id: uuid.UUID
    campaign_id: uuid.UUID
    job_id: uuid.UUID | None
    cdn_url: str
    thumbnail_url: str | None
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
    last_used_at: datetime | None
    scraped_at: datetime | None


class ImageList(_Out):
    items: list[Image]
    next_cursor: str | None


class LastJob(_Out):
    id: uuid.UUID
    status: JobStatus
    created_at: datetime | None


class CampaignLinks(_Out):
    images: str
    jobs: str


class Campaign(_Out):
    """A campaign of the caller's, with its counts and its newest job."""

    id: uuid.UUID
    name: str | None
    created_at: datetime | None
    job_count: int = Field(ge=0)
    image_count: int = Field(ge=0)
    last_job: LastJob | None
    links: CampaignLinks


class CampaignList(_Out):
    items: list[Campaign]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


# The stats route serializes backend.images.ImageStats whole (dataclasses.asdict), so its
# description is built from that dataclass rather than written out a second time.
ImageStats = create_model(
    "ImageStats",
    __base__=_Out,
    **{name: (kind, ...) for name, kind in get_type_hints(images.ImageStats).items()},
)


class PreviewImage(_Out):
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


class PreviewSkip(_Out):
    url: str
    reason: str
    detail: str


class Analysis(_Out):
    """POST /analyze: the ranked images of one page (nothing stored) and why the others were dropped."""

    url: str
    images_found: int
    candidates: list[PreviewImage]
    skipped: list[PreviewSkip]


class FieldError(_Out):
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


class Health(_Out):
    status: Literal["ok", "unavailable"]
    database: str
    broker: str
    storage: str
    schema_: str = Field(
        alias="schema",
        description="ok, behind (the database is not at the code's migration head: 503), ahead, or unknown",
    )


class Live(_Out):
    status: Literal["ok"]


class WebhookSecret(_Out):
    """The caller's secret for checking the HMAC signature of job callbacks."""

    webhook_secret: str
    signature_header: str
    timestamp_header: str
    algorithm: str


# --- the document -------------------------------------------------------------------------


def _components() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [
        (JobCreate, "validation"),
        (AnalyzeRequest, "validation"),
        *(
            (model, "serialization")
            for model in (
                Job,
                JobList,
                Image,
                ImageList,
                Campaign,
                CampaignList,
                ImageStats,
                Analysis,
                Problem,
                Health,
                Live,
                WebhookSecret,
            )
        ),
    ]
    _keys, schema = models_json_schema(models, ref_template=REF)
    return schema.get("$defs", {})


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _problem(description: str, *, retry_after: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_MIME: {"schema": _ref("Problem")}},
    }
    if retry_after:
        response["headers"] = {"Retry-After": {"schema": {"type": "integer", "minimum": 0}}}
    return response


COMMON_ERRORS = {
    "401": _problem("Missing, invalid or revoked API key."),
    "429": _problem("Too many requests for this API key.", retry_after=True),
    "500": _problem("Unexpected error (never expected; reported)."),
    "503": _problem("A backing service is unavailable; retry later.", retry_after=True),
}
BODY_ERRORS = {
    "400": _problem("The body is not valid JSON."),
    "413": _problem("The body is larger than the limit."),
    "415": _problem("The body is not JSON."),
    "422": _problem("Invalid fields, one entry per field in `errors`."),
}


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": UUID_SCHEMA}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


LIMIT_PARAM = _query(
    "limit",
    {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE},
    "Page size.",
)
CURSOR_PARAM = _query("cursor", {"type": "string"}, "`next_cursor` of the previous page.")


def _operation(
    operation_id: str,
    summary: str,
    responses: dict[str, Any],
    *,
    parameters: list[dict[str, Any]] | None = None,
    body: str | None = None,
    public: bool = False,
) -> dict[str, Any]:
    errors = {**COMMON_ERRORS, **({"422": _problem("Invalid parameters.")} if parameters else {})}
    if body is not None:
        errors.update(BODY_ERRORS)
    if public:
        errors = {code: value for code, value in errors.items() if code != "401"}
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "responses": {**errors, **responses},
    }
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    if public:
        operation["security"] = []
    return operation


def _job_paths() -> dict[str, Any]:
    job_id = [_path_param("job_id")]
    not_found = {"404": _problem("No such job for this key.")}
    idempotency = {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"},
        "description": "Same key and same request from the same user: the same job (200).",
    }
    return {
        "/api/v1/jobs": {
            "post": _operation(
                "submitJob",
                "Submit a sales page to scrape.",
                {
                    "202": _json("Job", "Job created and queued."),
                    "200": _json("Job", "Idempotency-Key replay: the earlier job."),
                    "404": _problem("campaign_id belongs to another user."),
                    "409": _problem("Idempotency-Key reused for a different request."),
                    "429": _problem(
                        "Too many requests, or MAX_OUTSTANDING_JOBS of the caller's jobs queued or running.",
                        retry_after=True,
                    ),
                },
                parameters=[idempotency],
                body="JobCreate",
            ),
            "get": _operation(
                "listJobs",
                "The caller's jobs, newest first.",
                {"200": _json("JobList", "One page of jobs.")},
                parameters=[
                    _query("campaign_id", UUID_SCHEMA, "Only this campaign's jobs."),
                    _query("status", {"type": "string", "enum": [s.value for s in JobStatus]}, "Filter."),
                    LIMIT_PARAM,
                    CURSOR_PARAM,
                ],
            ),
        },
        "/api/v1/jobs/{job_id}": {
            "get": _operation(
                "getJob", "Poll a job.", {"200": _json("Job", "The job."), **not_found}, parameters=job_id
            )
        },
        "/api/v1/jobs/{job_id}/cancel": {
            "post": _operation(
                "cancelJob",
                "Cancel a queued or running job.",
                {
                    "202": _json("Job", "Cancelled."),
                    **not_found,
                    "409": _problem("The job has already finished."),
                },
                parameters=job_id,
            )
        },
    }


def _campaign_paths() -> dict[str, Any]:
    campaign = [_path_param("campaign_id")]
    image = [*campaign, _path_param("image_id")]
    not_found = {"404": _problem("No such campaign or image for this key.")}
    return {
        "/api/v1/campaigns": {
            "get": _operation(
                "listCampaigns",
                "The caller's campaigns, newest first, with counts and the last job's status.",
                {"200": _json("CampaignList", "One page of campaigns.")},
                parameters=[LIMIT_PARAM, CURSOR_PARAM],
            )
        },
        "/api/v1/campaigns/{campaign_id}": {
            "get": _operation(
                "getCampaign",
                "One campaign, with its counts and the last job's status.",
                {"200": _json("Campaign", "The campaign."), **not_found},
                parameters=campaign,
            ),
            "delete": _operation(
                "deleteCampaign",
                "Delete a campaign, its jobs, its images and their stored objects.",
                {"204": {"description": "Deleted."}, **not_found},
                parameters=campaign,
            ),
        },
        "/api/v1/campaigns/{campaign_id}/images": {
            "get": _operation(
                "listImages",
                "A campaign's images in the pipeline's rank (each job's hero first, then best first), "
                "or by quality score alone with order=quality.",
                {"200": _json("ImageList", "One page of images."), **not_found},
                parameters=[
                    *campaign,
                    _query("image_type", {"type": "string", "enum": [t.value for t in ImageType]}, "Filter."),
                    _query("min_quality", {"type": "number", "minimum": 0, "maximum": 100}, "Filter."),
                    _query(
                        "order",
                        {
                            "type": "string",
                            "enum": [o.value for o in images.ImageOrder],
                            "default": images.ImageOrder.RANK.value,
                        },
                        "rank: as the pipeline ranked them (hero first, then best first); quality: by quality "
                        "score alone. A cursor continues the order it was given in.",
                    ),
                    LIMIT_PARAM,
                    CURSOR_PARAM,
                ],
            )
        },
        "/api/v1/campaigns/{campaign_id}/images/stats": {
            "get": _operation(
                "imageStats",
                "Totals of a campaign's images.",
                {"200": _json("ImageStats", "The totals."), **not_found},
                parameters=campaign,
            )
        },
        "/api/v1/campaigns/{campaign_id}/images/{image_id}": {
            "delete": _operation(
                "deleteImage",
                "Delete an image and its stored object.",
                {"204": {"description": "Deleted."}, **not_found},
                parameters=image,
            )
        },
        "/api/v1/campaigns/{campaign_id}/images/{image_id}/use": {
            "post": _operation(
                "useImage",
                "Record a use of an image.",
                {"200": _json("Image", "The image, counted."), **not_found},
                parameters=image,
            )
        },
    }


def _other_paths() -> dict[str, Any]:
    return {
        "/api/v1/analyze": {
            "post": _operation(
                "analyze",
                "Preview the ranked images of a page, run on a worker; nothing is stored.",
                {
                    "200": _json("Analysis", "The ranking."),
                    "422": _problem(
                        "Invalid fields, or the page failed: `code` names why (as a job's error)."
                    ),
                    "503": _problem(
                        "ANALYZE_MAX_WAITING previews already wait in this API process, or a backing"
                        " service is down; retry later.",
                        retry_after=True,
                    ),
                    "504": _problem(
                        "No worker answered within ANALYZE_TIMEOUT plus a short grace; retry later.",
                        retry_after=True,
                    ),
                },
                body="AnalyzeRequest",
            )
        },
        "/api/v1/account/webhook-secret": {
            "get": _operation(
                "webhook_secret",
                "The caller's callback signing secret (created on first request).",
                {"200": _json("WebhookSecret", "The secret and how callbacks are signed.")},
            )
        },
        "/metrics": {
            "get": {
                **_operation(
                    "metrics",
                    "Prometheus metrics: Bearer METRICS_TOKEN (without one: open in development, 404 in production).",
                    {
                        "200": {
                            "description": "Prometheus text format",
                            "content": {"text/plain": {"schema": {}}},
                        },
                        "404": _problem("No METRICS_TOKEN is set in production."),
                    },
                ),
                "security": [{"metricsToken": []}],
            }
        },
        "/api/v1/openapi.json": {
            "get": _operation(
                "openapi",
                "This document.",
                {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {}}}}},
                public=True,
            )
        },
        "/health": {
            "get": _operation(
                "readiness",
                "Readiness: database, broker, storage, and the database schema at the code's head.",
                {
                    "200": _json("Health", "Ready."),
                    "503": {
                        "description": "A dependency failed.",
                        "content": {"application/json": {"schema": _ref("Health")}},
                    },
                },
                public=True,
            )
        },
        "/health/live": {
            "get": _operation(
                "liveness", "Liveness: touches nothing.", {"200": _json("Live", "Alive.")}, public=True
            )
        },
    }


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of the API (built once per process)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Product Image Scraper",
            "version": "1.0.0",
            "description": "Pulls real product photos out of sales pages. Errors are application/problem+json.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {**_job_paths(), **_campaign_paths(), **_other_paths()},
        "components": {
            "schemas": _components(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API key."},
                "metricsToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The METRICS_TOKEN setting.",
                },
            },
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> Response:
    response = jsonify(openapi_document())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
