"""Migration hygiene: one head, upgrade/downgrade on Postgres and SQLite, models == migrations, the runner."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from backend.migrate import SCRIPT_LOCATION, alembic_config, script_heads, upgrade_to_head
from backend.models import Base
from backend.verify_migrations import verify
from tests import services
from tests.migration_tools import add_revision, copy_migrations, current_head, downgrade, fresh_database

ROOT = Path(__file__).resolve().parent.parent
MODEL_TABLES = set(Base.metadata.tables)


@pytest.fixture
def pg_url(postgres_server: services.PostgresServer) -> Iterator[str]:
    with fresh_database(postgres_server.admin_url) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'migrations.db'}"


@pytest.fixture(params=["postgres", "sqlite"])
def empty_url(request: pytest.FixtureRequest) -> str:
    """An empty database of each kind the service runs on."""
    return request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")


def table_names(url: str) -> set[str]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def schema_diff(url: str) -> list[object]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def run_migrate(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_module("backend.migrate", env, *args)


def run_module(module: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        check=False,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_exactly_one_head():
    """The migration history is linear: exactly one head."""
    assert len(script_heads()) == 1


def test_revision_files_are_date_prefixed():
    """Every revision file follows the date-prefixed template of alembic.ini."""
    names = [path.name for path in (SCRIPT_LOCATION / "versions").glob("*.py")]
    assert names
    assert [name for name in names if not re.fullmatch(r"\d{8}_\d{4}_[0-9a-z]+_\w+\.py", name)] == []


def test_upgrade_from_empty(empty_url):
    """An empty database upgrades to head and then holds every model table."""
    upgrade_to_head(empty_url, attempts=1)
    assert table_names(empty_url) == MODEL_TABLES | {"alembic_version"}
    assert verify(empty_url).problems == []


def test_models_match_migrations(empty_url):
    """Autogenerate finds no difference between the models and the migrated schema."""
    upgrade_to_head(empty_url, attempts=1)
    assert schema_diff(empty_url) == []


def test_downgrade_to_base_and_up_again(empty_url):
    """Every revision downgrades cleanly to base, and the history upgrades again afterwards."""
    upgrade_to_head(empty_url, attempts=1)
    downgrade(empty_url, "base")
    assert table_names(empty_url) <= {"alembic_version"}
    upgrade_to_head(empty_url, attempts=1)
    assert schema_diff(empty_url) == []


def test_alembic_cli_upgrade_head(empty_url):
    """`alembic upgrade head` from the repository root, as DESIGN.md documents, builds and commits the schema."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("alembic")), "upgrade", "head"],
        cwd=ROOT,
        check=False,
        env={**os.environ, "DATABASE_URL": empty_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert table_names(empty_url) == MODEL_TABLES | {"alembic_version"}


def test_upgrade_twice_is_a_no_op(pg_url):
    """Running the upgrade on a database already at head changes nothing."""
    upgrade_to_head(pg_url, attempts=1)
    upgrade_to_head(pg_url, attempts=1)
    assert verify(pg_url).database_revisions == [current_head()]


def test_two_revisions_with_one_parent_are_two_heads(tmp_path, pg_url):
    """Two revisions sharing a down_revision are reported by verify_migrations as two heads."""
    scripts = copy_migrations(tmp_path / "migrations")
    add_revision(scripts, "aaaa00000001", current_head(), "branch one")
    add_revision(scripts, "bbbb00000002", current_head(), "branch two")
    upgrade_to_head(pg_url, attempts=1)

    report = verify(pg_url, script_location=scripts)

    assert script_heads(scripts) == ("aaaa00000001", "bbbb00000002")
    assert not report.healthy
    assert any("aaaa00000001" in problem and "bbbb00000002" in problem for problem in report.problems)


def test_upgrade_refuses_two_heads(tmp_path, sqlite_url):
    """The runner refuses to migrate a history with two heads instead of picking one."""
    scripts = copy_migrations(tmp_path / "migrations")
    add_revision(scripts, "aaaa00000001", current_head())
    add_revision(scripts, "bbbb00000002", current_head())
    with pytest.raises(RuntimeError, match="2 heads"):
        upgrade_to_head(sqlite_url, attempts=1, script_location=scripts)
    assert table_names(sqlite_url) == set()


def test_concurrent_runners_take_turns(pg_url):
    """Two `python -m backend.migrate` started together both succeed; the advisory lock serializes them."""
    env = {**os.environ, "DATABASE_URL": pg_url}
    runners = [
        subprocess.Popen(
            [sys.executable, "-m", "backend.migrate"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [runner.communicate(timeout=120)[0] for runner in runners]

    assert [runner.returncode for runner in runners] == [0, 0], outputs
    assert sum("migrate.upgraded" in output for output in outputs) == 1, outputs
    assert sum("migrate.up_to_date" in output for output in outputs) == 1, outputs
    assert verify(pg_url).healthy


def test_runner_logs_each_step(pg_url):
    """The deploy runner prints one line per step and exits 0 at head."""
    result = run_migrate({"DATABASE_URL": pg_url})
    assert result.returncode == 0, result.stdout + result.stderr
    steps = re.findall(r"migrate\.[a-z_.]+", result.stdout)
    assert steps == [
        "migrate.start",
        "migrate.connected",
        "migrate.lock.acquired",
        "migrate.current",
        "migrate.lock.released",
        "migrate.upgraded",
        "migrate.done",
    ]


def test_runner_exits_non_zero_when_database_unreachable():
    """An unreachable database makes the runner fail with exit 1 after its retries, not continue."""
    port = services.free_port()
    result = run_migrate({"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/nope"}, "--attempts", "2")
    assert result.returncode == 1
    assert "migrate.retry attempt=1" in result.stdout
    assert "migrate.failed" in result.stdout


def test_runner_refuses_bad_production_config():
    """In production without DATABASE_URL the runner stops with one line naming the variable (exit 78)."""
    env = {"APP_ENV": "production", "DATABASE_URL": "", "REDIS_URL": "", "STORAGE_BACKEND": "local"}
    result = run_migrate(env)
    assert result.returncode == 78
    failed = [line for line in result.stdout.splitlines() if "migrate.failed" in line]
    assert len(failed) == 1
    assert "DATABASE_URL" in failed[0]


def test_images_saved_before_the_rank_column_get_their_jobs_rank(sqlite_url):
    """The pipeline_rank revision ranks existing rows per job as the pipeline would: hero first, then best first."""
    engine = create_engine(sqlite_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            config = alembic_config(sqlite_url)
            config.attributes["connection"] = conn
            command.upgrade(config, "dd06a3e9addd")
            rows = [  # (id, job, quality, hero)
                ("00000000000000000000000000000001", "a", 90.0, False),
                ("00000000000000000000000000000002", "a", 60.0, True),
                ("00000000000000000000000000000003", "a", 75.0, False),
                ("00000000000000000000000000000004", "b", 50.0, False),
            ]
            for image_id, job, quality, hero in rows:
                conn.exec_driver_sql(
                    "INSERT INTO scraped_images (id, campaign_id, job_id, cdn_url, storage_key, original_url, width,"
                    " height, file_size, format, quality_score, image_type, is_hero, is_product, is_lifestyle,"
                    " content_hash, metadata, times_used, scraped_at) VALUES (?, 'c', ?, 'u', 'k', 'o', 1, 1, 1,"
                    " 'JPEG', ?, 'product', ?, 1, 0, ?, '{}', 0, '2026-01-01')",
                    (image_id, job, quality, hero, image_id),
                )
            command.upgrade(config, "head")
            ranks = dict(conn.exec_driver_sql("SELECT id, pipeline_rank FROM scraped_images").all())
            conn.commit()
    finally:
        engine.dispose()
    assert [ranks[row[0]] for row in rows] == [1, 0, 2, 0]


def test_runner_and_verify_use_the_direct_url_when_given(pg_url):
    """DATABASE_DIRECT_URL wins over DATABASE_URL (a pooler) for migrate and verify_migrations."""
    nowhere = f"postgresql://postgres@127.0.0.1:{services.free_port()}/nope"
    env = {"DATABASE_URL": nowhere, "DATABASE_DIRECT_URL": pg_url}
    result = run_migrate(env, "--attempts", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "migrate.upgraded" in result.stdout
    checked = run_module("backend.verify_migrations", env)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_runner_and_verify_give_up_on_a_server_that_never_answers():
    """A socket that accepts and never answers fails both commands within their connect timeout, not never."""
    with services.silent_server() as port:
        env = {"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/nope", "DB_CONNECT_TIMEOUT": "1"}
        result = run_migrate(env, "--attempts", "2")
        checked = run_module("backend.verify_migrations", env)
    assert result.returncode == 1
    assert "migrate.retry attempt=1" in result.stdout
    assert "timeout" in result.stdout.lower()
    assert checked.returncode == 1
    assert "cannot inspect the database" in checked.stdout
