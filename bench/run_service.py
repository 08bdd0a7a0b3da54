"""Run the whole service (API + Celery workers on Postgres and Redis) over a list of pages and record what it kept.

Usage (also the `SERVICE_CMD` hook of an external benchmark harness):

    python bench/run_service.py --pages pages.txt --out OUT [--workers 2] [--timeout 900]

It creates a throwaway Postgres database, starts gunicorn and a Celery worker as
children, submits one job per page (each in its own campaign) through the API,
polls until every job has ended, and writes:

* OUT/items.jsonl - one line per page: {"url", "job": {...}, "images": [{"url", "checksum"}]}
* OUT/store/      - the stored objects (local storage backend)
* OUT/summary.json - pages, jobs by status, images saved, wall seconds, images/s

Environment: BENCH_PG_ADMIN (default postgresql+psycopg2://postgres@127.0.0.1:5432/postgres),
BENCH_REDIS_URL (default redis://127.0.0.1:6379/12; the db is flushed).
Loopback only; it stops by itself after --timeout seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import redis
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.auth import issue_api_key  # noqa: E402
from backend.db import Database  # noqa: E402
from backend.migrate import upgrade_to_head  # noqa: E402
from backend.settings import load_settings  # noqa: E402

TERMINAL = {"succeeded", "failed", "cancelled"}
COLLECT_THREADS = 4  # the API's 2 processes x 4 threads answer the result listings in parallel


class Phases:
    """Seconds spent in each phase of the run, for the log: where the time outside the jobs goes.

    The first phase, `startup`, runs from the start of this process (its imports included).
    """

    def __init__(self) -> None:
        self.last = time.monotonic() - seconds_since_process_start()
        self.seconds: dict[str, float] = {}
        self.mark("startup")

    def mark(self, name: str) -> None:
        now = time.monotonic()
        self.seconds[name] = round(now - self.last, 2)
        self.last = now

    def report(self) -> str:
        return "phases: " + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in self.seconds.items())


def seconds_since_process_start() -> float:
    """Seconds since this process started, from /proc (Linux): field 22 of its stat is the start in clock ticks."""
    after_name = Path("/proc/self/stat").read_text().rpartition(")")[2].split()
    started = int(after_name[19]) / os.sysconf("SC_CLK_TCK")
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return max(0.0, uptime - started)


def children_cpu_seconds() -> float:
    """User + system CPU of every child process waited for so far (their own children included)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def create_database(admin_url: str) -> tuple[str, str]:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return name, make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def start_children(
    env: dict[str, str], port: int, workers: int, log_dir: Path
) -> list[subprocess.Popen[bytes]]:
    api_log = (log_dir / "api.log").open("wb")
    worker_log = (log_dir / "worker.log").open("wb")
    api = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "backend:create_app()", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--threads", "4"],
        cwd=ROOT, env=env, stdout=api_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "worker", "worker", "--loglevel", "WARNING",
         "--concurrency", str(workers), "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=worker_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    return [api, worker]


def wait_ready(base: str, deadline: float, path: str = "/health") -> None:
    """Wait until GET base+path answers 200 (the API's readiness probe by default)."""
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}{path}", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise TimeoutError("the API did not become healthy")


def submit_all(http: requests.Session, base: str, pages: list[str]) -> dict[str, dict[str, Any]]:
    jobs = {}
    for page in pages:
        response = http.post(
            f"{base}/api/v1/jobs", json={"sales_page_url": page, "max_images": 100}, timeout=30
        )
        response.raise_for_status()
        jobs[page] = response.json()
    return jobs


def wait_all(
    http: requests.Session,
    base: str,
    jobs: dict[str, dict[str, Any]],
    deadline: float,
    interval: float = 0.2,
    on_end: Callable[[str, dict[str, Any]], None] | None = None,
) -> None:
    """Poll the pending jobs until all have ended or the deadline passes; `jobs` gets their final state.

    Jobs run roughly in submission order, so each round polls them in that order and stops at
    the first one still pending: the poller costs the API a few requests a round, not one per
    job, and leaves the CPU to the workers being measured. `on_end(page, job)` is told of each
    job as soon as it is seen ended.
    """
    pending = dict(jobs)
    while pending and time.monotonic() < deadline:
        for page, job in list(pending.items()):
            current = http.get(f"{base}/api/v1/jobs/{job['id']}", timeout=10).json()
            if current["status"] not in TERMINAL:
                break
            jobs[page] = current
            del pending[page]
            if on_end is not None:
                on_end(page, current)
        time.sleep(interval)


def collect(http: requests.Session, base: str, job: dict[str, Any], store_dir: Path) -> list[dict[str, str]]:
    images = []
    url = f"{base}/api/v1/campaigns/{job['campaign_id']}/images?limit=100"
    for item in http.get(url, timeout=30).json()["items"]:
        data = (store_dir / item["storage_key"]).read_bytes()
        images.append({"url": item["original_url"], "checksum": hashlib.md5(data).hexdigest()})
    return images


