"""Find and remove stored objects no image row points at: the garbage failed jobs and failed deletes leave.

Uploads happen before a job's rows are committed, so a job that then fails for good (storage
went down mid-upload, the hard time limit struck) leaves objects behind when its cleanup could
not record them for `backend.object_deletes` (the database was down too). Keys are `campaigns/<campaign id>/…`, so the store is read one
campaign at a time, in key order, and each campaign's keys are checked against its rows.

An object is removed only when all of these hold:
- no image row references it (as original or thumbnail);
- it is older than `older_than` (by the store's last-modified time), which must be longer
  than a job can run: a job still running has uploaded objects it has not committed yet;
- its campaign has no queued or running job, checked again right before each delete. A
  retried job uploads its images again (the same content-addressed keys) before it commits
  them, so an object of a campaign with no job in flight is not about to be referenced; and
  a job that starts during a long sweep stops the sweep of its campaign before it can
  upload anything (it must fetch its page and download first).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db import Database
from backend.errors import StorageError
from backend.images import referenced_keys
from backend.logging import get_logger
from backend.models import Job, JobStatus, utcnow
from backend.storage import ImageStore, StoredObject

logger = get_logger(__name__)

CAMPAIGNS_PREFIX = "campaigns/"
ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


@dataclass
class PruneReport:
    """What a sweep saw and did; `removed` counts objects deleted (or, in a dry run, that would be)."""

    dry_run: bool
    objects: int = 0
    referenced: int = 0
    too_recent: int = 0
    campaign_busy: int = 0
    not_ours: int = 0
    removed: int = 0
    removed_bytes: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int | bool]:
        return dict(vars(self))


def prune_orphans(
    db: Database,
    store: ImageStore,
    *,
    older_than: timedelta,
    dry_run: bool = False,
    now: datetime | None = None,
) -> PruneReport:
    """Remove (or with `dry_run` only count) the unreferenced objects under campaigns/; see the module."""
    cutoff = (now or utcnow()) - older_than
    report = PruneReport(dry_run=dry_run)
    for campaign_id, objects in _by_campaign(store.list_objects(CAMPAIGNS_PREFIX)):
        report.objects += len(objects)
        if campaign_id is None:
            report.not_ours += len(objects)  # not a key this service writes: leave it alone
            continue
        orphans = _orphans_of(db, campaign_id, objects, cutoff, report)
        for done, orphan in enumerate(orphans):
            if not dry_run and done and _campaign_busy(db, campaign_id):
                report.campaign_busy += len(orphans) - done  # a job started meanwhile: leave the rest
                break
            _remove(store, orphan, report)
    logger.info("orphans.pruned", **report.as_dict())
    return report


def _by_campaign(objects: Iterable[StoredObject]) -> Iterator[tuple[uuid.UUID | None, list[StoredObject]]]:
    """The listing in runs of one campaign (keys come in order, so each campaign's are together)."""
    for folder, run in itertools.groupby(objects, key=lambda item: item.key.split("/", 2)[1]):
        try:
            campaign_id: uuid.UUID | None = uuid.UUID(folder)
        except ValueError:
            campaign_id = None
        yield campaign_id, list(run)


def _orphans_of(
    db: Database, campaign_id: uuid.UUID, objects: list[StoredObject], cutoff: datetime, report: PruneReport
) -> list[StoredObject]:
    """The campaign's objects that may go; one short transaction, so no pooled connection is held long."""
    with db.session() as session:
        if _has_active_job(session, campaign_id):
            report.campaign_busy += len(objects)
            return []
        referenced = referenced_keys(session, [item.key for item in objects])
    orphans = []
    for item in objects:
        if item.key in referenced:
            report.referenced += 1
        elif item.last_modified > cutoff:
            report.too_recent += 1
        else:
            orphans.append(item)
    return orphans


def _campaign_busy(db: Database, campaign_id: uuid.UUID) -> bool:
    with db.session() as session:
        return _has_active_job(session, campaign_id)


def _has_active_job(session: Session, campaign_id: uuid.UUID) -> bool:
    active = select(Job.id).where(Job.campaign_id == campaign_id, Job.status.in_(ACTIVE_STATUSES)).limit(1)
    return session.scalar(active) is not None


def _remove(store: ImageStore, orphan: StoredObject, report: PruneReport) -> None:
    if not report.dry_run:
        try:
            store.delete(orphan.key)
        except StorageError as exc:
            report.failed += 1
            logger.error("orphans.delete_failed", key=orphan.key, error=type(exc.__cause__ or exc).__name__)
            return
    report.removed += 1
    report.removed_bytes += orphan.size
