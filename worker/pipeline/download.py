"""Download one candidate image with a byte cap, timeouts and re-checked redirects; failures become ImageRejectedError.

Reasons raised (all `failed=True` except `svg`, which is a deliberate skip):
`invalid_url`, `blocked_url`, `download_failed` (connection, DNS, too many redirects),
`http_error` (4xx/5xx, detail names the status), `timeout`, `too_large` (more than
MAX_IMAGE_BYTES), `not_image` (the server sent HTML/JSON/text), `svg`.
"""

from __future__ import annotations

import requests

from backend.errors import ImageRejectedError, JobFailedError
from backend.settings import Settings
from worker.pipeline.fetch import Deadline, open_response, parse_content_type, read_limited
from worker.pipeline.http import session_resolver
from worker.pipeline.types import Candidate
from worker.pipeline.urls import check_url

IMAGE_ACCEPT = "image/avif,image/webp,image/png,image/jpeg,image/gif,image/*;q=0.8,*/*;q=0.5"
NOT_IMAGE_TYPES = frozenset({"text/html", "application/xhtml+xml", "application/json", "text/plain"})
SVG_TYPES = frozenset({"image/svg+xml"})
REASON_BY_CODE = {
    "invalid_url": "invalid_url",
    "blocked_url": "blocked_url",
    "fetch_failed": "download_failed",
    "http_error": "http_error",
    "timeout": "timeout",
    "page_too_large": "too_large",
}


def download_image(candidate: Candidate, settings: Settings, http: requests.Session, referer: str) -> bytes:
    """The image's bytes exactly as served; ImageRejectedError(reason, detail, failed=True) on any failure."""
    try:
        return _download(candidate.url, settings, http, referer)
    except JobFailedError as exc:
        reason = REASON_BY_CODE.get(exc.code, "download_failed")
        raise ImageRejectedError(reason, exc.message, failed=True) from None


def _download(url: str, settings: Settings, http: requests.Session, referer: str) -> bytes:
    url = check_url(url, settings.scraper_allow_private, resolver=session_resolver(http))
    deadline = Deadline(settings.scraper_timeout)
    response = open_response(http, url, settings, headers=image_headers(referer), deadline=deadline)
    if response.status_code == 403 and referer:
        # Some hotlink guards refuse any Referer they do not expect; browsers opening the
        # image directly send none, so that is worth one more try.
        response.close()
        response = open_response(http, url, settings, headers=image_headers(None), deadline=deadline)
    try:
        _require_image_response(response)
    except ImageRejectedError:
        response.close()
        raise
    return read_limited(response, settings.max_image_bytes, deadline)


def image_headers(referer: str | None) -> dict[str, str]:
    headers = {"Accept": IMAGE_ACCEPT}
    if referer:
        headers["Referer"] = referer
    return headers


def _require_image_response(response: requests.Response) -> None:
    if response.status_code >= 400:
        raise ImageRejectedError("http_error", f"HTTP {response.status_code}", failed=True)
    media_type, _charset = parse_content_type(response.headers.get("Content-Type", ""))
    if media_type in SVG_TYPES:
        raise ImageRejectedError("svg", "vector images are not kept", failed=False)
    if media_type in NOT_IMAGE_TYPES:
        raise ImageRejectedError("not_image", f"the server sent {media_type}", failed=True)
