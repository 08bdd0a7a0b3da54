"""safe_commit against a real Postgres whose connections are cut mid-transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from backend.models import User
from backend.safe_commit import is_transient_db_error, safe_commit


@pytest.fixture
def admin(database_url):
    engine = create_engine(database_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def _terminate(admin, pid: int) -> None:
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def test_unit_of_work_is_reapplied_after_the_server_closes_the_connection(db, admin):
    """A backend killed mid-transaction is retried on a new connection; the row lands once."""
    calls = []

    def work(session):
        calls.append(1)
        session.add(User(email="once@example.test"))
        session.flush()
        if len(calls) == 1:
            pid = session.scalar(text("SELECT pg_backend_pid()"))
            _terminate(admin, pid)
        session.execute(text("SELECT 1"))
        return "done"

    assert safe_commit(db.session_factory, work, initial_wait=0.01) == "done"
    assert len(calls) == 2
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1


def test_commit_itself_failing_on_a_closed_connection_is_retried(db, admin):
    """ "server closed the connection unexpectedly" at COMMIT re-applies the whole unit once."""
    calls = []

    def work(session):
        calls.append(1)
        session.add(User(email=f"commit-{len(calls)}@example.test"))
        if len(calls) == 1:
            _terminate(admin, session.scalar(text("SELECT pg_backend_pid()")))

    safe_commit(db.session_factory, work, initial_wait=0.01)
    with db.session() as session:
        assert session.scalars(select(User.email)).all() == ["commit-2@example.test"]


def test_idle_pooled_connections_killed_by_the_server_are_replaced(db, admin):
    """Pooled connections killed while idle are noticed (pre-ping or retry) and the commit succeeds."""
    with db.session() as session:
        pids = {session.scalar(text("SELECT pg_backend_pid()"))}
    for pid in pids:
        _terminate(admin, pid)
    safe_commit(db.session_factory, lambda session: session.add(User(email="after-kill@example.test")))
    with db.session() as session:
        assert session.scalar(select(User.email)) == "after-kill@example.test"


def test_integrity_errors_are_not_retried(db):
    """A unit of work that breaks a constraint fails at once, after one attempt."""
    safe_commit(db.session_factory, lambda session: session.add(User(email="dup@example.test")))
    calls = []

    def work(session):
        calls.append(1)
        session.add(User(email="dup@example.test"))

    with pytest.raises(IntegrityError):
        safe_commit(db.session_factory, work)
    assert len(calls) == 1


def test_retries_stop_after_the_attempt_limit(db, admin):
    """A connection that dies on every attempt ends with the error, not an endless loop."""
    calls = []

    def work(session):
        calls.append(1)
        _terminate(admin, session.scalar(text("SELECT pg_backend_pid()")))
        session.execute(text("SELECT 1"))

    with pytest.raises(Exception) as caught:
        safe_commit(db.session_factory, work, attempts=3, initial_wait=0.01)
    assert is_transient_db_error(caught.value)
    assert len(calls) == 3
