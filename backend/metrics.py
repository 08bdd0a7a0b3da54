"""Prometheus figures: HTTP latency kept per process, job and image figures read from Postgres, cached.

Workers write every job's status, timings and image counters to the `jobs` table, so
reading them from there is the shared store: whatever worker (or machine) ran a job,
one scrape of any API process sees it, and nothing is lost when a worker restarts.
Those reads are aggregates over the whole table (about 1 s at a million rows), so each
process keeps the last answer for METRICS_CACHE_SECONDS and one scrape at a time
refreshes it: however many scrapers ask, a process runs them at most once per period
(bench/metrics_cost.py measures both). HTTP latency is per gunicorn worker; with
PROMETHEUS_MULTIPROC_DIR set (scripts/web-start.sh sets it) the workers share it through
prometheus_client's multiprocess files.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, Float, case, cast, func, select

from backend.db import Database
from backend.logging import get_logger
from backend.models import Job, JobStatus

logger = get_logger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DURATION_BUCKETS = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REGISTRY = CollectorRegistry()
HTTP_LATENCY = Histogram(
    "scraper_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template, method and status.",
    ("route", "method", "status"),
    buckets=HTTP_BUCKETS,
    registry=HTTP_REGISTRY,
)


def _duration_seconds(dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.extract("epoch", Job.finished_at - Job.started_at)
    return cast((func.julianday(Job.finished_at) - func.julianday(Job.started_at)) * 86400.0, Float)


class JobCollector(Collector):
    """Jobs by status, job durations and image counters from the jobs table, read at most once per `max_age`.

    One instance lives as long as its app. A failed read is not kept: the next scrape tries again.
    """

    def __init__(self, db: Database, max_age: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.max_age = max_age
        self.clock = clock
        self._lock = threading.Lock()
        self._families: list[Metric] | None = None
        self._read_at = 0.0

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("scraper_database_up", "1 if the database answered the job queries.")
        try:
            families = self._snapshot()
        except Exception as exc:  # a scrape must not fail because Postgres is down; database_up says so
            logger.warning("metrics.database_failed", error=type(exc).__name__, exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _fresh(self) -> bool:
        return self._families is not None and self.clock() - self._read_at < self.max_age

    def _snapshot(self) -> list[Metric]:
        if self._fresh():
            return self._families  # type: ignore[return-value]  # _fresh() is True only once it is set
        # Scrapers arriving while one reads wait for its answer instead of running the same aggregates.
        with self._lock:
            if not self._fresh():
                self._families = self._read()
                self._read_at = self.clock()
            return self._families  # type: ignore[return-value]  # _fresh() is True only once it is set

    def _read(self) -> list[Metric]:
        with self.db.session() as session:
            by_status = dict(session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
            images = session.execute(
                select(
                    func.coalesce(func.sum(Job.images_saved), 0),
                    func.coalesce(func.sum(Job.images_skipped), 0),
                    func.coalesce(func.sum(Job.images_failed), 0),
                )
            ).one()
            durations = self._durations(session)
        jobs = GaugeMetricFamily("scraper_jobs", "Jobs in the database, by status.", labels=["status"])
        for status in JobStatus:
            jobs.add_metric([status.value], by_status.get(status, 0))
        counter = CounterMetricFamily(
            "scraper_images", "Images handled by finished jobs, by outcome.", labels=["outcome"]
        )
        for outcome, value in zip(("saved", "skipped", "failed"), images, strict=True):
            counter.add_metric([outcome], int(value))
        return [jobs, counter, durations]

    def _durations(self, session: object) -> HistogramMetricFamily:
        dialect = self.db.engine.dialect.name
        seconds = _duration_seconds(dialect)
        columns = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in DURATION_BUCKETS]
        query = (
            select(Job.status, func.count(), func.coalesce(func.sum(seconds), 0.0), *columns)
            .where(Job.started_at.is_not(None), Job.finished_at.is_not(None))
            .where(Job.status.in_([JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED]))
            .group_by(Job.status)
        )
        family = HistogramMetricFamily(
            "scraper_job_duration_seconds",
            "Time from a job's start to its end, by final status.",
            labels=["status"],
        )
        for status, count, total, *cumulative in session.execute(query):  # type: ignore[attr-defined]  # Row unpacks; the stub says it cannot
            buckets = [
                (str(bound), int(value or 0))
                for bound, value in zip(DURATION_BUCKETS, cumulative, strict=True)
            ]
            buckets.append(("+Inf", int(count)))
            family.add_metric([JobStatus(status).value], buckets, float(total))
        return family


class QueueCollector(Collector):
    """Messages waiting in the broker queue, asked of the broker on each collect."""

    def __init__(self, queue: str, depth: Callable[[], int]) -> None:
        self.queue = queue
        self.depth = depth

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "scraper_queue_depth", "Messages waiting in the job queue.", labels=["queue"]
        )
        up = GaugeMetricFamily("scraper_broker_up", "1 if the broker answered the queue-depth query.")
        try:
            gauge.add_metric([self.queue], self.depth())
            up.add_metric([], 1)
            yield gauge
        except Exception:  # a scrape must not fail because the broker is down; broker_up says so
            up.add_metric([], 0)
        yield up


def render_metrics(*collectors: Collector) -> bytes:
    """The Prometheus text exposition of HTTP latency plus the given collectors."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        http = CollectorRegistry()
        MultiProcessCollector(http)
    else:
        http = HTTP_REGISTRY
    scraped = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        scraped.register(collector)
    return generate_latest(http) + generate_latest(scraped)
