"""prune_orphans against real Postgres and a real S3 server (or a directory): which stored objects go, which stay."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from backend.db import Database
from backend.models import Campaign, JobStatus, ScrapedImage, User, utcnow
from backend.orphans import prune_orphans
from backend.storage import ImageStore, LocalStore, S3Store, StoredObject
from tests import services
from tests.factories import create_campaign, create_job, create_user

DAY = timedelta(days=1)
LATER = 2 * DAY  # "now" for a sweep that should find every object of the test old enough


def _campaign(db: Database, status: JobStatus = JobStatus.SUCCEEDED) -> uuid.UUID:
    with db.session() as session:
        user = create_user(session)
        campaign: Campaign = create_campaign(session, user)
        create_job(session, user=user, campaign=campaign, status=status)
        session.commit()
        return campaign.id


def _image_row(db: Database, campaign_id: uuid.UUID, key: str, thumbnail_key: str | None = None) -> None:
    with db.session() as session:
        session.add(
            ScrapedImage(
                campaign_id=campaign_id, cdn_url=f"https://cdn.test/{key}", storage_key=key,
                thumbnail_key=thumbnail_key, original_url="https://shop.test/a.jpg", width=800, height=800,
                file_size=3, format="JPEG", quality_score=50.0, image_type="product", content_hash=uuid.uuid4().hex,
            )
        )  # fmt: skip
        session.commit()


def _put(store: ImageStore, *keys: str) -> None:
    for key in keys:
        store.put(key, b"jpg", "image/jpeg")


def _keys(store: ImageStore) -> set[str]:
    return {item.key for item in store.list_objects("")}


def test_only_old_unreferenced_objects_of_idle_campaigns_are_removed(db, store):
    """Referenced originals and thumbnails stay; so do a busy campaign's objects and keys that are not ours."""
    idle, busy = _campaign(db), _campaign(db, JobStatus.RUNNING)
    kept = [f"campaigns/{idle}/a.jpg", f"campaigns/{idle}/thumbs/a.webp"]
    orphans = [f"campaigns/{idle}/b.jpg", f"campaigns/{idle}/thumbs/b.webp"]
    in_flight = f"campaigns/{busy}/c.jpg"  # uploaded by the running job, not committed yet
    foreign = ["campaigns/not-a-uuid/d.jpg", "exports/e.csv"]
    _image_row(db, idle, kept[0], kept[1])
    _put(store, *kept, *orphans, in_flight, *foreign)

    report = prune_orphans(db, store, older_than=DAY, now=utcnow() + LATER)

    assert _keys(store) == {*kept, in_flight, *foreign}
    assert report.as_dict() == {
        "dry_run": False, "objects": 6, "referenced": 2, "too_recent": 0, "campaign_busy": 1, "not_ours": 1,
        "removed": 2, "removed_bytes": 6, "failed": 0,
    }  # fmt: skip


def test_recent_orphans_are_left_for_the_job_that_may_still_commit_them(db, store):
    """An unreferenced object younger than older_than stays: a job may have uploaded it and not committed yet."""
    campaign = _campaign(db)
    _put(store, f"campaigns/{campaign}/young.jpg")
    report = prune_orphans(db, store, older_than=DAY)
    assert (report.too_recent, report.removed) == (1, 0)
    assert _keys(store) == {f"campaigns/{campaign}/young.jpg"}


def test_a_dry_run_counts_what_would_go_and_deletes_nothing(db, store):
    campaign = _campaign(db)
    _put(store, f"campaigns/{campaign}/old.jpg")
    report = prune_orphans(db, store, older_than=DAY, dry_run=True, now=utcnow() + LATER)
    assert (report.dry_run, report.removed, report.removed_bytes) == (True, 1, 3)
    assert _keys(store) == {f"campaigns/{campaign}/old.jpg"}


def test_a_deleted_campaigns_leftovers_are_removed(db, store):
    """Objects of a campaign with no rows left at all (its delete could not reach storage) are orphans."""
    gone = uuid.uuid4()
    _put(store, f"campaigns/{gone}/x.jpg", f"campaigns/{gone}/thumbs/x.webp")
    report = prune_orphans(db, store, older_than=DAY, now=utcnow() + LATER)
    assert (report.removed, _keys(store)) == (2, set())


