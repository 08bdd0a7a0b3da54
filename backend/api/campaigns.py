"""/api/v1/campaigns/…: validate → images service → commit → serialize (objects left to the worker to remove)."""

from __future__ import annotations

import dataclasses
import uuid

from flask import Blueprint, Response, jsonify, request

from backend import campaigns, images, object_deletes
from backend.api import API_PREFIX, db_session, services
from backend.api.problems import query_args
from backend.api.schemas import CampaignListQuery, ImageListQuery, campaign_cursor, image_cursor
from backend.api.security import current_user_id, require_api_key
from backend.broker import enqueue_object_deletes
from backend.logging import get_logger
from backend.shapes import campaign_to_dict, image_to_dict

logger = get_logger(__name__)

bp = Blueprint("campaigns", __name__)


def _no_content() -> Response:
    return Response(status=204)


def _origin() -> str:
    """Where this answer's /files/ paths are served: the address the client used to reach us."""
    return request.url_root


@bp.get("/campaigns")
@require_api_key
def list_campaigns() -> Response:
    query = query_args(CampaignListQuery)
    page = campaigns.list_campaigns(db_session(), current_user_id(), limit=query.limit, after=query.cursor)
    base = request.script_root + API_PREFIX
    return jsonify(
        items=[campaign_to_dict(item, base_path=base) for item in page.items],
        next_cursor=campaign_cursor(page.next_key),
    )


@bp.get("/campaigns/<uuid:campaign_id>")
@require_api_key
def get_campaign(campaign_id: uuid.UUID) -> Response:
    summary = campaigns.get_campaign(db_session(), current_user_id(), campaign_id)
    return jsonify(campaign_to_dict(summary, base_path=request.script_root + API_PREFIX))


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
        items=[image_to_dict(image, origin=_origin()) for image in page.items],
        next_cursor=image_cursor(page.next_key),
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
    return jsonify(image_to_dict(image, origin=_origin()))


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
