"""/api/v1/campaigns/…: validate → images service → commit → serialize (objects left to the worker to remove)."""

from __future__ import annotations

import dataclasses
import uuid

from flask import Blueprint, Response, jsonify

from backend import images, object_deletes
from backend.api import db_session, services
from backend.api.problems import query_args
from backend.api.schemas import ImageListQuery, image_cursor
from backend.api.security import current_user_id, require_api_key
from backend.broker import enqueue_object_deletes
from backend.logging import get_logger
from backend.shapes import image_to_dict

logger = get_logger(__name__)

bp = Blueprint("campaigns", __name__)


def _no_content() -> Response:
    return Response(status=204)


@bp.get("/campaigns/<uuid:campaign_id>/images")
@require_api_key
def list_images(campaign_id: uuid.UUID) -> Response:
    query = query_args(ImageListQuery)
    page = images.list_images(
        db_session(),
        current_user_id(),
        campaign_id,
        image_type=query.image_type,
        min_quality=query.min_quality,
        limit=query.limit,
        after=query.cursor,
        order=query.order,
    )
    return jsonify(
        items=[image_to_dict(image) for image in page.items], next_cursor=image_cursor(page.next_key)
    )


@bp.get("/campaigns/<uuid:campaign_id>/images/stats")
@require_api_key
def image_stats(campaign_id: uuid.UUID) -> Response:
    stats = images.campaign_stats(db_session(), current_user_id(), campaign_id)
    return jsonify(dataclasses.asdict(stats))


@bp.post("/campaigns/<uuid:campaign_id>/images/<uuid:image_id>/use")
@require_api_key
def use_image(campaign_id: uuid.UUID, image_id: uuid.UUID) -> Response:
    session = db_session()
    image = images.mark_used(session, current_user_id(), campaign_id, image_id)
    session.commit()
    return jsonify(image_to_dict(image))


@bp.delete("/campaigns/<uuid:campaign_id>/images/<uuid:image_id>")
@require_api_key
def delete_image(campaign_id: uuid.UUID, image_id: uuid.UUID) -> Response:
    session = db_session()
    keys = images.delete_image(session, current_user_id(), campaign_id, image_id)
    object_deletes.defer(session, keys)
    session.commit()
    enqueue_object_deletes(services().celery)
    logger.info(
        "image.deleted", image_id=str(image_id), campaign_id=str(campaign_id), objects_deferred=len(keys)
    )
    return _no_content()


@bp.delete("/campaigns/<uuid:campaign_id>")
@require_api_key
def delete_campaign(campaign_id: uuid.UUID) -> Response:
    session = db_session()
    keys = images.delete_campaign(session, current_user_id(), campaign_id)
    deferred = object_deletes.defer(session, keys)
    session.commit()
    enqueue_object_deletes(services().celery)
    logger.info("campaign.deleted", campaign_id=str(campaign_id), objects_deferred=deferred)
    return _no_content()
