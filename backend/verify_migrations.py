"""`python -m backend.verify_migrations`: one head, database at head, every declared table/column/index present.

Three checks, each naming what is wrong:

1. the migration scripts have exactly one head;
2. the database is stamped with that head;
3. Alembic's autogenerate comparison of the models (`Base.metadata`) against the
   live schema finds nothing missing or different: every table, column, index,
   unique and foreign-key constraint the models declare is there. Objects the
   database has but the models do not (a hand-made index, say) are reported as
   warnings and do not fail the check. Autogenerate does not compare CHECK
   constraints, so they are compared here: each one the models declare must exist
   by name and allow the same quoted values (an enum's list of statuses, say).

Exit 0 when healthy, 1 otherwise; `--json` prints the same report as one object.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, Connection, inspect
from sqlalchemy.exc import SQLAlchemyError

from backend.db import make_command_engine
from backend.errors import ConfigError
from backend.migrate import DEFAULT_CONNECT_TIMEOUT, current_revisions, known_revisions, redact, script_heads
from backend.models import Base
from backend.settings import get_settings


@dataclass
class Report:
    """What the three checks found; healthy when `problems` is empty."""

    database: str
    heads: list[str] = field(default_factory=list)
    database_revisions: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"healthy": self.healthy, **asdict(self)}

    def render(self) -> str:
        lines = [
            f"database:  {self.database}",
            f"heads:     {', '.join(self.heads) or '<none>'}",
            f"database revision: {', '.join(self.database_revisions) or '<none>'}",
        ]
        lines += [f"PROBLEM: {problem}" for problem in self.problems]
        lines += [f"warning: {warning}" for warning in self.warnings]
        lines.append("OK: migrations and schema are healthy" if self.healthy else "FAILED")
        return "\n".join(lines)


def check_heads(report: Report, script_location: Path | None = None) -> None:
    """Exactly one head in the script directory."""
    report.heads = list(script_heads(script_location))
    if len(report.heads) == 0:
        report.problems.append("the migration scripts have no head (no revisions found)")
    elif len(report.heads) > 1:
        report.problems.append(
            f"the migration scripts have {len(report.heads)} heads: {', '.join(report.heads)}; "
            "merge them (alembic merge heads) so there is exactly one"
        )


def check_revision(report: Report, connection: Connection, script_location: Path | None = None) -> None:
    """The database is stamped with the one head."""
    known = known_revisions(script_location)
    report.database_revisions = list(current_revisions(connection))
    unknown = [rev for rev in report.database_revisions if rev not in known]
    if unknown:
        report.problems.append(
            f"the database is at {', '.join(unknown)}, which the migration scripts do not know "
            "(is this code older than the database?)"
        )
    elif not report.database_revisions:
        report.problems.append("the database has no migration revision (never migrated): run migrations")
    elif len(report.heads) == 1 and report.database_revisions != report.heads:
        report.problems.append(
            f"the database is at {', '.join(report.database_revisions)}, not at head {report.heads[0]}: "
            "run migrations"
        )


def check_schema(report: Report, connection: Connection) -> None:
    """Every table, column, index and constraint of the models exists as declared."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    diffs = _flatten(compare_metadata(context, Base.metadata))
    missing_tables = {diff[1].name for diff in diffs if diff[0] == "add_table"}
    for diff in diffs:
        if diff[0] == "add_index" and diff[1].table.name in missing_tables:
            continue  # "missing table" already says it; its indexes would only repeat that
        message, is_problem = describe(diff)
        (report.problems if is_problem else report.warnings).append(message)


QUOTED = re.compile(r"'((?:[^']|'')*)'")


def _quoted_values(sql: str) -> set[str]:
    return set(QUOTED.findall(sql))


def check_check_constraints(report: Report, connection: Connection) -> None:
    """Every CHECK constraint of the models exists by name, with the same quoted values."""
    inspector = inspect(connection)
    for table in Base.metadata.sorted_tables:
        declared = [c for c in table.constraints if isinstance(c, CheckConstraint) and c.name]
        if not declared or not inspector.has_table(table.name):
            continue  # a missing table is reported by check_schema
        live = {item["name"]: item["sqltext"] for item in inspector.get_check_constraints(table.name)}
        for constraint in declared:
            name = str(constraint.name)
            if name not in live:
                report.problems.append(f"missing check constraint {name} on {table.name}")
                continue
            wanted = str(
                constraint.sqltext.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
            )
            if _quoted_values(live[name]) != _quoted_values(wanted):
                report.problems.append(
                    f"check constraint {name} on {table.name} differs: database {live[name]!r}, models {wanted!r}"
                )


