"""Per-key rate limits (flask-limiter), counted in Redis so every API process shares them.

- Who: the caller's API key, identified by a hash of the Bearer token (the key itself never
  reaches Redis); a request without a key is counted by client address, which also slows
  down anyone guessing keys.
- How much: RATE_LIMIT on every /api/v1 route, plus RATE_LIMIT_ANALYZE on POST /analyze,
  which runs a scrape inside the request. /health, /health/live, /files, /metrics and
  the web page are exempt.
- Where: RATE_LIMIT_STORAGE_URL, else REDIS_URL, else process memory (the embedded default).
  Fixed windows: one INCR+EXPIRE per limit per request. Keys are namespaced by CELERY_QUEUE,
  so deployments (or test sessions) sharing one Redis do not share counters.
- When the store is down: the API keeps answering (errors are swallowed and counting falls
  back to process memory) rather than turning a Redis outage into an outage of every route.
- A breach is 429 problem+json with Retry-After (seconds until the window resets).
"""

from __future__ import annotations

import hashlib
import math
import time

from flask import Flask, Response, g, request
from flask_limiter import Limiter, RateLimitExceeded, RequestLimit

from backend.api.problems import ApiProblem
from backend.settings import Settings

KEY_PREFIX = "pis-ratelimit"
STORE_TIMEOUT_SECONDS = 1  # a slow Redis must not hold every request


def rate_limit_key() -> str:
    """The bucket a request counts against: its API key's hash, else the client address."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "key:" + hashlib.sha256(token.strip().encode()).hexdigest()[:32]
    return "addr:" + (request.remote_addr or "unknown")


def _remember_reset(limit: RequestLimit) -> None:
    g.rate_limit_reset_at = limit.reset_at


def _too_many_requests(exc: RateLimitExceeded) -> Response:
    reset_at = float(g.get("rate_limit_reset_at") or time.time() + 1)
    retry_after = max(1, math.ceil(reset_at - time.time()))
    return ApiProblem(
        429,
        f"Rate limit exceeded ({exc.description}); retry after {retry_after} s.",
        slug="rate-limited",
        headers={"Retry-After": str(retry_after)},
    ).to_response()


def _storage_options(uri: str) -> dict[str, str | int]:
    if uri.startswith(("redis://", "rediss://")):
        return {"socket_connect_timeout": STORE_TIMEOUT_SECONDS, "socket_timeout": STORE_TIMEOUT_SECONDS}
    return {}


def init_rate_limits(app: Flask, settings: Settings) -> Limiter:
    """Attach the limiter to `app`: the default limit everywhere but health and files, analyze's own."""
    from backend import web  # noqa: PLC0415 - blueprints import this package
    from backend.api import files, health, metrics  # noqa: PLC0415

    uri = settings.rate_limit_storage
    limiter = Limiter(
        key_func=rate_limit_key,
        app=app,
        default_limits=[settings.rate_limit],
        storage_uri=uri,
        storage_options=_storage_options(uri),
        strategy="fixed-window",
        key_prefix=f"{KEY_PREFIX}:{settings.celery_queue}",
        headers_enabled=False,
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        on_breach=_remember_reset,
        enabled=settings.rate_limit_enabled,
    )
    # Probes, Prometheus, stored files and the web page's own HTML/CSS/JS are not API calls;
    # the page's API requests carry the key and are counted like any other client's.
    for blueprint in (health.bp, files.bp, metrics.bp, web.bp):
        limiter.exempt(blueprint)
    endpoint = "analyze.analyze"
    app.view_functions[endpoint] = limiter.limit(settings.rate_limit_analyze, override_defaults=False)(
        app.view_functions[endpoint]
    )
    app.register_error_handler(RateLimitExceeded, _too_many_requests)
    return limiter
