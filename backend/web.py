"""The web page at `/`: one server-rendered template plus plain JavaScript that talks to /api/v1."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, send_from_directory

bp = Blueprint(
    "web", __name__, template_folder="templates", static_folder="static", static_url_path="/static"
)

# The page runs only its own script and stylesheet; images may come from any CDN (or, in a
# preview, from the scraped site itself), and the API is same-origin. The key lives in
# localStorage, so nothing injected may run: no inline script, no foreign script.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' https: http: data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


@bp.get("/")
def index() -> Response:
    response = Response(render_template("index.html"))
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/favicon.ico")
def favicon() -> Response:
    """The page links its SVG icon; this answers the browsers and tools that ask for /favicon.ico anyway."""
    assert bp.static_folder is not None
    response = send_from_directory(bp.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
