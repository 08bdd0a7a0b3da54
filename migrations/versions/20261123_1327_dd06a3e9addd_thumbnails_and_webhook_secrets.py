"""Thumbnails beside each image (for the gallery) and a per-user secret that signs job callbacks.

Revision ID: dd06a3e9addd
Revises: e5cd4ee6f4a3
Create Date: 2026-11-23 13:27:24.498336+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "dd06a3e9addd"
down_revision: str | None = "e5cd4ee6f4a3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("scraped_images", sa.Column("thumbnail_url", sa.Text(), nullable=True))
    op.add_column("scraped_images", sa.Column("thumbnail_key", sa.String(length=512), nullable=True))
    op.add_column("users", sa.Column("webhook_secret", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "webhook_secret")
    op.drop_column("scraped_images", "thumbnail_key")
    op.drop_column("scraped_images", "thumbnail_url")
