"""`python -m backend.verify_migrations`: exit 0 when healthy, 1 naming what is wrong."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from backend.migrate import upgrade_to_head
from backend.verify_migrations import verify
from tests import services
from tests.migration_tools import add_revision, copy_migrations, current_head, fresh_database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def migrated_url(postgres_server: services.PostgresServer) -> Iterator[str]:
    """A fresh Postgres database migrated to head."""
    with fresh_database(postgres_server.admin_url, prefix="scraper_verify") as url:
        upgrade_to_head(url, attempts=1)
        yield url


def run_verify(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.verify_migrations", *args],
        cwd=ROOT,
        check=False,
        env={**os.environ, "DATABASE_URL": database_url, "APP_ENV": "development"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def execute(url: str, sql: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def test_fresh_database_is_healthy(migrated_url):
    """A freshly migrated database passes: exit 0 and an OK line."""
    result = run_verify(migrated_url)
    assert result.returncode == 0, result.stdout
    assert "OK: migrations and schema are healthy" in result.stdout
    assert f"database revision: {current_head()}" in result.stdout


def test_json_report(migrated_url):
    """--json prints one object with the verdict, the head and the database revision."""
    result = run_verify(migrated_url, "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0
    assert report["healthy"] is True
    assert report["heads"] == [current_head()]
    assert report["database_revisions"] == [current_head()]
    assert report["problems"] == []


def test_dropped_index_fails_naming_it(migrated_url):
    """An index dropped by hand makes the check fail with the index's name."""
    execute(migrated_url, "DROP INDEX ix_jobs_status_updated_at")
    result = run_verify(migrated_url)
    assert result.returncode == 1
    assert "PROBLEM: missing index ix_jobs_status_updated_at on jobs (status, updated_at)" in result.stdout


def test_dropped_descending_index_is_noticed(migrated_url):
    """The (campaign_id, quality_score DESC) expression index is compared too."""
    execute(migrated_url, "DROP INDEX ix_scraped_images_campaign_id_quality_score")
    report = verify(migrated_url)
    assert [p for p in report.problems if "ix_scraped_images_campaign_id_quality_score" in p] != []


def test_dropped_unique_and_foreign_key_are_named(migrated_url):
    """A missing unique constraint and a missing foreign key are each named."""
    execute(
        migrated_url, "ALTER TABLE scraped_images DROP CONSTRAINT uq_scraped_images_campaign_id_content_hash"
    )
    execute(migrated_url, "ALTER TABLE jobs DROP CONSTRAINT fk_jobs_campaign_id_campaigns")
    problems = verify(migrated_url).problems
    assert any("unique constraint uq_scraped_images_campaign_id_content_hash" in p for p in problems)
    assert any("foreign key fk_jobs_campaign_id_campaigns" in p for p in problems)


def test_dropped_column_is_named(migrated_url):
    """A column the models declare but the database lacks is named table.column."""
    execute(migrated_url, "ALTER TABLE jobs DROP COLUMN heartbeat_at")
    assert "missing column jobs.heartbeat_at" in verify(migrated_url).problems


def test_extra_index_is_only_a_warning(migrated_url):
    """An index the models do not declare is reported but does not fail the check."""
    execute(migrated_url, "CREATE INDEX ix_ops_users_created_at ON users (created_at)")
    result = run_verify(migrated_url)
    assert result.returncode == 0
    assert "warning: index ix_ops_users_created_at on users is in the database but not in the models" in (
        result.stdout
    )


def test_database_behind_head_fails(tmp_path, migrated_url):
    """A database one revision behind the scripts' head fails, naming both revisions."""
    scripts = copy_migrations(tmp_path / "migrations")
    add_revision(scripts, "cccc00000003", current_head(), "next step")
    result = run_verify(migrated_url, "--script-location", str(scripts))
    assert result.returncode == 1
    assert f"the database is at {current_head()}, not at head cccc00000003" in result.stdout


def test_never_migrated_database_fails(postgres_server):
    """An empty database fails: no revision, and each missing table is named."""
    with fresh_database(postgres_server.admin_url, prefix="scraper_verify") as url:
        report = verify(url)
    assert not report.healthy
    assert report.database_revisions == []
    assert "missing table scraped_images" in report.problems


def test_two_heads_fail_naming_both(tmp_path, migrated_url):
    """Two heads in the scripts fail the check with exit 1, naming both revisions."""
    scripts = copy_migrations(tmp_path / "migrations")
    add_revision(scripts, "aaaa00000001", current_head(), "branch one")
    add_revision(scripts, "bbbb00000002", current_head(), "branch two")
    result = run_verify(migrated_url, "--json", "--script-location", str(scripts))
    report = json.loads(result.stdout)
    assert result.returncode == 1
    assert report["heads"] == ["aaaa00000001", "bbbb00000002"]
    assert any("2 heads: aaaa00000001, bbbb00000002" in p for p in report["problems"])


def test_unreachable_database_fails():
    """A database that does not answer fails the check instead of crashing."""
    result = run_verify(f"postgresql://postgres@127.0.0.1:{services.free_port()}/nope")
    assert result.returncode == 1
    assert "PROBLEM: cannot inspect the database" in result.stdout


def test_dropped_check_constraint_is_named(migrated_url):
    """A CHECK constraint of the models missing from the database fails the check, by name."""
    execute(migrated_url, "ALTER TABLE jobs DROP CONSTRAINT ck_jobs_job_status")
    problems = verify(migrated_url).problems
    assert problems == ["missing check constraint ck_jobs_job_status on jobs"]


def test_check_constraint_allowing_other_values_is_named(migrated_url):
    """A CHECK constraint with the same name but a different list of values fails the check."""
    execute(migrated_url, "ALTER TABLE scraped_images DROP CONSTRAINT ck_scraped_images_image_type")
    execute(
        migrated_url,
        "ALTER TABLE scraped_images ADD CONSTRAINT ck_scraped_images_image_type "
        "CHECK (image_type IN ('hero', 'product'))",
    )
    (problem,) = verify(migrated_url).problems
    assert problem.startswith("check constraint ck_scraped_images_image_type on scraped_images differs")
    assert "'lifestyle'" in problem
