"""/api/v1/account/webhook-secret: the caller's secret for checking job callback signatures."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from backend.api import db_session
from backend.api.declare import declare, ok
from backend.api.security import current_user_id, require_api_key
from backend.shapes import WebhookSecret
from backend.webhooks import (
    SIGNATURE_HEADER,
    SIGNATURE_TOLERANCE_SECONDS,
    TIMESTAMP_HEADER,
    ensure_webhook_secret,
)

bp = Blueprint("account", __name__)


@bp.get("/account/webhook-secret")
@declare(
    "webhook_secret",
    "The caller's callback signing secret (created on first request).",
    ok(200, WebhookSecret, "The secret and how callbacks are signed."),
)
@require_api_key
def webhook_secret() -> Response:
    """The secret (created on first request) and how callbacks are signed with it."""
    session = db_session()
    secret = ensure_webhook_secret(session, current_user_id())
    session.commit()
    answer = WebhookSecret(
        webhook_secret=secret,
        signature_header=SIGNATURE_HEADER,
        timestamp_header=TIMESTAMP_HEADER,
        algorithm=(
            f"HMAC-SHA256 of '<{TIMESTAMP_HEADER}>.<raw request body>', hex, prefixed 'sha256='; "
            f"refuse timestamps more than {SIGNATURE_TOLERANCE_SECONDS} s from now"
        ),
    )
    response = jsonify(answer.model_dump(mode="json"))
    response.headers["Cache-Control"] = "no-store"
    return response
