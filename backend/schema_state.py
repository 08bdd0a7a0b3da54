"""Is the database at the schema this code was written for? `ok`, `behind` or `ahead`, from alembic_version.

- `ok`: stamped with the one head of the code's migration scripts;
- `behind`: never migrated, or stamped with an older revision the scripts know: the code
  would fail on missing tables or columns (the worker waits, /health answers 503);
- `ahead`: stamped with a revision the scripts do not know, i.e. a newer deploy has
  migrated while this older code still runs (expected for a moment in a rolling deploy;
  reported, not refused).

Two heads in the scripts is a broken build: `code_head` raises SchemaHeadsError.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Connection

from backend.errors import ConfigError
from backend.migrate import current_revisions, known_revisions, script_heads

OK = "ok"
BEHIND = "behind"
AHEAD = "ahead"
SERVABLE = frozenset({OK, AHEAD})


class SchemaHeadsError(ConfigError):
    """The migration scripts have no head or several: the build itself is broken."""


@functools.cache
def code_head(script_location: Path | None = None) -> str:
    """The one head revision of this code's migration scripts (read once per process)."""
    heads = script_heads(script_location)
    if len(heads) != 1:
        raise SchemaHeadsError(
            f"the migration scripts have {len(heads)} heads ({', '.join(heads) or 'none'}); expected one"
        )
    return heads[0]


@functools.cache
def _known(script_location: Path | None = None) -> frozenset[str]:
    return frozenset(known_revisions(script_location))


def judge(revisions: Sequence[str], script_location: Path | None = None) -> str:
    """`ok`, `behind` or `ahead` for a database stamped with `revisions`."""
    if tuple(revisions) == (code_head(script_location),):
        return OK
    if any(revision not in _known(script_location) for revision in revisions):
        return AHEAD
    return BEHIND


def schema_state(connection: Connection, script_location: Path | None = None) -> str:
    """The state of the database behind `connection` (one small read of alembic_version)."""
    return judge(current_revisions(connection), script_location)
