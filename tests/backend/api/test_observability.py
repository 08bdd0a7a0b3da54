"""GET /metrics (jobs from the database, latency by route, queue depth), request ids and the webhook secret."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from pydantic import SecretStr
from sqlalchemy import event

from backend import create_app
from backend.metrics import JobCollector, render_metrics
from backend.models import JobStatus, utcnow
from tests.backend.api.conftest import shutdown_app


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition."""
    label_text = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = re.escape(f"{name}{{{label_text}}}" if labels else name) + r" ([0-9.e+-]+)$"
    match = re.search(pattern, text, flags=re.MULTILINE)
    assert match, f"no sample {name} {labels} in:\n{text}"
    return float(match.group(1))


def test_metrics_counts_jobs_by_status_and_images(api, client, make_campaign, make_job):
    """Jobs by status and image counters come from the jobs table, whoever ran the jobs."""
    campaign = make_campaign(api)
    start = utcnow() - timedelta(seconds=42)
    make_job(api, campaign, status=JobStatus.SUCCEEDED, started_at=start, finished_at=start + timedelta(seconds=7),
             images_saved=4, images_skipped=2, images_failed=1)  # fmt: skip
    make_job(api, campaign, status=JobStatus.QUEUED)
    make_job(api, campaign, status=JobStatus.QUEUED)

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=0.0.4")
    text = response.get_data(as_text=True)
    assert sample(text, "scraper_jobs", status="queued") == 2
    assert sample(text, "scraper_jobs", status="succeeded") == 1
    assert sample(text, "scraper_jobs", status="failed") == 0
    assert sample(text, "scraper_images_total", outcome="saved") == 4
    assert sample(text, "scraper_images_total", outcome="skipped") == 2
    assert sample(text, "scraper_images_total", outcome="failed") == 1
    assert sample(text, "scraper_job_duration_seconds_bucket", le="5.0", status="succeeded") == 0
    assert sample(text, "scraper_job_duration_seconds_bucket", le="10.0", status="succeeded") == 1
    assert sample(text, "scraper_job_duration_seconds_count", status="succeeded") == 1
    assert abs(sample(text, "scraper_job_duration_seconds_sum", status="succeeded") - 7.0) < 0.01
    assert sample(text, "scraper_database_up") == 1


def test_metrics_reports_queue_depth(client, scrape_queue, celery_queue):
    """scraper_queue_depth is the length of the session's Redis queue."""
    scrape_queue.redis.lpush(celery_queue, b"{}", b"{}", b"{}")

    text = client.get("/metrics").get_data(as_text=True)

    assert sample(text, "scraper_queue_depth", queue=celery_queue) == 3
    assert sample(text, "scraper_broker_up") == 1


def test_metrics_records_latency_by_route_template(api, client):
    """A request is counted under its route template, not its raw path."""
    api.get("/api/v1/jobs/00000000-0000-0000-0000-000000000000")

    text = client.get("/metrics").get_data(as_text=True)

    count = sample(
        text,
        "scraper_http_request_duration_seconds_count",
        method="GET",
        route="/api/v1/jobs/<uuid:job_id>",
        status="404",
    )
    assert count >= 1
    assert "00000000-0000-0000-0000-000000000000" not in text


def test_each_response_carries_a_request_id(client):
    """A fresh id is made per request; a plain caller-supplied one is kept, a hostile one replaced."""
    first = client.get("/health/live").headers["X-Request-ID"]
    second = client.get("/health/live").headers["X-Request-ID"]
    kept = client.get("/health/live", headers={"X-Request-ID": "abc-123-def"}).headers["X-Request-ID"]
    replaced = client.get("/health/live", headers={"X-Request-ID": "spaces and forged=1"}).headers[
        "X-Request-ID"
    ]

    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second
    assert kept == "abc-123-def"
    assert re.fullmatch(r"[0-9a-f]{32}", replaced)


def test_webhook_secret_is_created_once_per_user(api, other_api):
    """The owner sees the same secret on every call; another user gets a different one."""
    first = api.get("/api/v1/account/webhook-secret")
    again = api.get("/api/v1/account/webhook-secret")
    other = other_api.get("/api/v1/account/webhook-secret")

    assert first.status_code == 200
    assert first.json["webhook_secret"].startswith("whsec_")
    assert first.json["webhook_secret"] == again.json["webhook_secret"]
    assert other.json["webhook_secret"] != first.json["webhook_secret"]
    assert first.json["signature_header"] == "X-Signature-256"


def test_webhook_secret_needs_a_key(client):
    """Without a key the secret is 401."""
    assert client.get("/api/v1/account/webhook-secret").status_code == 401


# --- /metrics: a token of its own, figures cached ----------------------------------------


def test_metrics_needs_the_token_when_one_is_set(make_app):
    """With METRICS_TOKEN set, /metrics is 401 problem+json without it or with a wrong one, 200 with it."""
    client = make_app(metrics_token=SecretStr("m-token-1234")).test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic m-token-1234"}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401, headers
        assert response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": "Bearer m-token-1234"}).status_code == 200


def test_metrics_are_not_served_in_production_without_a_token(settings, db, store):
    """APP_ENV=production and no METRICS_TOKEN: /metrics is 404, nothing read."""
    application = create_app(settings.model_copy(update={"app_env": "production"}))
    try:
        response = application.test_client().get("/metrics")
        assert response.status_code == 404
        assert "METRICS_TOKEN" in response.get_json()["detail"]
    finally:
        shutdown_app(application)


def test_guessing_the_metrics_token_meets_the_refused_key_limit(make_app):
    """Wrong metrics tokens count as refused keys per address: 401 until RATE_LIMIT_UNAUTHENTICATED, then 429."""
    client = make_app(
        metrics_token=SecretStr("m-token-1234"), rate_limit_unauthenticated="3 per minute"
    ).test_client()
    address = {"REMOTE_ADDR": f"203.0.113.{uuid.uuid4().int % 250 + 1}"}
    statuses = [
        client.get("/metrics", headers={"Authorization": f"Bearer {n}"}, environ_base=address).status_code
        for n in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429]


def _count_job_reads(engine) -> list[str]:
    reads: list[str] = []
    event.listen(
        engine, "before_cursor_execute", lambda *args: reads.append(args[2]) if "jobs" in args[2] else None
    )
    return reads


def test_scrapes_within_the_cache_period_read_the_jobs_table_once(make_app):
    """Many scrapes in one METRICS_CACHE_SECONDS period run the job aggregates once; with 0 s, every time."""
    for max_age, expected_reads in ((300.0, 1), (0.0, 4)):
        application = make_app(metrics_cache_seconds=max_age)
        reads = _count_job_reads(application.extensions["scraper"].db.engine)
        client = application.test_client()
        for _ in range(4):
            assert client.get("/metrics").status_code == 200
        queries_per_read = 3  # by status, image sums, durations
        assert len(reads) == expected_reads * queries_per_read, (max_age, reads)


def test_cached_job_figures_refresh_after_the_period(db, api, make_campaign, make_job):
    """The collector answers from its snapshot until max_age has passed, then reads the table again."""
    now = [1000.0]
    collector = JobCollector(db, max_age=30.0, clock=lambda: now[0])
    campaign = make_campaign(api)
    make_job(api, campaign, status=JobStatus.QUEUED)

    def queued() -> float:
        text = render_metrics(collector).decode()
        return sample(text, "scraper_jobs", status="queued")

    assert queued() == 1
    make_job(api, campaign, status=JobStatus.QUEUED)
    now[0] += 29
    assert queued() == 1
    now[0] += 2
    assert queued() == 2
