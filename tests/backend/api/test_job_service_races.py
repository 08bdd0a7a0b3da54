"""The job service under concurrent submissions on real Postgres: unique constraints settle every race."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import select

from backend import jobs
from backend.auth import get_or_create_user
from backend.errors import NotFoundError, TooManyJobsError
from backend.models import Campaign

URL = "https://shop.example.test/products/race"


def make_user(db, email):
    with db.session() as session:
        user = get_or_create_user(session, email)
        session.commit()
        return user.id


def submit_in_thread(db, user_id, spec, key, outcome):
    def run():
        with db.session() as session:
            try:
                submission = jobs.submit_job(session, user_id, spec, idempotency_key=key)
                session.commit()
                outcome["result"] = (submission.job.id, submission.created)
            except Exception as exc:
                outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_two_submissions_with_one_key_make_one_job(db):
    """The second of two racing submissions with one Idempotency-Key waits, then returns the first's job."""
    user_id = make_user(db, "racer@example.test")
    spec = jobs.JobSpec(sales_page_url=URL, campaign_id=uuid.uuid4())
    with db.session() as first:
        winner = jobs.submit_job(first, user_id, spec, idempotency_key="same")
        outcome: dict = {}
        thread = submit_in_thread(db, user_id, spec, "same", outcome)
        time.sleep(0.3)  # the second insert now waits on the unique index
        first.commit()
        thread.join(timeout=10)

    assert outcome.get("error") is None
    assert outcome["result"] == (winner.job.id, False)


def test_a_campaign_first_claimed_by_another_user_is_not_found(db):
    """Two users racing to create one campaign id: the loser gets NotFoundError, not the campaign."""
    owner, intruder = make_user(db, "owner@example.test"), make_user(db, "intruder@example.test")
    spec = jobs.JobSpec(sales_page_url=URL, campaign_id=uuid.uuid4())
    with db.session() as first:
        jobs.submit_job(first, owner, spec)
        outcome: dict = {}
        thread = submit_in_thread(db, intruder, spec, None, outcome)
        time.sleep(0.3)
        first.commit()
        thread.join(timeout=10)

    assert isinstance(outcome.get("error"), NotFoundError)


def test_same_user_racing_on_a_new_campaign_gets_two_jobs_in_it(db):
    """Two first jobs for one new campaign by its owner both succeed, in the same campaign."""
    owner = make_user(db, "owner@example.test")
    spec = jobs.JobSpec(sales_page_url=URL, campaign_id=uuid.uuid4())
    with db.session() as first:
        winner = jobs.submit_job(first, owner, spec)
        outcome: dict = {}
        thread = submit_in_thread(db, owner, spec, None, outcome)
        time.sleep(0.3)
        first.commit()
        thread.join(timeout=10)

    assert outcome.get("error") is None
    job_id, created = outcome["result"]
    assert created and job_id != winner.job.id
    with db.session() as session:
        assert jobs.get_job(session, owner, job_id).campaign_id == spec.campaign_id


def test_get_job_is_scoped_to_the_owner(db):
    """The service itself refuses to hand one user's job to another."""
    owner, other = make_user(db, "owner@example.test"), make_user(db, "other@example.test")
    with db.session() as session:
        job = jobs.submit_job(session, owner, jobs.JobSpec(sales_page_url=URL)).job
        session.commit()
        with pytest.raises(NotFoundError):
            jobs.get_job(session, other, job.id)


def test_a_lost_key_race_leaves_no_empty_campaign(db):
    """Without campaign_id each racer would make a campaign; the loser's is rolled back with its job."""
    user_id = make_user(db, "racer@example.test")
    spec = jobs.JobSpec(sales_page_url=URL)
    with db.session() as first:
        winner = jobs.submit_job(first, user_id, spec, idempotency_key="same")
        outcome: dict = {}
        thread = submit_in_thread(db, user_id, spec, "same", outcome)
        time.sleep(0.3)
        first.commit()
        thread.join(timeout=10)

    assert outcome["result"] == (winner.job.id, False)
    with db.session() as session:
        assert session.scalars(select(Campaign.id)).all() == [winner.job.campaign_id]


def test_racing_submissions_cannot_pass_the_outstanding_cap_together(db):
    """With one job under way and a cap of 2, a second submission holding its lock makes a racing third wait, then refuse."""
    user_id = make_user(db, "capped@example.test")
    spec = jobs.JobSpec(sales_page_url=URL)
    with db.session() as session:
        jobs.submit_job(session, user_id, spec, max_outstanding=2)
        session.commit()
    with db.session() as first:
        jobs.submit_job(first, user_id, spec, max_outstanding=2)
        outcome: dict = {}

        def run() -> None:
            with db.session() as session:
                try:
                    jobs.submit_job(session, user_id, spec, max_outstanding=2)
                    session.commit()
                    outcome["result"] = "created"
                except TooManyJobsError as exc:
                    outcome["result"] = (exc.outstanding, exc.limit)

        thread = threading.Thread(target=run)
        thread.start()
        time.sleep(0.3)  # the third now waits on the user's row lock
        assert "result" not in outcome
        first.commit()
        thread.join(timeout=10)

    assert outcome["result"] == (2, 2)