def run(args: argparse.Namespace) -> dict[str, Any]:
    phases = Phases()
    out = Path(args.out).resolve()
    store_dir = out / "store"
    out.mkdir(parents=True, exist_ok=True)
    pages = [line.strip() for line in Path(args.pages).read_text().splitlines() if line.strip()]
    admin = os.environ.get("BENCH_PG_ADMIN", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
    redis.Redis.from_url(redis_url).flushdb()
    db_name, db_url = create_database(admin)
    port = free_port()
    env = {
        **os.environ, "APP_ENV": "development", "DATABASE_URL": db_url, "REDIS_URL": redis_url,
        "STORAGE_BACKEND": "local", "LOCAL_STORAGE_DIR": str(store_dir), "SCRAPER_ALLOW_PRIVATE": "true",
        "PORT": str(port), "VAR_DIR": str(out / "var"), "CELERY_CONCURRENCY": str(args.workers),
    }  # fmt: skip
    children: list[subprocess.Popen[bytes]] = []
    stopping: set[int] = set()

    def stop(child: subprocess.Popen[bytes]) -> None:
        """SIGTERM (graceful shutdown) once: a second one could cut Celery's warm shutdown short."""
        if child.pid not in stopping:
            stopping.add(child.pid)
            child.terminate()

    try:
        deadline = time.monotonic() + args.timeout
        # The API and the worker import for a second or two; the schema is made meanwhile. Neither
        # touches a table before the first request, which waits for the API's readiness below.
        children = start_children(env, port, args.workers, out)
        upgrade_to_head(db_url)
        settings = load_settings(database_url=db_url)
        database = Database(settings)
        with database.session() as session:
            key = issue_api_key(session, "bench@localhost").plaintext
            session.commit()
        database.dispose()
        phases.mark("database")
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, deadline)
        phases.mark("api_ready")
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {key}"
        started = time.monotonic()
        jobs = submit_all(http, base, pages)
        phases.mark("submitted")
        # Each job's images are read while the others still run, as a client would.
        with ThreadPoolExecutor(max_workers=COLLECT_THREADS) as pool:
            images: dict[str, Future[list[dict[str, str]]]] = {}

            def on_end(page: str, job: dict[str, Any]) -> None:
                if job["status"] == "succeeded":
                    images[page] = pool.submit(collect, http, base, job, store_dir)

            wait_all(http, base, jobs, deadline, on_end=on_end)
            phases.mark("jobs_done")
            wall = time.monotonic() - started
            # Every job has ended, so the workers' warm shutdown (about 3 s of Celery's and
            # billiard's own waits) overlaps the reading of the last results, which needs only the API.
            _api, worker = children
            stop(worker)
            found = {page: future.result() for page, future in images.items()}
        summary = write_results(jobs, found, out, wall)
        phases.mark("collected")
        # A kept-alive connection would hold each gunicorn worker for its linger time at stop.
        http.close()
        return summary
    finally:
        for child in children:
            stop(child)
        before = children_cpu_seconds()
        cpu: dict[str, float] = {}
        for name, child in zip(("api", "worker"), children, strict=False):
            child.wait(timeout=30)
            cpu[name], before = round(children_cpu_seconds() - before, 1), children_cpu_seconds()
        drop_database(admin, db_name)
        phases.mark("stopped")
        print(phases.report(), file=sys.stderr)
        if cpu:
            print(f"cpu seconds (user+sys of each process tree): {cpu}", file=sys.stderr)


def write_results(
    jobs: dict[str, dict[str, Any]], found: dict[str, list[dict[str, str]]], out: Path, wall: float
) -> dict[str, Any]:
    """items.jsonl (one line per page, its images from `found`) and summary.json; the summary."""
    statuses: dict[str, int] = {}
    saved = 0
    with (out / "items.jsonl").open("w") as handle:
        for page, job in jobs.items():
            images = found.get(page, [])
            statuses[job["status"]] = statuses.get(job["status"], 0) + 1
            saved += len(images)
            handle.write(json.dumps({"url": page, "job": job, "images": images}) + "\n")
    summary = {"pages": len(jobs), "statuses": statuses, "images_saved": saved, "wall_seconds": round(wall, 2),
               "images_per_second": round(saved / wall, 1) if wall else None}  # fmt: skip
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", default=os.environ.get("BENCH_PAGES"))
    parser.add_argument("--out", default=os.environ.get("BENCH_OUT"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=float(os.environ.get("BENCH_TIMEOUT", "900")))
    args = parser.parse_args()
    if not (args.pages and args.out):
        parser.error("--pages and --out (or BENCH_PAGES and BENCH_OUT) are required")
    print(json.dumps(run(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
