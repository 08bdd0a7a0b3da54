"""Helpers for the migration tests: throwaway Postgres databases and editable copies of migrations/."""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from backend.migrate import SCRIPT_LOCATION, alembic_config, script_heads

REVISION_TEMPLATE = '''"""{message}

Revision ID: {revision}
Revises: {down_revision}
"""

revision = "{revision}"
down_revision = "{down_revision}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
'''


@contextlib.contextmanager
def fresh_database(admin_url: str, prefix: str = "scraper_mig") -> Iterator[str]:
    """An empty Postgres database for one test, dropped afterwards; yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def copy_migrations(target: Path) -> Path:
    """A copy of migrations/ at `target` that a test may add revisions to."""
    shutil.copytree(SCRIPT_LOCATION, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def add_revision(script_location: Path, revision: str, down_revision: str, message: str = "test") -> None:
    """Write a no-op revision file with the given parent into a migrations copy."""
    path = script_location / "versions" / f"20990101_0000_{revision}_{message.replace(' ', '_')}.py"
    path.write_text(REVISION_TEMPLATE.format(message=message, revision=revision, down_revision=down_revision))


def current_head() -> str:
    """The one head of the real migration history."""
    (head,) = script_heads()
    return head


def downgrade(url: str, target: str) -> None:
    """`alembic downgrade target` on our own connection, committed here, as backend.migrate upgrades."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            config = alembic_config(url)
            config.attributes["connection"] = conn
            command.downgrade(config, target)
            conn.commit()
    finally:
        engine.dispose()


def downgrade_one(url: str) -> None:
    """Take the database one revision back from where it is (a database "behind" the code)."""
    downgrade(url, "-1")
