"""The schema gate: a worker takes no job while the database is behind the code, and /health says so (503)."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from backend.db import Database
from backend.migrate import upgrade_to_head
from backend.runtime import Runtime
from backend.schema_state import SchemaHeadsError
from backend.storage import make_store
from tests import processes
from tests.factories import create_job
from tests.faults.conftest import tiny_page
from tests.migration_tools import add_revision, copy_migrations, current_head, downgrade_one, fresh_database
from worker.runner import execute_job
from worker.schema_gate import wait_for_schema

pytestmark = pytest.mark.faults


@pytest.fixture
def behind_url(postgres_server):
    """A database one revision behind the code's head."""
    with fresh_database(postgres_server.admin_url, prefix="scraper_gate") as url:
        upgrade_to_head(url)
        downgrade_one(url)
        yield url


def log_has(process: processes.ServiceProcess, text: str) -> bool:
    return process.log_path.exists() and text in process.log_path.read_text(errors="replace")


def test_worker_waits_for_the_migration_and_health_reports_the_schema(cluster, behind_url, tmp_path):
    """Behind: the worker waits without consuming and /health is 503 `schema: behind`; once migrated, both go on."""
    system = cluster(database_url=behind_url, schema_wait_seconds=60, storage_backend="local")
    worker = processes.worker_process(system.env, tmp_path, name="gated").start()
    system.started.append(worker)
    processes.wait_until(
        lambda: log_has(worker, "worker.schema.waiting state=behind"), timeout=30, what="the gate's wait"
    )
    system.start_api()
    behind = requests.get(f"{system.base_url}/health", timeout=10)
    assert not log_has(worker, " ready."), "the worker consumed while the schema was behind"
    assert worker.alive()

    upgrade_to_head(behind_url)  # another service migrates
    processes.wait_for_worker(worker)
    after = requests.get(f"{system.base_url}/health", timeout=10)

    assert (behind.status_code, behind.json()["schema"]) == (503, "behind")
    assert (after.status_code, after.json()["schema"]) == (200, "ok")
    assert log_has(worker, f"worker.schema state=ok head={current_head()}")


def test_worker_exits_when_the_schema_stays_behind(cluster, behind_url, tmp_path):
    """After SCHEMA_WAIT_SECONDS behind, the worker exits 69 (unavailable) with one line, never having consumed."""
    system = cluster(database_url=behind_url, schema_wait_seconds=1, storage_backend="local")
    worker = processes.worker_process(system.env, tmp_path, name="refused").start()
    system.started.append(worker)
    assert worker.process is not None
    code = worker.process.wait(timeout=60)
    assert code == 69, worker.log_tail()
    assert log_has(worker, 'worker.schema.refused error="the database schema is behind')
    assert not log_has(worker, " ready.")


def test_two_heads_in_the_scripts_are_refused_at_once(make_settings, database_url, tmp_path):
    """A build whose migration scripts have two heads is refused before any wait."""
    scripts = copy_migrations(tmp_path / "migrations")
    add_revision(scripts, "aaaa00000001", current_head())
    add_revision(scripts, "bbbb00000002", current_head())
    with pytest.raises(SchemaHeadsError, match="2 heads"):
        wait_for_schema(make_settings(database_url=database_url, schema_wait_seconds=60), scripts)


def test_a_job_failing_on_a_schema_error_leaves_no_object_behind(
    make_settings, postgres_server, s3_settings, s3_server, shop
):
    """The final commit fails on a column the database lacks; the uploaded objects are removed all the same."""
    with fresh_database(postgres_server.admin_url, prefix="scraper_schema_err") as url:
        upgrade_to_head(url)
        settings = make_settings(database_url=url, **s3_settings)
        db = Database(settings)
        try:
            with db.session() as session:
                job = create_job(session, url=tiny_page(shop))
                session.commit()
                job_id, campaign_id = job.id, job.campaign_id
            with db.engine.begin() as connection:  # the schema the code expects, minus one column
                connection.execute(text("ALTER TABLE scraped_images DROP COLUMN thumbnail_key"))
            with pytest.raises(ProgrammingError, match="thumbnail_key"):
                execute_job(Runtime(settings=settings, db=db, store=make_store(settings)), job_id)
        finally:
            db.dispose()
    left = [key for key in s3_server.object_keys() if key.startswith(f"campaigns/{campaign_id}/")]
    assert left == []
