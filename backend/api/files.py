"""/files/<key>: serves the local object store's images in the embedded mode (404 with S3/R2)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from flask import Blueprint, Response, send_file

from backend.api import services
from backend.api.problems import ApiProblem
from backend.storage import LocalStore

bp = Blueprint("files", __name__)

CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".avif": "image/avif",
}
# Keys are content-addressed: a key's bytes never change.
CACHE_CONTROL = "public, max-age=31536000, immutable"


def _local_path(key: str) -> Path | None:
    store = services().store
    if not isinstance(store, LocalStore):
        return None
    # Hidden names are the store's half-written temporary files.
    if any(part.startswith(".") for part in PurePosixPath(key).parts):
        return None
    try:
        path = store.path_for(key)
    except FileNotFoundError:
        return None
    return path if path.is_file() else None


@bp.get("/files/<path:key>")
def serve_file(key: str) -> Response:
    path = _local_path(key)
    if path is None:
        raise ApiProblem(404, "No file with this key.")
    content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
    response = send_file(path, mimetype=content_type, conditional=True, etag=True)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
