"""Run the whole service (API + Celery workers on Postgres and Redis) over a list of pages and record what it kept.

Usage (also the `SERVICE_CMD` hook of an external benchmark harness):

    python -m bench.run_service --pages pages.txt --out OUT [--workers 2] [--timeout 900]

It starts gunicorn and a Celery worker as children, makes a throwaway Postgres database
meanwhile (bench.service_client, imported once they are started), submits one job per page
(each in its own campaign) through the API, polls until every job has ended, and writes:

* OUT/items.jsonl - one line per page: {"url", "job": {...}, "images": [{"url", "checksum"}]}
* OUT/store/      - the stored objects (local storage backend)
* OUT/summary.json - pages, jobs by status, images saved, wall seconds, images/s

Environment: BENCH_PG_ADMIN (default postgresql+psycopg2://postgres@127.0.0.1:5432/postgres),
BENCH_REDIS_URL (default redis://127.0.0.1:6379/12; the db is flushed).
Loopback only; it stops by itself after --timeout seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import redis

from bench.service_setup import ROOT, database_url, free_port, new_database_name

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


def run(args: argparse.Namespace) -> dict[str, Any]:
    phases = Phases()
    out = Path(args.out).resolve()
    store_dir = out / "store"
    out.mkdir(parents=True, exist_ok=True)
    pages = [line.strip() for line in Path(args.pages).read_text().splitlines() if line.strip()]
    admin = os.environ.get("BENCH_PG_ADMIN", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
    redis.Redis.from_url(redis_url).flushdb()  # before the worker declares its queues there
    db_name = new_database_name()
    db_url = database_url(admin, db_name)
    port = free_port()
    env = {
        **os.environ, "APP_ENV": "development", "DATABASE_URL": db_url, "REDIS_URL": redis_url,
        "STORAGE_BACKEND": "local", "LOCAL_STORAGE_DIR": str(store_dir), "SCRAPER_ALLOW_PRIVATE": "true",
        "PORT": str(port), "VAR_DIR": str(out / "var"), "CELERY_CONCURRENCY": str(args.workers),
    }  # fmt: skip
    children: list[subprocess.Popen[bytes]] = []
    cleanups: list[Callable[[], None]] = []
    stopping: set[int] = set()

    def stop(child: subprocess.Popen[bytes]) -> None:
        """SIGTERM (graceful shutdown) once: a second one could cut Celery's warm shutdown short."""
        if child.pid not in stopping:
            stopping.add(child.pid)
            child.terminate()

    try:
        deadline = time.monotonic() + args.timeout
        # The API and the worker import for a second or two, and so does the client below: the
        # children start first. Neither touches the database before the first request, which
        # waits for the API's readiness (its /health checks the database) after the schema is made.
        children = start_children(env, port, args.workers, out)
        from bench import service_client as client  # noqa: PLC0415 - imported while the children import theirs

        client.create_database(admin, db_name)
        cleanups.append(lambda: client.drop_database(admin, db_name))
        key = client.migrate_and_issue_key(db_url)
        phases.mark("database")
        base = f"http://127.0.0.1:{port}"
        client.wait_ready(base, deadline)
        phases.mark("api_ready")
        http = client.api_session(key)
        started = time.monotonic()
        jobs = client.submit_all(http, base, pages)
        phases.mark("submitted")
        # Each job's images are read while the others still run, as a client would.
        with ThreadPoolExecutor(max_workers=COLLECT_THREADS) as pool:
            images: dict[str, Future[list[dict[str, str]]]] = {}

            def on_end(page: str, job: dict[str, Any]) -> None:
                if job["status"] == "succeeded":
                    images[page] = pool.submit(client.collect, http, base, job, store_dir)

            client.wait_all(http, base, jobs, deadline, on_end=on_end)
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
        for cleanup in reversed(cleanups):
            cleanup()
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
