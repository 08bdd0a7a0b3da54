"""Speed benchmark of the whole service against a bare download-decode-hash floor, in one run.

Usage:

    python -m bench.speed [--pages 48] [--big-pages 4] [--workers 2] [--scaling] [--json out.json]

It builds its own shop site (bench/corpus.py) and serves it on loopback, starts moto's S3
server, makes a throwaway Postgres database, starts the API (gunicorn) and `--workers`
Celery worker processes on Redis, submits one job per page, polls to completion, then:

* the floor: every image file of the site fetched over keep-alive by 8 threads in
  `--workers` processes, fully decoded by Pillow and MD5-hashed, nothing stored;
* the API latency check: POST /api/v1/jobs, GET /api/v1/jobs/{id} and the bare
  /health/live under the same gunicorn, LATENCY_REQUESTS each from LATENCY_THREADS
  threads (the Celery worker is stopped first, so jobs only queue).

It prints pages, images saved, wall seconds, images/s, the peak RSS of the API and the
worker process trees (sampled from /proc), the most Postgres connections the service held
(pg_stat_activity, application_name 'image-scraper:%') against its configured budget,
ours/floor, and the latency ratios; `--json` writes the same numbers. With `--scaling` it
does all of that with 1 worker process and then with `--workers`, and also prints how many
times the images/s grew and how many times the floor got faster from 1 to `--workers`
processes in the same runs: the hardware's own scaling, which the service's is measured
against (the site server, Postgres and the API share the cores). Loopback only;
every child is bounded by --timeout. Environment: BENCH_PG_ADMIN, BENCH_REDIS_URL
(see bench/run_service.py; the Redis db is flushed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import redis
import requests

from backend.db import Database
from backend.settings import Settings, load_settings
from bench.probes import Children, PeakSampler, floor_run, latency_check
from bench.service_client import (
    create_database,
    drop_database,
    migrate_and_issue_key,
    submit_all,
    wait_all,
    wait_ready,
)
from bench.service_setup import ROOT, database_url, free_port, new_database_name

S3_KEY, S3_SECRET, BUCKET = "bench-key", "bench-secret", "bench"
API_PROCESSES, API_THREADS = 2, 4


def build_site(root: Path, pages: int, big_pages: int) -> list[str]:
    """Build the corpus in a child (its Pillow work stays out of this process); the page paths."""
    import subprocess  # noqa: PLC0415

    subprocess.run(
        [sys.executable, "-m", "bench.corpus", "build", str(root),
         "--pages", str(pages), "--big-pages", str(big_pages)],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return (root / "pages.txt").read_text().split()


def service_env(db_url: str, redis_url: str, s3_endpoint: str, workers: int, var: Path) -> dict[str, str]:
    return {
        **os.environ, "APP_ENV": "development", "DATABASE_URL": db_url, "REDIS_URL": redis_url,
        "STORAGE_BACKEND": "s3", "R2_ENDPOINT_URL": s3_endpoint, "R2_ACCESS_KEY_ID": S3_KEY,
        "R2_SECRET_ACCESS_KEY": S3_SECRET, "R2_BUCKET": BUCKET, "R2_PUBLIC_BASE_URL": f"{s3_endpoint}/{BUCKET}",
        "SCRAPER_ALLOW_PRIVATE": "true", "CELERY_CONCURRENCY": str(workers), "VAR_DIR": str(var),
        "RATE_LIMIT": "1000000 per minute", "AWS_ACCESS_KEY_ID": S3_KEY, "AWS_SECRET_ACCESS_KEY": S3_SECRET,
        "WEB_CONCURRENCY": str(API_PROCESSES), "GUNICORN_THREADS": str(API_THREADS), "GUNICORN_LOG_LEVEL": "warning",
    }  # fmt: skip


def connection_budget(settings: Settings, workers: int) -> int:
    """Most connections the service may open: each API and worker process's pool plus overflow."""
    per_process = settings.db_pool_size + settings.db_max_overflow
    return (API_PROCESSES + workers + 1) * per_process  # +1: the Celery parent process