def test_the_local_store_lists_in_key_order_with_file_times(db, tmp_path: Path):
    """A directory store: last-modified is the file's mtime; a crashed write's old .part- file is garbage too."""
    store = LocalStore(tmp_path / "store", "http://127.0.0.1/files")
    campaign = _campaign(db)
    keys = [f"campaigns/{campaign}/b.jpg", f"campaigns/{campaign}/a.jpg", f"campaigns/{campaign}/.part-x1"]
    _put(store, *keys)
    _image_row(db, campaign, keys[0])
    old = (utcnow() - LATER).timestamp()
    for key in keys[1:]:
        os.utime(store.path_for(key), (old, old))

    assert [item.key for item in store.list_objects("campaigns/")] == sorted(keys)
    report = prune_orphans(db, store, older_than=DAY)
    assert (report.referenced, report.removed) == (1, 2)
    assert _keys(store) == {keys[0]}


@pytest.fixture
def private_s3() -> Iterator[services.S3Server]:
    server = services.start_s3(bucket=f"orphans-{uuid.uuid4().hex[:8]}")
    yield server
    server.stop()


class StopsAfterListing:
    """The real S3 store, whose server is stopped once the listing has been read: every delete then fails."""

    def __init__(self, store: S3Store, server: services.S3Server) -> None:
        self.store, self.server = store, server

    def list_objects(self, prefix: str) -> Iterator[StoredObject]:
        listed = list(self.store.list_objects(prefix))
        self.server.stop()
        yield from listed

    def delete(self, key: str) -> None:
        self.store.delete(key)


def test_failed_deletes_are_counted_and_the_sweep_goes_on(db, make_settings, s3_settings, private_s3):
    """Storage gone mid-sweep: each delete fails, is counted and logged, and the sweep still ends with a report."""
    settings = make_settings(
        **{**s3_settings, "r2_endpoint_url": private_s3.endpoint, "r2_bucket": private_s3.bucket}
    )
    store = S3Store(settings)
    campaign = _campaign(db)
    _put(store, f"campaigns/{campaign}/a.jpg", f"campaigns/{campaign}/b.jpg")
    report = prune_orphans(db, StopsAfterListing(store, private_s3), older_than=DAY, now=utcnow() + LATER)
    assert (report.objects, report.removed, report.failed) == (2, 0, 2)


class JobStartsDuringTheSweep:
    """The real store; while its first delete runs, a new job of the campaign starts (a real row, committed)."""

    def __init__(self, store: ImageStore, db: Database, campaign_id: uuid.UUID) -> None:
        self.store, self.db, self.campaign_id = store, db, campaign_id
        self.deleted: list[str] = []

    def list_objects(self, prefix: str) -> Iterator[StoredObject]:
        return self.store.list_objects(prefix)

    def delete(self, key: str) -> None:
        if not self.deleted:
            with self.db.session() as session:
                campaign = session.get_one(Campaign, self.campaign_id)
                owner = session.get_one(User, campaign.user_id)
                create_job(session, user=owner, campaign=campaign, status=JobStatus.RUNNING)
                session.commit()
        self.store.delete(key)
        self.deleted.append(key)


def test_a_job_starting_mid_sweep_stops_the_sweep_of_its_campaign(db, store):
    """The campaign is checked again before each delete: once a job runs there, its remaining orphans stay."""
    campaign = _campaign(db)
    keys = [f"campaigns/{campaign}/{name}.jpg" for name in ("a", "b", "c")]
    _put(store, *keys)
    sweeping = JobStartsDuringTheSweep(store, db, campaign)
    report = prune_orphans(db, sweeping, older_than=DAY, now=utcnow() + LATER)
    assert sweeping.deleted == [keys[0]]
    assert (report.removed, report.campaign_busy) == (1, 2)
    assert _keys(store) == set(keys[1:])
