"""Through a real PgBouncer in transaction mode with DB_NULLPOOL=true: the job path and a small load pass."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from tests import services
from tests.faults.conftest import ConnectionSampler, submit_many, tiny_page, wait_all_finished

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