def make_bucket(endpoint: str) -> None:
    client = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=S3_KEY, aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
    )  # fmt: skip
    client.create_bucket(Bucket=BUCKET)


def count_saved(db_url: str) -> int:
    database = Database(load_settings(database_url=db_url))
    with database.session() as session:
        from sqlalchemy import text  # noqa: PLC0415

        saved = int(session.execute(text("SELECT count(*) FROM scraped_images")).scalar_one())
    database.dispose()
    return saved


def image_urls(site: Path, base: str) -> list[str]:
    """Every image file of the site, by its literal path (the floor downloads all of them)."""
    suffixes = {".jpg", ".jpeg", ".png", ".webp", ".gif"}
    return sorted(
        f"{base}/{path.relative_to(site).as_posix()}"
        for path in site.rglob("*")
        if path.suffix.lower() in suffixes and path.is_file()
    )


def scrape(args: argparse.Namespace, children: Children, work: Path) -> dict[str, Any]:
    """Everything from the empty database to the latency check; the result dictionary."""
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
    redis.Redis.from_url(redis_url).flushdb()
    deadline = time.monotonic() + args.timeout
    site_port, s3_port, api_port = free_port(), free_port(), free_port()
    site = work / "site"
    pages = build_site(site, args.pages, args.big_pages)
    children.start("site", [sys.executable, "-m", "bench.corpus", "serve", str(site),
                            "--port", str(site_port), "--max-seconds", str(args.timeout)], work)  # fmt: skip
    children.start("s3", [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1",
                          "-p", str(s3_port)], work)  # fmt: skip
    site_base, s3_endpoint = f"http://127.0.0.1:{site_port}", f"http://127.0.0.1:{s3_port}"
    wait_ready(site_base, deadline, path=pages[0])
    wait_ready(s3_endpoint, deadline, path="/")
    make_bucket(s3_endpoint)
    db_name = new_database_name()
    db_url = database_url(args.admin, db_name)
    create_database(args.admin, db_name)
    children.cleanups.append(lambda: drop_database(args.admin, db_name))
    key = migrate_and_issue_key(db_url)
    env = service_env(db_url, redis_url, s3_endpoint, args.workers, work / "var")
    api = children.start("api", [sys.executable, "-m", "gunicorn", "backend:create_app()",
                                 "--bind", f"127.0.0.1:{api_port}"], work, env=env)  # fmt: skip
    worker = children.start("worker", [sys.executable, "-m", "celery", "-A", "worker", "worker",
                                       "--loglevel", "WARNING", "--concurrency", str(args.workers),
                                       "--without-gossip", "--without-mingle"], work, env=env)  # fmt: skip
    api_base = f"http://127.0.0.1:{api_port}"
    wait_ready(api_base, deadline, path="/health")
    time.sleep(2)  # let the worker processes finish booting before the clock starts
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {key}"
    urls = [site_base + path for path in pages]
    with PeakSampler({"api": api.pid, "worker": worker.pid}, args.admin, db_name) as sampler:
        started = time.monotonic()
        jobs = wait_all_jobs(http, api_base, urls, deadline)
        wall = time.monotonic() - started
    statuses: dict[str, int] = {}
    for job in jobs.values():
        statuses[job["status"]] = statuses.get(job["status"], 0) + 1
    children.stop("worker")
    saved = count_saved(db_url)
    floor = floor_run(image_urls(site, site_base), processes=args.workers, deadline=deadline)
    latency = latency_check(api_base, key, site_base + pages[0], requests_per_route=args.latency_requests)
    settings = load_settings(database_url=db_url)
    return {
        "pages": len(pages), "big_pages": args.big_pages, "workers": args.workers, "statuses": statuses,
        "images_saved": saved, "wall_seconds": round(wall, 2), "images_per_second": round(saved / wall, 1),
        "peak_rss_mb": sampler.peak_rss_mb(), "pg_connections_max": sampler.max_connections,
        "pg_connections_budget": connection_budget(settings, args.workers),
        "floor": floor, "ours_over_floor": round(wall / floor["wall_seconds"], 2), "latency": latency,
        "load_average_at_end": os.getloadavg(),
    }  # fmt: skip


