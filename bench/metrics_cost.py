"""What a /metrics scrape costs as the jobs table grows: the uncached aggregates against a cached scrape.

Makes a throwaway Postgres database (`alembic upgrade head`), fills `jobs` with
`--rows` finished and queued jobs in steps, and at each step times, best of
`--repeat`: the job aggregates read fresh (what every scrape cost before the cache), and
`GET /metrics` through the app with the cache warm (what a scrape costs now within
METRICS_CACHE_SECONDS). Prints rows, both times and the microseconds per thousand rows.

    python -m bench.metrics_cost [--rows 1000000] [--steps 4] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from backend import create_app
from backend.metrics import JobCollector, render_metrics
from backend.migrate import upgrade_to_head
from backend.settings import load_settings

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")

FILL = text(
    """
    INSERT INTO jobs (id, user_id, campaign_id, sales_page_url, max_images, status, attempts,
                      images_found, images_processed, images_saved, images_skipped, images_failed,
                      created_at, updated_at, started_at, finished_at)
    SELECT gen_random_uuid(), :user_id, :campaign_id, 'https://shop.example/p/' || n, 10,
           CASE WHEN n % 10 = 0 THEN 'queued' WHEN n % 7 = 0 THEN 'failed' ELSE 'succeeded' END,
           1, 12, 12, 8, 3, 1, now(), now(),
           now() - make_interval(secs => 30 + n % 300), now() - make_interval(secs => n % 30)
    FROM generate_series(1, :count) AS n
    """
)


def _best(repeat: int, action: object) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return min(times)


def _seed(url: str) -> tuple[uuid.UUID, uuid.UUID]:
    engine = create_engine(url, poolclass=NullPool)
    user_id, campaign_id = uuid.uuid4(), uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO users (id, email, created_at) VALUES (:id, 'bench@example.test', now())"),
            {"id": user_id},
        )
        conn.execute(
            text("INSERT INTO campaigns (id, user_id, created_at) VALUES (:id, :user_id, now())"),
            {"id": campaign_id, "user_id": user_id},
        )
    engine.dispose()
    return user_id, campaign_id


def run(rows: int, steps: int, repeat: int) -> list[dict[str, float]]:
    name = f"bench_metrics_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    results = []
    try:
        upgrade_to_head(url)
        user_id, campaign_id = _seed(url)
        settings = load_settings(app_env="test", database_url=url, var_dir=Path(tempfile.mkdtemp()))
        app = create_app(settings)
        db = app.extensions["scraper"].db
        client = app.test_client()
        filler = create_engine(url, poolclass=NullPool)
        done = 0
        for step in range(1, steps + 1):
            count = rows * step // steps - done
            with filler.begin() as conn:
                conn.execute(FILL, {"count": count, "user_id": user_id, "campaign_id": campaign_id})
                conn.execute(text("ANALYZE jobs"))
            done += count
            fresh = _best(repeat, lambda: render_metrics(JobCollector(db, max_age=0)))
            client.get("/metrics")  # warms the app's cache
            cached = _best(repeat, lambda: client.get("/metrics"))
            results.append(
                {
                    "rows": done,
                    "fresh_seconds": round(fresh, 4),
                    "cached_seconds": round(cached, 5),
                    "fresh_us_per_1000_rows": round(fresh * 1e6 / (done / 1000), 1),
                }
            )
        filler.dispose()
        db.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = run(args.rows, args.steps, args.repeat)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'rows':>10} {'fresh s':>9} {'cached s':>9} {'µs/1000 rows':>13}")
    for r in results:
        print(
            f"{r['rows']:>10} {r['fresh_seconds']:>9} {r['cached_seconds']:>9} {r['fresh_us_per_1000_rows']:>13}"
        )


if __name__ == "__main__":
    main()
