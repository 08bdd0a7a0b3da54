"""Fault-test harness: a private Redis per test, short sweep/stale settings, and processes to kill and restart."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from backend.db import Database
from backend.models import Job, ScrapedImage
from backend.settings import Settings
from tests import processes, services
from tests.conftest import settings_env
from tests.e2e import conftest as e2e
from tests.e2e.conftest import RunningSystem
from tests.services import free_port

# The end-to-end fixtures, shared: the shop site (with its stalled page) and an API key.
shop = e2e.shop
new_api_key = e2e.new_api_key

# Fast enough that a lost job is found within seconds, slow enough that a live heartbeat
# (every stale/4 s) is never mistaken for a dead one.
FAULT_SETTINGS: dict[str, Any] = {
    "job_stale_seconds": 5,
    "job_queued_grace_seconds": 5,
    "sweep_interval_seconds": 1.0,
    "job_retry_backoff_seconds": 1.0,
    "job_max_attempts": 3,
}


@pytest.fixture
def private_redis() -> Iterator[services.RedisServer]:
    """A redis-server of this test's own, which it may kill and start again."""
    server = services.start_redis(private=True)
    yield server
    if server.process is not None and server.process.poll() is None:
        server.stop()


@pytest.fixture
def fault_settings(
    make_settings: Any, database_url: str, private_redis: services.RedisServer, s3_settings: dict[str, Any]
) -> Callable[..., Settings]:
    """Settings on the test database, the private Redis and S3, with short fault timings; overridable."""

    def build(**overrides: Any) -> Settings:
        values = {
            "database_url": database_url,
            "redis_url": private_redis.url(0),
            "celery_queue": f"faults-{uuid.uuid4().hex[:8]}",
            **s3_settings,
            **FAULT_SETTINGS,
            **overrides,
        }
        return make_settings(**values)

    return build


@dataclass
class Cluster:
    """API, worker and beat processes of one fault test; everything started is stopped at the end."""

    settings: Settings
    log_dir: Path
    api_key: str
    port: int = field(default_factory=free_port)
    started: list[processes.ServiceProcess] = field(default_factory=list)
    worker: processes.ServiceProcess | None = None
    api: processes.ServiceProcess | None = None
    _workers: int = 0

    @property
    def env(self) -> dict[str, str]:
        return settings_env(self.settings) | {"PORT": str(self.port)}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_api(self) -> processes.ServiceProcess:
        self.api = processes.api_process(self.port, self.env, self.log_dir).start()
        self.started.append(self.api)
        processes.wait_for_http(f"{self.base_url}/health/live", self.api)
        return self.api

    def start_worker(self, *, concurrency: int = 1, beat: bool = False) -> processes.ServiceProcess:
        """A new worker process (a fresh log, so readiness is judged on its own output)."""
        self._workers += 1
        worker = processes.worker_process(
            self.env, self.log_dir, name=f"worker{self._workers}", concurrency=concurrency
        )
        if beat:
            worker.args += ["-B", "--schedule", str(self.log_dir / f"beat{self._workers}")]
        worker.start()
        self.started.append(worker)
        processes.wait_for_worker(worker)
        self.worker = worker
        return worker

    def start_beat(self) -> processes.ServiceProcess:
        beat = processes.beat_process(self.env, self.log_dir).start()
        self.started.append(beat)
        return beat

    @property
    def client(self) -> RunningSystem:
        assert self.api is not None and self.worker is not None
        return RunningSystem(self.base_url, self.api_key, self.api, self.worker, self.settings)

    def stop_all(self) -> None:
        """SIGTERM every live process at once, then wait for each (SIGKILL to its group after 15 s)."""
        live = [process for process in self.started if process.alive()]
        for process in live:
            process.signal(signal.SIGTERM)
        for process in live:
            assert process.process is not None
            try:
                process.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill_group()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.log_tail(40)}" for p in self.started)


