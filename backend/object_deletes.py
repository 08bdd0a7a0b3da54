"""Deferred object deletes: keys recorded in the deleting transaction, removed from storage later by the worker.

Deleting an image or a campaign used to call storage inside the API request, after the
commit: with R2 hanging, the request hung too (the row already gone). Now the keys go into
`pending_object_deletes` in the same transaction as the rows, so they cannot be lost, and
the API answers at once; the worker's `scraper.delete_objects` task (sent after the commit,
and run by beat every SWEEP_INTERVAL_SECONDS) removes them.

A key is removed from storage only when no image row references it and its campaign has no
queued or running job (a running job may have uploaded the same content-addressed key and
not committed its row yet: the same rule as backend.orphans). A referenced key is dropped
from the list (it is in use again); a busy campaign's key waits for the next run; a storage
failure is counted on the key and ends the run (storage is down: try again next time).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.db import Database
from backend.errors import StorageError
from backend.images import referenced_keys
from backend.logging import get_logger
from backend.models import Job, JobStatus, PendingObjectDelete
from backend.storage import ImageStore

logger = get_logger(__name__)

BATCH = 200
ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


@dataclass
class DrainReport:
    removed: int = 0
    still_referenced: int = 0
    campaign_busy: int = 0
    failed: int = 0


def defer(session: Session, keys: Iterable[str]) -> int:
    """Record keys to remove, in the caller's transaction (a key already recorded is kept once)."""
    unique = sorted(set(keys))
    if not unique:
        return 0
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(PendingObjectDelete.__table__).on_conflict_do_nothing(index_elements=["key"])
    session.execute(statement, [{"key": key, "attempts": 0} for key in unique])
    return len(unique)


def pending_keys(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(PendingObjectDelete.key).order_by(PendingObjectDelete.key)))


def _campaign_of(key: str) -> uuid.UUID | None:
    parts = key.split("/", 2)
    try:
        return uuid.UUID(parts[1]) if len(parts) == 3 and parts[0] == "campaigns" else None
    except ValueError:
        return None


def _busy_campaigns(session: Session, campaigns: set[uuid.UUID]) -> set[uuid.UUID]:
    if not campaigns:
        return set()
    rows = session.scalars(
        select(Job.campaign_id)
        .where(Job.campaign_id.in_(campaigns), Job.status.in_(ACTIVE_STATUSES))
        .distinct()
    )
    return set(rows)


def drain(db: Database, store: ImageStore, *, batch: int = BATCH) -> DrainReport:
    """Remove up to `batch` recorded objects from storage; see the module for the rules."""
    report = DrainReport()
    with db.session() as session:
        rows = list(
            session.scalars(
                select(PendingObjectDelete)
                .order_by(PendingObjectDelete.created_at)
                .limit(batch)
                .with_for_update(skip_locked=True)  # two drains at once take different keys
            )
        )
        if not rows:
            return report
        keys = [row.key for row in rows]
        referenced = referenced_keys(session, keys)
        busy = _busy_campaigns(session, {c for c in map(_campaign_of, keys) if c is not None})
        done: list[str] = []
        for row in rows:
            if row.key in referenced:
                report.still_referenced += 1
                done.append(row.key)
            elif _campaign_of(row.key) in busy:
                report.campaign_busy += 1
            elif _remove(store, row, report):
                done.append(row.key)
            else:
                break  # storage is failing: the rest wait for the next run
        if done:
            session.execute(delete(PendingObjectDelete).where(PendingObjectDelete.key.in_(done)))
        session.commit()
    if report.removed or report.failed:
        logger.info(
            "objects.drained",
            removed=report.removed,
            still_referenced=report.still_referenced,
            campaign_busy=report.campaign_busy,
            failed=report.failed,
        )
    return report


def _remove(store: ImageStore, row: PendingObjectDelete, report: DrainReport) -> bool:
    try:
        store.delete(row.key)
    except StorageError as exc:
        report.failed += 1
        row.attempts += 1
        row.last_error = f"{type(exc.__cause__ or exc).__name__}: {exc}"[:200]
        logger.warning("objects.delete_failed", key=row.key, attempts=row.attempts, error=row.last_error)
        return False
    report.removed += 1
    return True


def record_for_later(db: Database, keys: Iterable[str]) -> bool:
    """Record keys in a transaction of their own (a job's cleanup that failed); False if even that fails."""
    try:
        with db.session() as session:
            defer(session, keys)
            session.commit()
    except Exception:
        logger.warning("objects.record_failed", exc_info=True)
        return False
    return True
