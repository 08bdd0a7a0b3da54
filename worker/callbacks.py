"""Job callbacks: POST a finished job's JSON to its callback_url, signed with the owner's webhook secret."""

from __future__ import annotations

import enum
import json
import logging
import random
import time
import uuid
from dataclasses import dataclass

import requests

from backend.errors import JobFailedError
from backend.models import Job
from backend.runtime import Runtime
from backend.settings import Settings
from backend.shapes import job_to_dict
from backend.urlguard import check_url
from backend.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, ensure_webhook_secret, sign

logger = logging.getLogger(__name__)

# Answers worth another try: the receiver is busy, rate-limiting, or broken for now.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class Delivery(enum.Enum):
    DELIVERED = "delivered"
    NOT_NEEDED = "not_needed"  # no callback_url, job gone, or not finished
    REFUSED = "refused"  # blocked URL or a 4xx that another try will not change


class CallbackRetryError(Exception):
    """This attempt failed in a way another attempt may fix (network error, 5xx, 429)."""


@dataclass(frozen=True)
class Payload:
    """What one attempt sends: the URL, the raw body and the owner's secret."""

    url: str
    body: bytes
    secret: str


def retry_delay(settings: Settings, attempt: int) -> float:
    """Seconds before the next attempt: exponential from CALLBACK_BACKOFF_BASE, capped, with jitter."""
    delay = min(settings.callback_backoff_max, settings.callback_backoff_base * 2 ** (attempt - 1))
    return delay * random.uniform(0.8, 1.0)  # noqa: S311 - jitter, not a secret


def load_payload(runtime: Runtime, job_id: uuid.UUID) -> Payload | None:
    """The signed-to-be body for a finished job with a callback_url; None if there is nothing to send."""
    with runtime.db.session() as session:
        job = session.get(Job, job_id)
        if job is None or not job.callback_url or not job.status.is_terminal:
            return None
        secret = ensure_webhook_secret(session, job.user_id)
        body = json.dumps(job_to_dict(job), separators=(",", ":")).encode()
        url = job.callback_url
        session.commit()
    return Payload(url=url, body=body, secret=secret)


def deliver_callback(runtime: Runtime, job_id: uuid.UUID, attempt: int = 1) -> Delivery:
    """One delivery attempt; raises CallbackRetryError when a later attempt may succeed."""
    payload = load_payload(runtime, job_id)
    if payload is None:
        return Delivery.NOT_NEEDED
    try:
        url = check_url(payload.url, allow_private=runtime.settings.scraper_allow_private)
    except JobFailedError as exc:
        logger.warning("callback.refused attempt=%d reason=%s", attempt, exc.code)
        return Delivery.REFUSED
    status = _post(runtime.settings, url, payload, attempt)
    if 200 <= status < 300:
        logger.info("callback.delivered attempt=%d status=%d", attempt, status)
        return Delivery.DELIVERED
    if status in RETRY_STATUSES or status >= 500:
        logger.warning("callback.failed attempt=%d status=%d", attempt, status)
        raise CallbackRetryError(f"receiver answered {status}")
    logger.warning("callback.rejected attempt=%d status=%d", attempt, status)
    return Delivery.REFUSED


def _post(settings: Settings, url: str, payload: Payload, attempt: int) -> int:
    timestamp = str(int(time.time()))  # signed with the body: a replayed capture is seen as old
    headers = {
        "Content-Type": "application/json",
        "User-Agent": settings.scraper_user_agent,
        SIGNATURE_HEADER: sign(payload.secret, timestamp, payload.body),
        TIMESTAMP_HEADER: timestamp,
        "X-Callback-Attempt": str(attempt),
    }
    try:
        # No redirects: a 3xx could point the signed body at a private address.
        response = requests.post(
            url, data=payload.body, headers=headers, timeout=settings.callback_timeout, allow_redirects=False
        )
    except requests.RequestException as exc:
        logger.warning("callback.failed attempt=%d error=%s", attempt, type(exc).__name__)
        raise CallbackRetryError(type(exc).__name__) from None
    response.close()
    return response.status_code
