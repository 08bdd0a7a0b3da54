"""Rate limits (flask-limiter, one Limiter per app, attached with init_app), counted in Redis.

- Per key: RATE_LIMIT on every /api/v1 route, counted per API key (a hash of the Bearer
  token; the key itself never reaches Redis), or per client address without one.
  RATE_LIMIT_ANALYZE is added on POST /analyze (a limit on its blueprint).
- Per address, for refused keys: RATE_LIMIT_UNAUTHENTICATED counts the 401 answers each
  client address receives, on every route (application-wide, deducted only on a 401).
  Past it every request from that address is 429 until the window ends, so guessing keys
  (each guess a new token, so a new per-key bucket) is slowed down all the same.
- Client address: the peer's, or with TRUSTED_PROXY_HOPS=n the address the n-th trusted
  proxy saw (werkzeug's ProxyFix in create_app); an X-Forwarded-For the client wrote
  itself is never believed beyond that.
- Exempt: /health, /health/live, /files and the web page. /metrics has its own token and
  is exempt from the per-key limit but not from the refused-key limit.
- Where: RATE_LIMIT_STORAGE_URL, else REDIS_URL, else process memory (the embedded default).
  Fixed windows: one INCR+EXPIRE per limit per request. Keys are namespaced by CELERY_QUEUE,
  so deployments (or test sessions) sharing one Redis do not share counters.
- When the store is down: the API keeps answering (errors are swallowed and counting falls
  back to process memory) rather than turning a Redis outage into an outage of every route.
- A breach is 429 problem+json with Retry-After (seconds until the window resets).
- RATE_LIMIT_ENABLED=false: the limiter is built but init_app leaves the app alone.
"""

from __future__ import annotations

import hashlib
import math
import time

from flask import Flask, Response, g, request
from flask_limiter import ApplicationLimit, ExemptionScope, Limiter, RateLimitExceeded, RequestLimit

from backend.api.problems import ApiProblem
from backend.settings import Settings

KEY_PREFIX = "pis-ratelimit"
STORE_TIMEOUT_SECONDS = 1  # a slow Redis must not hold every request
EXTENSION = "scraper_limiter"


def client_address() -> str:
    """The client's address, as ProxyFix (TRUSTED_PROXY_HOPS) left it in REMOTE_ADDR."""
    return "addr:" + (request.remote_addr or "unknown")


def rate_limit_key() -> str:
    """The bucket a request counts against: its API key's hash, else the client address."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "key:" + hashlib.sha256(token.strip().encode()).hexdigest()[:32]
    return client_address()


def _refused_key(response: Response) -> bool:
    return response.status_code == 401


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


def build_limiter(settings: Settings) -> Limiter:
    """The app's Limiter: default per-key limit, the refused-key limit per address, settings applied."""
    uri = settings.rate_limit_storage
    refused = ApplicationLimit(
        settings.rate_limit_unauthenticated,
        key_function=client_address,
        scope="refused-key",
        deduct_when=_refused_key,
    )
    return Limiter(
        key_func=rate_limit_key,
        default_limits=[settings.rate_limit],
        application_limits=[refused],
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


def init_rate_limits(app: Flask, settings: Settings) -> Limiter:
    """Build the app's Limiter, mark exempt and limited blueprints, and init_app it."""
    from backend import web  # noqa: PLC0415 - blueprints import this package
    from backend.api import analyze, files, health, metrics  # noqa: PLC0415

    limiter = build_limiter(settings)
    # Probes, stored files and the web page's own HTML/CSS/JS are not API calls;
    # the page's API requests carry the key and are counted like any other client's.
    for blueprint in (health.bp, files.bp, web.bp):
        limiter.exempt(blueprint)
    # /metrics answers 401 to a wrong token, so a token guesser meets the refused-key limit.
    limiter.exempt(metrics.bp, flags=ExemptionScope.DEFAULT | ExemptionScope.META)
    # A scope of its own: with the same figures as RATE_LIMIT it would share the default's counter.
    limiter.limit(settings.rate_limit_analyze, methods=["POST"], scope="analyze", override_defaults=False)(
        analyze.bp
    )
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter  # the app owns its limiter, whether enabled or not
    app.register_error_handler(RateLimitExceeded, _too_many_requests)
    return limiter
