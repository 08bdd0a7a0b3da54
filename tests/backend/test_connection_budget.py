"""The connection budget: worst cases per service, the advice for a plan that cannot fit, idle connections returned."""

from __future__ import annotations

import re
import threading
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from backend.connection_budget import Budget, ServerRoom, fitting_pool, judge, web_budget, worker_budget
from backend.db import Database
from backend.settings import Settings
from tests.processes import wait_until

ROOT = Path(__file__).resolve().parents[2]


def gunicorn_default(name: str) -> int:
    conf = (ROOT / "gunicorn.conf.py").read_text()
    return int(re.search(rf'_int\("{name}", (\d+)\)', conf).group(1))


def test_documented_default_budget_is_what_the_code_computes():
    """docs/operations.md's figure for the defaults equals web + worker worst cases computed from the defaults."""
    defaults = Settings()
    web = web_budget(defaults, gunicorn_default("WEB_CONCURRENCY"), gunicorn_default("GUNICORN_THREADS"))
    worker = worker_budget(defaults, defaults.celery_concurrency)
    documented = re.search(
        r"With the defaults \([^)]*\) that is [^=]*= (\d+)", (ROOT / "docs/operations.md").read_text()
    )
    assert documented is not None
    assert web.total + worker.total == int(documented.group(1)) == 40


def test_nullpool_counts_threads_not_the_pool():
    """Behind a pooler a web process holds at most one connection per thread, a worker process two."""
    settings = Settings(db_nullpool=True, db_pool_size=50)
    assert web_budget(settings, 3, 4).total == 12
    assert worker_budget(settings, 8).total == 16


def test_a_plan_that_fits_says_nothing():
    assert judge(Budget("web", 3, 5), ServerRoom(max_connections=20, reserved=3, in_use=2)) is None


def test_a_plan_that_cannot_fit_names_settings_that_would():
    """The replayed outage: 8 worker processes × (5 + 5) against 17 usable connections."""
    warning = judge(Budget("worker", 8, 10), ServerRoom(max_connections=20, reserved=3, in_use=0))
    assert warning is not None
    assert "worst_case=80 available=17" in warning
    assert "DB_POOL_SIZE=1 DB_MAX_OVERFLOW=1 would fit" in warning
    pool, overflow = fitting_pool(17, 8)
    assert 8 * (pool + overflow) <= 17


def test_no_fitting_pool_when_not_even_one_connection_each_fits():
    warning = judge(Budget("worker", 8, 2), ServerRoom(max_connections=10, reserved=3, in_use=2))
    assert fitting_pool(5, 8) is None
    assert warning is not None and "not even one connection per process fits" in warning


def test_idle_pooled_connections_are_returned_to_the_server(make_settings, database_url):
    """Connections a burst opened are closed by the server once idle for DB_IDLE_TIMEOUT; the pool reconnects."""
    probe = create_engine(database_url, poolclass=NullPool)
    db = Database(
        make_settings(database_url=database_url, db_pool_size=3, db_max_overflow=0, db_idle_timeout=1)
    )
    barrier = threading.Barrier(3)
    pids: list[int] = []

    def hold_one() -> None:
        with db.engine.connect() as connection:
            pids.append(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
            barrier.wait(timeout=10)

    threads = [threading.Thread(target=hold_one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    try:
        assert len(set(pids)) == 3

        def still_open() -> int:
            with probe.connect() as connection:
                return connection.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"), {"pids": pids}
                ).scalar_one()

        wait_until(lambda: still_open() == 0, timeout=15, interval=0.5, what="idle connections closed")
        with db.engine.connect() as connection:  # the pool replaces what the server closed
            assert connection.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        db.dispose()
        probe.dispose()
