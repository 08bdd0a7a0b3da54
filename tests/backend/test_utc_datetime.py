"""models.UTCDateTime: aware UTC in, aware UTC out, on SQLite (which has no zones) and on Postgres."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, text
from sqlalchemy.exc import StatementError

from backend.models import Job, UTCDateTime
from tests.factories import create_job

PARIS_SUMMER = timezone(timedelta(hours=2))


@pytest.fixture
def sqlite_table():
    engine = create_engine("sqlite://")
    table = Table("moments", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime()))
    table.metadata.create_all(engine)
    yield engine, table
    engine.dispose()


def test_sqlite_gives_back_aware_utc(sqlite_table):
    """A value written with any zone comes back as the same instant, marked UTC (SQLite alone gives it naive)."""
    engine, table = sqlite_table
    written = datetime(2026, 7, 1, 14, 30, tzinfo=PARIS_SUMMER)
    with engine.begin() as conn:
        conn.execute(insert(table).values(id=1, at=written))
        raw = conn.execute(text("SELECT at FROM moments")).scalar_one()
        read = conn.execute(select(table.c.at)).scalar_one()
    assert raw.startswith("2026-07-01 12:30:00")  # stored as UTC
    assert read == written
    assert read.tzinfo is UTC


def test_naive_datetimes_are_refused(sqlite_table):
    engine, table = sqlite_table
    with engine.begin() as conn, pytest.raises(StatementError, match="naive datetime"):
        conn.execute(insert(table).values(id=1, at=datetime(2026, 7, 1, 12, 30)))


def test_postgres_gives_back_utc_whatever_the_session_zone(db):
    with db.session() as session:
        job_id = create_job(session).id
        session.commit()
    with db.session() as session:
        session.execute(text("SET TIME ZONE 'Asia/Tokyo'"))
        created = session.scalar(select(Job.created_at).where(Job.id == job_id))
    assert created is not None and created.tzinfo is UTC
    assert abs(datetime.now(UTC) - created) < timedelta(hours=1)
