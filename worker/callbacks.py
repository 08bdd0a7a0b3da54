"""Job callbacks: POST a finished job's JSON to its callback_url, signed with the owner's webhook secret.

The host, port, path and query are a stranger's, so a callback goes out exactly as a scrape
request does: through the pinned, proxy-free session (backend.urlguard.pinned: the socket
connects only to the addresses the SSRF guard vetted when it opened, so a DNS answer that
changes to a private address after the check cannot steer the signed body there; no
HTTP_PROXY or ~/.netrc applies), under one wall-clock deadline of CALLBACK_TIMEOUT
(backend.urlguard.deadline), without following redirects and without reading the answer's
body. A name that does not resolve at delivery time is a transient failure, retried as any
other; a blocked address or a 4xx other than RETRY_STATUSES is final.
"""

from __future__ import annotations

import enum
import json
import random
import time
import uuid
from dataclasses import dataclass

import requests

from backend.errors import BlockedUrlError, FetchFailedError, FetchTimeoutError, InvalidUrlError
from backend.logging import get_logger
from backend.models import Job
from backend.runtime import Runtime
from backend.settings import Settings
from backend.shapes import Job as JobShape
from backend.urlguard import Resolver, check_url, make_pinned_session, session_resolver
from backend.urlguard.deadline import Deadline
from backend.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, ensure_webhook_secret, sign
from worker.pipeline.fetch import CONNECT_TIMEOUT_CAP

logger = get_logger(__name__)

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
        body = json.dumps(JobShape.of(job).model_dump(mode="json"), separators=(",", ":")).encode()
        url = job.callback_url
        session.commit()
    return Payload(url=url, body=body, secret=secret)


def deliver_callback(
    runtime: Runtime, job_id: uuid.UUID, attempt: int = 1, *, resolver: Resolver | None = None
) -> Delivery:
    """One delivery attempt; raises CallbackRetryError when a later attempt may succeed.

    `resolver` answers DNS questions (the system's by default; tests inject their own).
    """
    payload = load_payload(runtime, job_id)
    if payload is None:
        return Delivery.NOT_NEEDED
    settings = runtime.settings
    with callback_session(settings, resolver) as http:
        try:
            url = check_url(
                payload.url, settings.allows_private(payload.url), resolver=session_resolver(http)
            )
            status = _post(http, settings, url, payload, attempt)
        except (InvalidUrlError, BlockedUrlError) as exc:
            logger.warning("callback.refused", attempt=attempt, reason=exc.code)
            return Delivery.REFUSED
        except (FetchFailedError, FetchTimeoutError) as exc:  # DNS, connection, deadline: try again later
            logger.warning("callback.failed", attempt=attempt, error=exc.code)
            raise CallbackRetryError(exc.code) from None
    if 200 <= status < 300:
        logger.info("callback.delivered", attempt=attempt, status=status)
        return Delivery.DELIVERED
    if status in RETRY_STATUSES or status >= 500:
        logger.warning("callback.failed", attempt=attempt, status=status)
        raise CallbackRetryError(f"receiver answered {status}")
    logger.warning("callback.rejected", attempt=attempt, status=status)
    return Delivery.REFUSED


def callback_session(settings: Settings, resolver: Resolver | None = None) -> requests.Session:
    """The pinned, proxy-free session one delivery uses (one connection, closed afterwards)."""
    return make_pinned_session(
        allow_private=settings.scraper_allow_private,
        allowed_origins=settings.allowed_origins,
        user_agent=settings.scraper_user_agent,
        pool_connections=1,
        pool_maxsize=1,
        resolver=resolver,
    )


def _post(http: requests.Session, settings: Settings, url: str, payload: Payload, attempt: int) -> int:
    """The receiver's status; the JobFailedError subclass that says why there is none."""
    timestamp = str(int(time.time()))  # signed with the body: a replayed capture is seen as old
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(payload.secret, timestamp, payload.body),
        TIMESTAMP_HEADER: timestamp,
        "X-Callback-Attempt": str(attempt),
    }
    with Deadline(settings.callback_timeout) as deadline:
        try:
            # No redirects: a 3xx could point the signed body at a private address. The answer's
            # body is never read (stream=True, then closed): only its status matters.
            response = http.post(
                url,
                data=payload.body,
                headers=headers,
                timeout=deadline.timeouts(CONNECT_TIMEOUT_CAP),
                allow_redirects=False,
                stream=True,
            )
        except requests.RequestException as exc:
            if deadline.expired():
                raise FetchTimeoutError(f"no answer within {settings.callback_timeout:g} s") from None
            raise FetchFailedError(type(exc).__name__) from None
        response.close()
        if deadline.cut_off:  # http.client ends the headers at EOF, so a cut mid-header still parses
            raise FetchTimeoutError(f"no answer within {settings.callback_timeout:g} s")
    return response.status_code
