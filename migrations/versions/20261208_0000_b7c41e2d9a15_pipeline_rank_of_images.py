"""Each image keeps its place in its job's ranking (0 is the hero), the listing's default order.

Revision ID: b7c41e2d9a15
Revises: dd06a3e9addd
Create Date: 2026-12-08 00:00:00+00:00

Rows saved before this revision get the rank their job would have given them: the hero first,
then best first (quality, then id).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7c41e2d9a15"
down_revision: str | None = "dd06a3e9addd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "scraped_images", sa.Column("pipeline_rank", sa.Integer(), server_default="0", nullable=False)
    )
    op.execute(
        """
        UPDATE scraped_images SET pipeline_rank = ranked.position
        FROM (
            SELECT id, ROW_NUMBER() OVER (
                PARTITION BY job_id ORDER BY is_hero DESC, quality_score DESC, id
            ) - 1 AS position
            FROM scraped_images
        ) AS ranked
        WHERE scraped_images.id = ranked.id
        """
    )
    op.create_index(
        op.f("ix_scraped_images_campaign_id_pipeline_rank"),
        "scraped_images",
        ["campaign_id", "pipeline_rank"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_scraped_images_campaign_id_pipeline_rank"), table_name="scraped_images")
    op.drop_column("scraped_images", "pipeline_rank")
