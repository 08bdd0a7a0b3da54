"""Security headers on every answer: nosniff everywhere, HSTS in production."""

from __future__ import annotations

from flask import Flask, Response

from backend.settings import Settings

# A year, subdomains included: the API is only ever served over HTTPS in production.
HSTS = "max-age=31536000; includeSubDomains"


def register(app: Flask, settings: Settings) -> None:
    """Add the headers in an after_request hook (error answers included)."""
    production = settings.app_env == "production"

    def add_headers(response: Response) -> Response:
        # Browsers must take JSON (and everything else) as the type we declare, never sniff it.
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if production:
            # Behind the platform's TLS proxy; browsers ignore the header on plain HTTP.
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response

    app.after_request(add_headers)
