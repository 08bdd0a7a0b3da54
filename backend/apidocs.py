"""GET /docs: the OpenAPI document (/api/v1/openapi.json) as a browsable page, Swagger UI served by us.

Swagger UI's files come from the flask-swagger-ui package (its `dist/`), served under
/docs/assets/; nothing is loaded from a CDN. Our own template and script start it (the
package's template has an inline script, which this page's CSP does not allow).
"""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, Response, render_template, send_from_directory

SWAGGER_DIST = Path(flask_swagger_ui.__file__).resolve().parent / "dist"
ASSETS = frozenset({"swagger-ui.css", "index.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"})

bp = Blueprint("apidocs", __name__, template_folder="templates")

# Swagger UI styles some elements inline; it runs no inline script and fetches only our document.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)


@bp.get("/docs")
def docs() -> Response:
    response = Response(render_template("docs.html"))
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/docs/assets/<name>")
def asset(name: str) -> Response:
    if name not in ASSETS:
        return Response(status=404)
    response = send_from_directory(SWAGGER_DIST, name, max_age=86400)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