@pytest.fixture
def cluster(
    fault_settings: Callable[..., Settings], db: Database, store: Any, new_api_key: str, tmp_path: Path
) -> Iterator[Callable[..., Cluster]]:
    """Build a Cluster from settings overrides; its processes are stopped after the test."""
    built: list[Cluster] = []

    def build(**overrides: Any) -> Cluster:
        made = Cluster(fault_settings(**overrides), tmp_path, new_api_key)
        built.append(made)
        return made

    yield build
    for made in built:
        made.stop_all()


TINY_PAGE = "/products/tiny.html"


def tiny_page(shop: Any) -> str:
    """The URL of a page with one small photo: a job on it takes a fraction of a second."""
    path = shop.root / TINY_PAGE.lstrip("/")
    if not path.exists():
        path.write_text('<html><body><img src="/img/basic/hero.jpg" alt="hero"></body></html>')
    return str(shop.url(TINY_PAGE))


def submit_many(system: RunningSystem, url: str, count: int, *, threads: int = 8) -> list[str]:
    """Submit `count` jobs from `threads` client threads as fast as the API takes them; their ids."""

    def one(_index: int) -> str:
        response = system.post("/api/v1/jobs", json={"sales_page_url": url})
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(count)))


def wait_all_finished(db: Database, ids: list[str], timeout: float) -> dict[str, int]:
    """Wait until every job is terminal; the count per status."""
    wanted = [uuid.UUID(job_id) for job_id in ids]

    def counts() -> dict[str, int] | None:
        with db.session() as session:
            rows = session.execute(
                select(Job.status, func.count()).where(Job.id.in_(wanted)).group_by(Job.status)
            ).all()
        found = {status.value: int(count) for status, count in rows}
        done = sum(found.get(name, 0) for name in ("succeeded", "failed", "cancelled"))
        return found if done == len(wanted) else None

    return processes.wait_until(counts, timeout=timeout, interval=0.5, what=f"{len(ids)} jobs")  # type: ignore[return-value]


class ConnectionSampler:
    """Counts the service's Postgres connections in pg_stat_activity from a thread, every few ms."""

    def __init__(self, db: Database, database_name: str, interval: float = 0.02) -> None:
        self.db, self.database_name, self.interval = db, database_name, interval
        self.samples: list[int] = []
        self.queries: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            backends = our_backends(self.db, self.database_name)
            self.samples.append(len(backends))
            self.queries.update(query for _pid, _app, query in backends)

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    @property
    def peak(self) -> int:
        return max(self.samples, default=0)


def job_row(db: Database, job_id: str) -> Job:
    with db.session() as session:
        job = session.get(Job, uuid.UUID(job_id))
        assert job is not None
        return job


def image_rows(db: Database) -> list[ScrapedImage]:
    with db.session() as session:
        return list(session.scalars(select(ScrapedImage)))


def assert_nothing_doubled_or_orphaned(db: Database, object_keys: list[str]) -> list[ScrapedImage]:
    """Each job's rows match its images_saved, no content twice per campaign, no object without a row."""
    rows = image_rows(db)
    with db.session() as session:
        jobs = list(session.scalars(select(Job)))
    for job in jobs:
        assert job.images_saved == sum(row.job_id == job.id for row in rows), job.id
    pairs = [(row.campaign_id, row.content_hash) for row in rows]
    assert len(pairs) == len(set(pairs)), "an image row is doubled"
    referenced = {row.storage_key for row in rows} | {row.thumbnail_key for row in rows if row.thumbnail_key}
    orphans = set(object_keys) - referenced
    assert not orphans, f"objects without a row: {sorted(orphans)}"
    return rows


def our_backends(db: Database, database_name: str) -> list[tuple[int, str, str]]:
    """(pid, application_name, query) of the service's own server connections (this test process excluded)."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT pid, application_name, query FROM pg_stat_activity "
                "WHERE datname = :name AND application_name LIKE 'image-scraper:%' "
                "AND application_name <> :me"
            ),
            {"name": database_name, "me": f"image-scraper:{os.getpid()}"},
        ).all()
    return [(int(pid), str(app), str(query)) for pid, app, query in rows]
