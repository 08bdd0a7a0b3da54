"""Test data builders that flush, so ids and defaults come from the database."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from backend.auth import get_or_create_user
from backend.models import Campaign, Job, JobStatus, User


def create_user(session: Session, email: str | None = None) -> User:
    return get_or_create_user(session, email or f"user-{uuid.uuid4().hex[:8]}@example.test")


def create_campaign(session: Session, user: User, campaign_id: uuid.UUID | None = None) -> Campaign:
    campaign = Campaign(id=campaign_id or uuid.uuid4(), user_id=user.id)
    session.add(campaign)
    session.flush()
    return campaign


def create_job(
    session: Session,
    *,
    url: str = "http://127.0.0.1:9/page.html",
    user: User | None = None,
    campaign: Campaign | None = None,
    status: JobStatus = JobStatus.QUEUED,
    attempts: int = 0,
    heartbeat_at: datetime | None = None,
    max_images: int = 10,
    **fields: Any,
) -> Job:
    user = user or create_user(session)
    campaign = campaign or create_campaign(session, user)
    job = Job(
        user_id=user.id,
        campaign_id=campaign.id,
        sales_page_url=url,
        max_images=max_images,
        status=status,
        attempts=attempts,
        heartbeat_at=heartbeat_at,
        **fields,
    )
    session.add(job)
    session.flush()
    return job