def wait_all_jobs(http: requests.Session, base: str, urls: list[str], deadline: float) -> dict[str, Any]:
    jobs = submit_all(http, base, urls)
    wait_all(http, base, jobs, deadline, interval=0.25)
    return jobs


def print_report(result: dict[str, Any]) -> None:
    rss, floor, lat = result["peak_rss_mb"], result["floor"], result["latency"]
    lines = [
        f"pages              {result['pages']} ({result['big_pages']} of 30-MP photos), statuses {result['statuses']}",
        f"images saved       {result['images_saved']}",
        f"wall seconds       {result['wall_seconds']}  ({result['workers']} worker processes)",
        f"images/s           {result['images_per_second']}",
        f"peak RSS MB        api tree {rss['api_tree']}, worker tree {rss['worker_tree']},"
        f" largest worker process {rss['worker_process_max']}",
        f"pg connections     max {result['pg_connections_max']} (budget {result['pg_connections_budget']})",
        f"floor              {floor['images']} images, {floor['megabytes']} MB in {floor['wall_seconds']} s"
        f" ({floor['processes']} processes x {floor['threads']} threads)",
        f"ours / floor       {result['ours_over_floor']}",
    ]
    for route in ("post_job", "get_job"):
        lines.append(
            f"latency {route:10} mean {lat[route]['mean_ms']} ms vs bare {lat['bare']['mean_ms']} ms"
            f" -> {lat[route + '_over_bare']}x (p50 {lat[route]['p50_ms']} / {lat['bare']['p50_ms']} ms)"
        )
    lines.append(f"load average       {tuple(round(x, 2) for x in result['load_average_at_end'])} at the end")
    print("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=48, help="platform-shaped product pages")
    parser.add_argument("--big-pages", type=int, default=4, help="pages of ~30-megapixel JPEGs")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--latency-requests", type=int, default=300, help="requests per route")
    parser.add_argument("--timeout", type=float, default=600, help="hard limit for the whole run, seconds")
    parser.add_argument(
        "--scaling", action="store_true", help="run with 1 and then `--workers` processes; print both ratios"
    )
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    args.admin = os.environ.get("BENCH_PG_ADMIN", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    runs = []
    for workers in (1, args.workers) if args.scaling else (args.workers,):
        with (
            tempfile.TemporaryDirectory(prefix=f"speed-{uuid.uuid4().hex[:6]}-") as tmp,
            Children() as children,
        ):
            runs.append(scrape(argparse.Namespace(**{**vars(args), "workers": workers}), children, Path(tmp)))
        print_report(runs[-1])
    output: dict[str, Any] = runs[-1]
    if args.scaling:
        output = {"runs": runs, "scaling": scaling(runs[0], runs[-1])}
        print_scaling(output["scaling"])
    if args.json:
        args.json.write_text(json.dumps(output, indent=2))
    return 0


def scaling(one: dict[str, Any], many: dict[str, Any]) -> dict[str, Any]:
    """How much more the service clears with more workers, beside what the floor gains from more processes."""
    return {
        "workers": many["workers"],
        "ours": round(many["images_per_second"] / one["images_per_second"], 2),
        "floor": round(one["floor"]["wall_seconds"] / many["floor"]["wall_seconds"], 2),
    }


def print_scaling(result: dict[str, Any]) -> None:
    print(
        f"scaling 1 -> {result['workers']}     ours {result['ours']}x images/s;"
        f" the floor {result['floor']}x (1 -> {result['workers']} processes, same runs)"
    )


if __name__ == "__main__":
    sys.exit(main())
