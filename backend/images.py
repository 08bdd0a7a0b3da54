"""Image service: ranked listing, stats, mark used, delete an image or a whole campaign with its objects.

Functions take a Session and the caller's user id and never commit. Deletes return
the storage keys they freed (each image's original and its thumbnail); the caller
records them in the same transaction (`backend.object_deletes.defer`) and the worker
removes the objects no remaining row points at. Row first, object second: never a row
pointing at nothing, and no storage call inside the request.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, UnaryExpression, and_, case, delete, func, inspect, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from backend.errors import NotFoundError
from backend.models import Campaign, ImageType, Job, ScrapedImage, utcnow

# Bound the IN (...) list of the "still referenced?" query.
KEY_BATCH = 500


class ImageOrder(StrEnum):
    """How a campaign's images are listed: the pipeline's rank (hero first, then best first), or quality alone."""

    RANK = "rank"
    QUALITY = "quality"


@dataclass(frozen=True)
class ImageKey:
    """A position in an image listing (the keyset cursor's content); `rank` is set in rank order only."""

    quality_score: float
    id: uuid.UUID
    rank: int | None = None


@dataclass(frozen=True)
class ImagePage:
    items: list[ScrapedImage]
    next_key: ImageKey | None


@dataclass(frozen=True)
class ImageStats:
    """A campaign's totals; the type counts follow image_type, one type per image, so they add up to the total."""

    total_count: int
    hero_count: int
    product_count: int
    lifestyle_count: int
    avg_quality: float | None
    max_quality: float | None
    total_bytes: int


def own_campaign(session: Session, user_id: uuid.UUID, campaign_id: uuid.UUID) -> Campaign:
    """The caller's campaign; NotFoundError if it is unknown or someone else's."""
    campaign = session.scalar(select(Campaign).where(Campaign.id == campaign_id, Campaign.user_id == user_id))
    if campaign is None:
        raise NotFoundError("No campaign with this id.")
    return campaign


def _own_image(
    session: Session, user_id: uuid.UUID, campaign_id: uuid.UUID, image_id: uuid.UUID
) -> ScrapedImage:
    own_campaign(session, user_id, campaign_id)
    image = session.scalar(
        select(ScrapedImage)
        .where(ScrapedImage.id == image_id, ScrapedImage.campaign_id == campaign_id)
        .execution_options(populate_existing=True)
    )
    if image is None:
        raise NotFoundError("No image with this id in this campaign.")
    return image


def list_images(
    session: Session,
    user_id: uuid.UUID,
    campaign_id: uuid.UUID,
    *,
    image_type: ImageType | None = None,
    min_quality: float | None = None,
    limit: int = 20,
    after: ImageKey | None = None,
    order: ImageOrder = ImageOrder.RANK,
) -> ImagePage:
    """The campaign's images, one page after `after`.

    In rank order (the default): each job's ranking as the pipeline made it, the heroes first
    (pipeline_rank, then quality desc, then id); in quality order: quality desc, then id.
    """
    own_campaign(session, user_id, campaign_id)
    query = select(ScrapedImage).where(ScrapedImage.campaign_id == campaign_id)
    if image_type is not None:
        query = query.where(ScrapedImage.image_type == image_type)
    if min_quality is not None:
        query = query.where(ScrapedImage.quality_score >= min_quality)
    by_rank = order == ImageOrder.RANK
    if after is not None:
        query = query.where(_after(after, by_rank=by_rank))
    columns: tuple[UnaryExpression[Any], ...] = (ScrapedImage.quality_score.desc(), ScrapedImage.id.asc())
    if by_rank:
        columns = (ScrapedImage.pipeline_rank.asc(), *columns)
    rows = list(session.scalars(query.order_by(*columns).limit(limit + 1)))
    items = rows[:limit]
    next_key = None
    if len(rows) > limit:
        last = items[-1]
        next_key = ImageKey(last.quality_score, last.id, last.pipeline_rank if by_rank else None)
    return ImagePage(items=items, next_key=next_key)


def _after(key: ImageKey, *, by_rank: bool) -> ColumnElement[bool]:
    """Rows after `key` in the listing's order (the keyset condition)."""
    by_quality = or_(
        ScrapedImage.quality_score < key.quality_score,
        and_(ScrapedImage.quality_score == key.quality_score, ScrapedImage.id > key.id),
    )
    if not by_rank:
        return by_quality
    rank = key.rank or 0
    return or_(ScrapedImage.pipeline_rank > rank, and_(ScrapedImage.pipeline_rank == rank, by_quality))


def _count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def campaign_stats(session: Session, user_id: uuid.UUID, campaign_id: uuid.UUID) -> ImageStats:
    """Counts, quality and bytes over the campaign's images, in one query."""
    own_campaign(session, user_id, campaign_id)
    row = session.execute(
        select(
            func.count(ScrapedImage.id),
            _count_where(ScrapedImage.image_type == ImageType.HERO),
            _count_where(ScrapedImage.image_type == ImageType.PRODUCT),
            _count_where(ScrapedImage.image_type == ImageType.LIFESTYLE),
            func.avg(ScrapedImage.quality_score),
            func.max(ScrapedImage.quality_score),
            func.coalesce(func.sum(ScrapedImage.file_size), 0),
        ).where(ScrapedImage.campaign_id == campaign_id)
    ).one()
    total, hero, product, lifestyle, avg, best, size = row
    return ImageStats(
        total_count=int(total),
        hero_count=int(hero),
        product_count=int(product),
        lifestyle_count=int(lifestyle),
        avg_quality=None if avg is None else round(float(avg), 2),
        max_quality=None if best is None else float(best),
        total_bytes=int(size),
    )


def mark_used(
    session: Session, user_id: uuid.UUID, campaign_id: uuid.UUID, image_id: uuid.UUID
) -> ScrapedImage:
    """times_used += 1 in SQL (concurrent uses all count) and last_used_at = now."""
    own_campaign(session, user_id, campaign_id)
    result = session.execute(
        update(ScrapedImage)
        .where(ScrapedImage.id == image_id, ScrapedImage.campaign_id == campaign_id)
        .values(times_used=ScrapedImage.times_used + 1, last_used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]  # execute() of an UPDATE/DELETE is a CursorResult
        raise NotFoundError("No image with this id in this campaign.")
    return _own_image(session, user_id, campaign_id, image_id)


def delete_image(
    session: Session, user_id: uuid.UUID, campaign_id: uuid.UUID, image_id: uuid.UUID
) -> list[str]:
    """Delete the image row; return its object keys (original, thumbnail) for `object_deletes.defer`."""
    image = _own_image(session, user_id, campaign_id, image_id)
    session.execute(delete(ScrapedImage).where(ScrapedImage.id == image.id))
    return [key for key in (image.storage_key, image.thumbnail_key) if key]


def delete_campaign(session: Session, user_id: uuid.UUID, campaign_id: uuid.UUID) -> list[str]:
    """Delete the campaign, its jobs and its images; return the object keys they held (thumbnails too)."""
    own_campaign(session, user_id, campaign_id)
    rows = session.execute(
        select(ScrapedImage.storage_key, ScrapedImage.thumbnail_key).where(
            ScrapedImage.campaign_id == campaign_id
        )
    )
    keys = [key for row in rows for key in row if key]
    # Explicit, children first, rather than trusting every backend's ON DELETE CASCADE.
    session.execute(delete(ScrapedImage).where(ScrapedImage.campaign_id == campaign_id))
    session.execute(delete(Job).where(Job.campaign_id == campaign_id, Job.user_id == user_id))
    session.execute(delete(Campaign).where(Campaign.id == campaign_id, Campaign.user_id == user_id))
    return keys


KEY_COLUMNS = (ScrapedImage.storage_key, ScrapedImage.thumbnail_key)


def referenced_keys(
    session: Session, keys: Sequence[str], columns: Sequence[InstrumentedAttribute[Any]] = KEY_COLUMNS
) -> set[str]:
    """The subset of object keys some image row still points at, as its original or its thumbnail."""
    found: set[str] = set()
    for start in range(0, len(keys), KEY_BATCH):
        batch = list(keys[start : start + KEY_BATCH])
        for column in columns:
            found.update(session.scalars(select(column).where(column.in_(batch))))
    return found


def referenced_keys_in_any_schema(session: Session, keys: Sequence[str]) -> set[str]:
    """referenced_keys on a database whose schema may not be the models' (behind): the key columns it has.

    A column (or table) the database lacks holds no reference, so asking only the others is
    exact; the cleanup after a job that failed on a schema error can then still run.
    """
    table = ScrapedImage.__tablename__
    inspector = inspect(session.connection())
    if not inspector.has_table(table):
        return set()
    present = {column["name"] for column in inspector.get_columns(table)}
    return referenced_keys(session, keys, [column for column in KEY_COLUMNS if column.key in present])
