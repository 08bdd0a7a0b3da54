"""Through a real PgBouncer in transaction mode: the job path and a small load (DB_NULLPOOL=true), and migrations."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from backend.migrate import MIGRATION_LOCK_ID
from backend.verify_migrations import verify
from tests import services
from tests.faults.conftest import ConnectionSampler, submit_many, tiny_page, wait_all_finished
from tests.migration_tools import fresh_database
from tests.processes import ROOT

pytestmark = pytest.mark.faults

MAX_CLIENT_CONN = 20
DEFAULT_POOL_SIZE = 4
# What transaction pooling cannot carry: session state set or held outside one transaction.
# pgbouncer's own parameter sync (SET application_name=… before a client's query) is its business.
SESSION_FEATURES = re.compile(r"^\s*(PREPARE\b|SET\s+(?!LOCAL\b)|.*pg_(try_)?advisory_lock\b|LISTEN\b)", re.I)
PGBOUNCER_SYNC = re.compile(r"^\s*SET\s+(application_name|client_encoding|DateStyle|TimeZone)\b", re.I)


@pytest.fixture
def pgbouncer(postgres_server: services.PostgresServer) -> Iterator[services.PgBouncer]:
    binary = services.pgbouncer_binary()
    if binary is None:
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer; .ci/run installs it)")
    bouncer = services.start_pgbouncer(
        postgres_server.admin_url,
        max_client_conn=MAX_CLIENT_CONN,
        default_pool_size=DEFAULT_POOL_SIZE,
        binary=binary,
    )
    yield bouncer
    bouncer.stop()


def test_job_path_and_load_through_pgbouncer_in_transaction_mode(
    cluster, db, shop, s3_server, pgbouncer, database_url
):
    """A full job and 40 concurrent small ones succeed via PgBouncer; no refused connection, no session features."""
    system = cluster(database_url=pgbouncer.url(database_url), db_nullpool=True)
    system.start_api()
    system.start_worker(concurrency=2)
    client = system.client
    assert client.get("/health").status_code == 200

    campaign_id = str(uuid.uuid4())
    page = shop.url(shop.manifest.pages["basic"].path)
    with ConnectionSampler(db, make_url(database_url).database) as sampler:
        job = client.post("/api/v1/jobs", json={"sales_page_url": page, "campaign_id": campaign_id}).json()
        final = client.wait_for_job(job["id"], timeout=60)
        assert final["status"] == "succeeded", (final, system.logs())
        items = client.get(f"/api/v1/campaigns/{campaign_id}/images").json()["items"]
        assert len(items) == final["progress"]["images_saved"] >= 3

        started = time.monotonic()
        ids = submit_many(client, tiny_page(shop), 40)
        counts = wait_all_finished(db, ids, timeout=90)
        load_seconds = time.monotonic() - started
    assert counts == {"succeeded": 40}, (counts, system.logs())

    logs = pgbouncer.log_text() + "".join(p.log_path.read_text(errors="replace") for p in system.started)
    assert "no more connections allowed" not in logs
    assert "prepared statement" not in logs.lower()
    used = {
        query
        for query in sampler.queries
        if SESSION_FEATURES.match(query) and not PGBOUNCER_SYNC.match(query)
    }
    assert not used, used
    assert sampler.peak <= DEFAULT_POOL_SIZE, "PgBouncer caps the server connections at its pool size"
    print(
        f"40 jobs via pgbouncer in {load_seconds:.1f}s; peak server connections {sampler.peak} "
        f"(pool {DEFAULT_POOL_SIZE}); {len(sampler.queries)} distinct statements seen, none session-level"
    )


class Traffic:
    """Short transactions from a few threads through the pooler, so its server connections are shared."""

    def __init__(self, url: str, threads: int = 3) -> None:
        self.engine = create_engine(url, poolclass=NullPool)
        self.stop = threading.Event()
        self.count = 0
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        while not self.stop.is_set():
            with self.engine.begin() as connection:
                connection.execute(text("SELECT pg_sleep(0.005)"))
            self.count += 1

    def __enter__(self) -> Traffic:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)
        self.engine.dispose()


def migration_locks_held(admin_url: str) -> int:
    """Advisory locks on MIGRATION_LOCK_ID held by any server connection, as Postgres itself sees them."""
    engine = create_engine(admin_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = :id"),
                    {"id": MIGRATION_LOCK_ID},
                ).scalar_one()
            )
    finally:
        engine.dispose()


def run_migrators(url: str, count: int, lock_wait: float) -> list[subprocess.CompletedProcess[str]]:
    env = {**os.environ, "DATABASE_URL": url, "DATABASE_DIRECT_URL": ""}
    args = [sys.executable, "-m", "backend.migrate", "--attempts", "2", "--lock-wait", str(lock_wait)]
    runners = [
        subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(count)
    ]
    outputs = [runner.communicate(timeout=60)[0] for runner in runners]
    return [
        subprocess.CompletedProcess(runner.args, runner.returncode, output, "")
        for runner, output in zip(runners, outputs, strict=True)
    ]


def test_migrating_through_pgbouncer_leaves_no_lock_behind(postgres_server, pgbouncer):
    """Two migrators through the transaction pooler, with other traffic: both succeed, no lock outlives them."""
    with fresh_database(postgres_server.admin_url, prefix="scraper_bouncer") as direct_url:
        # More traffic threads than the pooler has server connections: a client's next
        # transaction lands on whichever server connection is free.
        with Traffic(pgbouncer.url(direct_url), threads=DEFAULT_POOL_SIZE + 2) as traffic:
            held_after = []
            for _round in range(2):
                runs = run_migrators(pgbouncer.url(direct_url), 2, lock_wait=10)
                assert [run.returncode for run in runs] == [0, 0], [run.stdout for run in runs]
                held_after.append(migration_locks_held(postgres_server.admin_url))
            # The next deploy's migrator must not wait for a lock that nobody holds.
            (last,) = run_migrators(pgbouncer.url(direct_url), 1, lock_wait=2)
        assert traffic.count > 0
        assert held_after == [0, 0], "an advisory lock stayed on a pooler server connection"
        assert last.returncode == 0, last.stdout
        assert "migrate.up_to_date" in last.stdout
        assert verify(direct_url).healthy
