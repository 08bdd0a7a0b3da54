"""The request side of DESIGN.md's JSON shapes: pydantic models for bodies, query strings and cursors.

The response side is backend.shapes (pydantic models too), which the worker's callbacks and
the CLI share without loading Flask. Routes name these models in their @declare, from which
the OpenAPI document is generated.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
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
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from backend.api.declare import Header
from backend.campaigns import CampaignKey
from backend.images import ImageKey, ImageOrder
from backend.jobs import JobKey
from backend.models import CAMPAIGN_NAME_LENGTH, ImageType, JobStatus

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


def _printable(value: str) -> str:
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError("must not contain control characters")
    return value


CampaignName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=CAMPAIGN_NAME_LENGTH),
    AfterValidator(_printable),
]


class JobCreate(_Body):
    """POST /jobs: the page to scrape, for which campaign (and its name), and how many images to keep."""

    sales_page_url: HttpUrl
    campaign_id: uuid.UUID | None = None
    campaign_name: CampaignName | None = Field(
        default=None, description="Names the campaign: a new one, or the one campaign_id gives (renamed)."
    )
    max_images: MaxImages = 10
    callback_url: HttpUrl | None = None


class AnalyzeRequest(_Body):
    """POST /analyze: the page to preview (`max_images` caps the ranked list, as for jobs)."""

    url: HttpUrl
    max_images: MaxImages = 10


# The Idempotency-Key rule, once: the route validates with it and the document shows its schema.
IDEMPOTENCY_KEY_MAX_LENGTH = 255
IDEMPOTENCY_KEY = Header(
    "Idempotency-Key",
    TypeAdapter(
        Annotated[
            str,
            StringConstraints(min_length=1, max_length=IDEMPOTENCY_KEY_MAX_LENGTH, pattern=r"^[\x20-\x7e]+$"),
        ]
    ),
    "Same key and same request from the same user: the same job (200).",
)
IDEMPOTENCY_KEY_RULE = f"must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters"


# --- cursors: opaque to clients, a typed keyset position to the services ---------------------


def encode_cursor(kind: str, *values: object) -> str:
    raw = json.dumps([kind, *values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Our cursors are a few dozen characters; anything much longer was not made by us.
MAX_CURSOR_LENGTH = 512


def _cursor_values(value: str) -> list[Any]:
    """The JSON list a cursor encodes; ValueError for anything we did not make."""
    if len(value) > MAX_CURSOR_LENGTH:
        raise ValueError("is not a valid cursor")
    try:
        data = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (binascii.Error, ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise ValueError("is not a valid cursor") from None
    if not (isinstance(data, list) and data):
        raise ValueError("is not a valid cursor for this listing")
    return data


def _decode_cursor(kind: str, value: str, size: int) -> list[Any]:
    data = _cursor_values(value)
    if not (len(data) == size + 1 and data[0] == kind):
        raise ValueError("is not a valid cursor for this listing")
    return data[1:]


def _job_key(value: object) -> JobKey | None:
    if value is None or isinstance(value, JobKey):
        return value
    try:
        created_at, job_id = _decode_cursor("jobs", str(value), 2)
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:  # ours always carry their zone; a naive one was not made here
            raise ValueError("naive timestamp")
        return JobKey(moment, uuid.UUID(job_id))
    except (TypeError, ValueError):
        raise ValueError("is not a valid cursor for this listing") from None


RANKED_IMAGES = "images-rank"  # the cursor kind of the rank order; "images" is the quality order's


def _image_key(value: object) -> ImageKey | None:
    if value is None or isinstance(value, ImageKey):
        return value
    try:
        text = str(value)
        if _cursor_values(text)[0] == RANKED_IMAGES:
            rank, score, image_id = _decode_cursor(RANKED_IMAGES, text, 3)
            if not isinstance(rank, int) or isinstance(rank, bool):
                raise ValueError("rank")
            return ImageKey(float(score), uuid.UUID(image_id), rank)
        score, image_id = _decode_cursor("images", text, 2)
        return ImageKey(float(score), uuid.UUID(image_id))
    except (TypeError, ValueError):
        raise ValueError("is not a valid cursor for this listing") from None


def _campaign_key(value: object) -> CampaignKey | None:
    if value is None or isinstance(value, CampaignKey):
        return value
    try:
        created_at, campaign_id = _decode_cursor("campaigns", str(value), 2)
        return CampaignKey(datetime.fromisoformat(created_at), uuid.UUID(campaign_id))
    except (TypeError, ValueError):
        raise ValueError("is not a valid cursor for this listing") from None


def campaign_cursor(key: CampaignKey | None) -> str | None:
    return None if key is None else encode_cursor("campaigns", key.created_at.isoformat(), str(key.id))


def job_cursor(key: JobKey | None) -> str | None:
    return None if key is None else encode_cursor("jobs", key.created_at.isoformat(), str(key.id))


def image_cursor(key: ImageKey | None) -> str | None:
    if key is None:
        return None
    if key.rank is not None:
        return encode_cursor(RANKED_IMAGES, key.rank, key.quality_score, str(key.id))
    return encode_cursor("images", key.quality_score, str(key.id))


# Clients see a cursor as an opaque string; the services get the typed key it decodes to.
CURSOR_SCHEMA = WithJsonSchema({"type": "string"})
CURSOR_DESCRIPTION = "`next_cursor` of the previous page."


class _Query(BaseModel):
    # Unknown query parameters are ignored, as caches and proxies add their own.
    model_config = ConfigDict(extra="ignore", frozen=True)

    limit: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Page size.")

    @model_validator(mode="before")
    @classmethod
    def _blank_means_absent(cls, data: Any) -> Any:
        # `?campaign_id=&status=` is what URL templates produce for "no filter".
        if isinstance(data, dict):
            return {name: value for name, value in data.items() if value != ""}
        return data


class JobListQuery(_Query):
    """GET /jobs: filters, page size, and where the previous page ended."""

    campaign_id: uuid.UUID | None = Field(default=None, description="Only this campaign's jobs.")
    status: JobStatus | None = Field(default=None, description="Filter.")
    cursor: Annotated[JobKey | None, BeforeValidator(_job_key), CURSOR_SCHEMA] = Field(
        default=None, description=CURSOR_DESCRIPTION
    )


class CampaignListQuery(_Query):
    """GET /campaigns: page size, and where the previous page ended."""

    cursor: Annotated[CampaignKey | None, BeforeValidator(_campaign_key), CURSOR_SCHEMA] = Field(
        default=None, description=CURSOR_DESCRIPTION
    )


class ImageListQuery(_Query):
    """GET /campaigns/{id}/images: filters, page size, and where the previous page ended."""

    image_type: ImageType | None = Field(default=None, description="Filter.")
    min_quality: float | None = Field(default=None, ge=0, le=100, description="Filter.")
    order: ImageOrder = Field(
        default=ImageOrder.RANK,
        description="rank: as the pipeline ranked them (hero first, then best first); quality: by quality "
        "score alone. A cursor continues the order it was given in.",
    )
    cursor: Annotated[ImageKey | None, BeforeValidator(_image_key), CURSOR_SCHEMA] = Field(
        default=None, description=CURSOR_DESCRIPTION
    )

    @field_validator("cursor")
    @classmethod
    def _cursor_of_this_order(cls, cursor: ImageKey | None, info: ValidationInfo) -> ImageKey | None:
        # A cursor carries its order's keys: one from the other order would skip or repeat images.
        order = info.data.get("order", ImageOrder.RANK)
        if cursor is not None and (cursor.rank is not None) != (order == ImageOrder.RANK):
            raise ValueError("is not a valid cursor for this order")
        return cursor
