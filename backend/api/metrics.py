"""Per-request observability: a request id bound to every log line, latency by route, and GET /metrics."""

from __future__ import annotations

import hmac
import re
import time
import uuid

from flask import Blueprint, Flask, Response, current_app, g, request

from backend.api import services
from backend.api.declare import declare, other, problem
from backend.api.problems import ApiProblem
from backend.broker import queue_depth
from backend.logging import bind_log_context, get_logger, unbind_log_context
from backend.metrics import CONTENT_TYPE, HTTP_LATENCY, JobCollector, QueueCollector, render_metrics
from backend.settings import Settings

logger = get_logger("backend.http")

bp = Blueprint("metrics", __name__)

JOB_COLLECTOR = "scraper_job_collector"

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's own id is kept only when it is short and plain, so it cannot forge log lines.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def _request_id() -> str:
    supplied = request.headers.get(REQUEST_ID_HEADER, "")
    return supplied if _SAFE_REQUEST_ID.match(supplied) else uuid.uuid4().hex


def _start() -> None:
    g.request_id = _request_id()
    g.request_started = time.perf_counter()
    g.log_token = bind_log_context(request_id=g.request_id)


def _finish(response: Response) -> Response:
    elapsed = time.perf_counter() - g.get("request_started", time.perf_counter())
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    HTTP_LATENCY.labels(route=route, method=request.method, status=str(response.status_code)).observe(elapsed)
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
    # The route template, never the raw path or query string, so no id or token ends up in the log.
    logger.info(
        "http.request",
        method=request.method,
        route=route,
        status=response.status_code,
        duration_ms=round(elapsed * 1000, 1),
    )
    return response


def _unbind(_exc: BaseException | None) -> None:
    token = g.pop("log_token", None)
    if token is not None:
        unbind_log_context(token)


def _authorize(settings: Settings) -> None:
    """Bearer METRICS_TOKEN, or 401; without a token, open in development and test, 404 in production."""
    expected = settings.metrics_token
    if expected is None:
        if settings.app_env == "production":
            raise ApiProblem(404, "Metrics are off: set METRICS_TOKEN to serve them.")
        return
    scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        supplied.strip().encode(), expected.get_secret_value().encode()
    ):
        raise ApiProblem(
            401,
            "The metrics token is missing or wrong: Authorization: Bearer <METRICS_TOKEN>.",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )


@bp.get("/metrics")
@declare(
    "metrics",
    "Prometheus metrics: Bearer METRICS_TOKEN (without one: open in development, 404 in production).",
    other(200, "Prometheus text format", "text/plain"),
    problem(404, "No METRICS_TOKEN is set in production."),
    security="metricsToken",
)
def metrics() -> Response:
    app = services()
    _authorize(app.settings)
    queue = app.settings.celery_queue
    body = render_metrics(
        current_app.extensions[JOB_COLLECTOR],
        QueueCollector(queue, lambda: queue_depth(app.celery, queue)),
    )
    return Response(body, content_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})


def register(app: Flask) -> None:
    """Install the request hooks and the /metrics route, with the app's cached job figures."""
    scraper = app.extensions["scraper"]
    app.extensions[JOB_COLLECTOR] = JobCollector(scraper.db, scraper.settings.metrics_cache_seconds)
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_unbind)
    app.register_blueprint(bp)
