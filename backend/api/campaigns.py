"""/api/v1/campaigns/…: validate → images service → commit → serialize (objects left to the worker to remove)."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, jsonify, request

from backend import campaigns, images, object_deletes
from backend.api import API_PREFIX, db_session, services
from backend.api.declare import declare, empty, ok, problem
from backend.api.problems import query_args
from backend.api.schemas import CampaignListQuery, ImageListQuery, campaign_cursor, image_cursor
from backend.api.security import current_user_id, require_api_key
from backend.broker import enqueue_object_deletes
from backend.logging import get_logger
from backend.shapes import Campaign, CampaignList, Image, ImageList, ImageStats

logger = get_logger(__name__)

bp = Blueprint("campaigns", __name__)


NOT_FOUND = problem(404, "No such campaign or image for this key.")


def _no_content() -> Response:
    return Response(status=204)


def _origin() -> str:
    """Where this answer's /files/ paths are served: the address the client used to reach us."""
    return request.url_root


@bp.get("/campaigns")
@declare(
    "listCampaigns",
    "The caller's campaigns, newest first, with counts, name and the last job's status.",
    ok(200, CampaignList, "One page of campaigns."),
    query=CampaignListQuery,
)
@require_api_key
def list_campaigns() -> Response:
    query = query_args(CampaignListQuery)
    page = campaigns.list_campaigns(db_session(), current_user_id(), limit=query.limit, after=query.cursor)
    base = request.script_root + API_PREFIX
    listing = CampaignList(
        items=[Campaign.of(item, base_path=base) for item in page.items],
        next_cursor=campaign_cursor(page.next_key),
    )
    return jsonify(listing.model_dump(mode="json"))


@bp.get("/campaigns/<uuid:campaign_id>")
@declare("getCampaign", "One campaign of the caller's.", ok(200, Campaign, "The campaign."), NOT_FOUND)
@require_api_key
def get_campaign(campaign_id: uuid.UUID) -> Response:
    summary = campaigns.get_campaign(db_session(), current_user_id(), campaign_id)
    return jsonify(Campaign.of(summary, base_path=request.script_root + API_PREFIX).model_dump(mode="json"))


@bp.get("/campaigns/<uuid:campaign_id>/images")
@declare(
    "listImages",
    "A campaign's images in the pipeline's rank (each job's hero first, then best first), "
    "or by quality score alone with order=quality.",
    ok(200, ImageList, "One page of images."),
    NOT_FOUND,
    query=ImageListQuery,
)
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
    listing = ImageList(
        items=[Image.of(image, origin=_origin()) for image in page.items],
        next_cursor=image_cursor(page.next_key),
    )
    return jsonify(listing.model_dump(mode="json"))


@bp.get("/campaigns/<uuid:campaign_id>/images/stats")
@declare("imageStats", "Totals of a campaign's images.", ok(200, ImageStats, "The totals."), NOT_FOUND)
@require_api_key
def image_stats(campaign_id: uuid.UUID) -> Response:
    stats = images.campaign_stats(db_session(), current_user_id(), campaign_id)
    return jsonify(ImageStats.model_validate(stats, from_attributes=True).model_dump(mode="json"))


@bp.post("/campaigns/<uuid:campaign_id>/images/<uuid:image_id>/use")
@declare("useImage", "Record a use of an image.", ok(200, Image, "The image, counted."), NOT_FOUND)
@require_api_key
def use_image(campaign_id: uuid.UUID, image_id: uuid.UUID) -> Response:
    session = db_session()
    image = images.mark_used(session, current_user_id(), campaign_id, image_id)
    session.commit()
    return jsonify(Image.of(image, origin=_origin()).model_dump(mode="json"))


@bp.delete("/campaigns/<uuid:campaign_id>/images/<uuid:image_id>")
@declare("deleteImage", "Delete an image and its stored object.", empty(204, "Deleted."), NOT_FOUND)
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
@declare(
    "deleteCampaign",
    "Delete a campaign, its images and their stored objects.",
    empty(204, "Deleted."),
    NOT_FOUND,
)
@require_api_key
def delete_campaign(campaign_id: uuid.UUID) -> Response:
    session = db_session()
    keys = images.delete_campaign(session, current_user_id(), campaign_id)
    deferred = object_deletes.defer(session, keys)
    session.commit()
    enqueue_object_deletes(services().celery)
    logger.info("campaign.deleted", campaign_id=str(campaign_id), objects_deferred=deferred)
    return _no_content()
