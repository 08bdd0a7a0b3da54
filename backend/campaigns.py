"""Campaign service: the caller's campaigns newest first, with counts and the last job's status.

Functions take a Session and the caller's user id and never commit. A campaign row is
created by the first job that names it (backend.jobs); here it is listed, looked up and named.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from backend.errors import NotFoundError
from backend.models import Campaign, Job, JobStatus, ScrapedImage


@dataclass(frozen=True)
class CampaignKey:
    """A position in the newest-first campaign listing (the keyset cursor's content)."""

    created_at: datetime
    id: uuid.UUID


@dataclass(frozen=True)
class CampaignSummary:
    """A campaign with what a list of campaigns shows beside it."""

    campaign: Campaign
    job_count: int
    image_count: int
    last_job_id: uuid.UUID | None
    last_job_status: JobStatus | None
    last_job_at: datetime | None


@dataclass(frozen=True)
class CampaignPage:
    items: list[CampaignSummary]
    next_key: CampaignKey | None


def _summaries(session: Session, campaigns: list[Campaign]) -> list[CampaignSummary]:
    """Counts and last jobs for a page of campaigns: three grouped queries, whatever the page size."""
    ids = [campaign.id for campaign in campaigns]
    if not ids:
        return []
    jobs = dict(
        session.execute(
            select(Job.campaign_id, func.count()).where(Job.campaign_id.in_(ids)).group_by(Job.campaign_id)
        ).all()
    )
    images = dict(
        session.execute(
            select(ScrapedImage.campaign_id, func.count())
            .where(ScrapedImage.campaign_id.in_(ids))
            .group_by(ScrapedImage.campaign_id)
        ).all()
    )
    rank = func.row_number().over(
        partition_by=Job.campaign_id, order_by=(Job.created_at.desc(), Job.id.desc())
    )
    ranked = (
        select(Job.campaign_id, Job.id, Job.status, Job.created_at, rank.label("rank"))
        .where(Job.campaign_id.in_(ids))
        .subquery()
    )
    newest = select(ranked.c.campaign_id, ranked.c.id, ranked.c.status, ranked.c.created_at).where(
        ranked.c.rank == 1
    )
    last = {row[0]: (row[1], JobStatus(row[2]), row[3]) for row in session.execute(newest)}
    return [
        CampaignSummary(
            campaign=campaign,
            job_count=int(jobs.get(campaign.id, 0)),
            image_count=int(images.get(campaign.id, 0)),
            last_job_id=last[campaign.id][0] if campaign.id in last else None,
            last_job_status=last[campaign.id][1] if campaign.id in last else None,
            last_job_at=last[campaign.id][2] if campaign.id in last else None,
        )
        for campaign in campaigns
    ]


def list_campaigns(
    session: Session, user_id: uuid.UUID, *, limit: int = 20, after: CampaignKey | None = None
) -> CampaignPage:
    """The caller's campaigns, newest first (created_at, then id, descending), one page after `after`."""
    query = select(Campaign).where(Campaign.user_id == user_id)
    if after is not None:
        query = query.where(
            or_(
                Campaign.created_at < after.created_at,
                and_(Campaign.created_at == after.created_at, Campaign.id < after.id),
            )
        )
    order = (Campaign.created_at.desc(), Campaign.id.desc())
    rows = list(session.scalars(query.order_by(*order).limit(limit + 1)))
    items = rows[:limit]
    next_key = CampaignKey(items[-1].created_at, items[-1].id) if len(rows) > limit else None
    return CampaignPage(items=_summaries(session, items), next_key=next_key)


def get_campaign(session: Session, user_id: uuid.UUID, campaign_id: uuid.UUID) -> CampaignSummary:
    """The caller's campaign with its counts; NotFoundError if it is unknown or someone else's."""
    campaign = session.scalar(select(Campaign).where(Campaign.id == campaign_id, Campaign.user_id == user_id))
    if campaign is None:
        raise NotFoundError("No campaign with this id.")
    return _summaries(session, [campaign])[0]