def _flatten(diffs: list[Any]) -> list[tuple[Any, ...]]:
    # Column modifications come grouped in a list per column; everything else is a tuple.
    flat: list[tuple[Any, ...]] = []
    for diff in diffs:
        flat.extend(diff if isinstance(diff, list) else [diff])
    return flat


def _columns(obj: Any) -> str:
    names = [getattr(col, "name", None) or str(col) for col in getattr(obj, "columns", [])]
    if not names and hasattr(obj, "expressions"):
        names = [str(expr) for expr in obj.expressions]
    return ", ".join(names)


def _name(obj: Any) -> str:
    name = getattr(obj, "name", None)
    return str(name) if name else "<unnamed>"


def describe(diff: tuple[Any, ...]) -> tuple[str, bool]:
    """A human sentence for one autogenerate difference, and whether it fails the check."""
    kind: str = diff[0]
    if kind.startswith("add_"):
        return _describe_missing(kind, diff), True
    if kind.startswith("remove_"):
        return _describe_extra(kind, diff), False
    if kind.startswith("modify_"):
        _, _, table, column, _, existing, declared = diff
        what = kind.removeprefix("modify_")
        return f"column {table}.{column} differs in {what}: database {existing!r}, models {declared!r}", True
    return f"schema difference: {diff!r}", True


_LABELS = {
    "index": "index",
    "fk": "foreign key",
    "constraint": "unique constraint",
}


def _describe_missing(kind: str, diff: tuple[Any, ...]) -> str:
    what = kind.removeprefix("add_")
    if what == "table":
        return f"missing table {diff[1].name}"
    if what == "column":
        return f"missing column {diff[2]}.{diff[3].name}"
    obj = diff[1]
    return f"missing {_LABELS.get(what, what)} {_name(obj)} on {obj.table.name} ({_columns(obj)})"


def _describe_extra(kind: str, diff: tuple[Any, ...]) -> str:
    what = kind.removeprefix("remove_")
    if what == "table":
        return f"table {diff[1].name} is in the database but not in the models"
    if what == "column":
        return f"column {diff[2]}.{diff[3].name} is in the database but not in the models"
    obj = diff[1]
    return (
        f"{_LABELS.get(what, what)} {_name(obj)} on {obj.table.name} is in the database but not in the models"
    )


def verify(
    database_url: str | None = None,
    script_location: Path | None = None,
    connect_timeout: int = DEFAULT_CONNECT_TIMEOUT,
) -> Report:
    """Run the three checks against `database_url` (default: DATABASE_DIRECT_URL, else DATABASE_URL)."""
    if database_url is None:
        settings = get_settings()
        database_url, connect_timeout = settings.migration_database_url, settings.db_connect_timeout
    url = database_url
    report = Report(database=redact(url))
    check_heads(report, script_location)
    engine = make_command_engine(url, connect_timeout)
    try:
        with engine.connect() as connection:
            check_revision(report, connection, script_location)
            check_schema(report, connection)
            check_check_constraints(report, connection)
    except SQLAlchemyError as exc:
        first_line = str(exc).strip().splitlines()[0]
        report.problems.append(f"cannot inspect the database: {first_line}")
    finally:
        engine.dispose()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m backend.verify_migrations", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.add_argument(
        "--script-location",
        type=Path,
        default=None,
        help="check a copy of the migrations directory instead of ./migrations",
    )
    args = parser.parse_args(argv)
    try:
        report = verify(script_location=args.script_location)
    except ConfigError as exc:
        report = Report(database="<unconfigured>", problems=[f"configuration: {exc}"])
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))  # noqa: T201 - this is the command's output
    else:
        print(report.render())  # noqa: T201
    return 0 if report.healthy else 1


if __name__ == "__main__":
    sys.exit(main())
