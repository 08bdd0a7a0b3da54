"""Download one candidate image with a byte cap, timeouts and re-checked redirects; failures become ImageRejectedError.

What the bytes are is decided by the bytes, never by Content-Type: a JPEG labelled text/html
is a JPEG, and an HTML error page labelled image/jpeg is not an image. The body is streamed
under MAX_IMAGE_BYTES (a larger Content-Length is refused before reading) and the total
deadline; only then is it sniffed.

Reasons raised (all `failed=True` except `svg`, which is a deliberate skip):
`invalid_url`, `blocked_url`, `download_failed` (connection, DNS, too many redirects),
`http_error` (4xx/5xx, detail names the status), `timeout`, `too_large` (more than
MAX_IMAGE_BYTES), `empty` (zero bytes), `not_image` (the bytes are HTML/JSON/text), `svg`
(the bytes are SVG: never parsed, so its external references are never fetched).
"""

from __future__ import annotations

import requests

from backend.errors import ImageRejectedError, JobFailedError
from backend.settings import Settings
from backend.urlguard import check_url, session_resolver
from backend.urlguard.deadline import Deadline
from worker.pipeline.fetch import open_response, parse_content_type, read_limited
from worker.pipeline.measure import is_webp
from worker.pipeline.types import Candidate

IMAGE_ACCEPT = "image/avif,image/webp,image/png,image/jpeg,image/gif,image/*;q=0.8,*/*;q=0.5"
SNIFF_BYTES = 1024
# JPEG, PNG, GIF, BMP, ICO/CUR, TIFF (both byte orders), JPEG XL (codestream and container).
IMAGE_MAGIC = (
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"\x00\x00\x01\x00",
    b"\x00\x00\x02\x00",
    b"II*\x00",
    b"MM\x00*",
    b"\xff\x0a",
    b"\x00\x00\x00\x0cJXL ",
)
ISO_BMFF_BRANDS = frozenset({b"ftypavif", b"ftypavis", b"ftypheic", b"ftypheix", b"ftypmif1"})
TEXT_BYTES = frozenset(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D}
REASON_BY_CODE = {
    "invalid_url": "invalid_url",
    "blocked_url": "blocked_url",
    "fetch_failed": "download_failed",
    "http_error": "http_error",
    "timeout": "timeout",
    "page_too_large": "too_large",
}


def download_image(
    candidate: Candidate,
    settings: Settings,
    http: requests.Session,
    referer: str,
    *,
    within: Deadline | None = None,
) -> bytes:
    """The image's bytes exactly as served; ImageRejectedError(reason, detail, failed=True) on any failure.

    The download ends by SCRAPER_TIMEOUT and no later than `within` (the job's image budget).
    """
    try:
        return _download(candidate.url, settings, http, referer, within)
    except JobFailedError as exc:
        reason = REASON_BY_CODE.get(exc.code, "download_failed")
        raise ImageRejectedError(reason, exc.message, failed=True) from None


def _download(
    url: str, settings: Settings, http: requests.Session, referer: str, within: Deadline | None
) -> bytes:
    url = check_url(url, settings.allows_private(url), resolver=session_resolver(http))
    with Deadline(settings.scraper_timeout, within=within) as deadline:
        response = open_response(http, url, settings, headers=image_headers(referer), deadline=deadline)
        if response.status_code == 403 and referer:
            # Some hotlink guards refuse any Referer they do not expect; browsers opening the
            # image directly send none, so that is worth one more try.
            response.close()
            response = open_response(http, url, settings, headers=image_headers(None), deadline=deadline)
        if response.status_code >= 400:
            response.close()
            raise ImageRejectedError("http_error", f"HTTP {response.status_code}", failed=True)
        declared, _charset = parse_content_type(response.headers.get("Content-Type", ""))
        data = read_limited(response, settings.max_image_bytes, deadline)
    require_image_bytes(data, declared)
    return data


def image_headers(referer: str | None) -> dict[str, str]:
    headers = {"Accept": IMAGE_ACCEPT}
    if referer:
        headers["Referer"] = referer
    return headers


def sniff(data: bytes) -> str:
    """What the bytes are: `image` (a raster magic number), `svg`, `markup`, `text`, `empty` or `unknown`."""
    if not data:
        return "empty"
    if data.startswith(IMAGE_MAGIC) or data[4:12] in ISO_BMFF_BRANDS or is_webp(data):
        return "image"
    head = data[:SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in head:
        return "svg"
    if head.startswith((b"<", b"{", b"[")):
        return "markup"
    if all(byte in TEXT_BYTES for byte in head):
        return "text"
    return "unknown"


def require_image_bytes(data: bytes, declared: str) -> None:
    """Refuse bytes that are not a raster image, whatever the Content-Type said."""
    kind = sniff(data)
    if kind in ("image", "unknown"):
        return  # unknown bytes go to Pillow, which only opens the formats measure.py allows
    if kind == "svg":
        raise ImageRejectedError("svg", "vector images are not kept", failed=False)
    if kind == "empty":
        raise ImageRejectedError("empty", "the server sent zero bytes", failed=True)
    raise ImageRejectedError(
        "not_image", f"the bytes are {kind}, not an image (declared {declared or 'nothing'})", failed=True
    )
