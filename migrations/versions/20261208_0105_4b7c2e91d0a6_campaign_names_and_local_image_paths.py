"""Campaign names (and the index of the campaign listing); local images' URLs stored as /files/ paths.

With local storage, an image's cdn_url and thumbnail_url used to be stored absolute, with
the port of the process that stored them (http://127.0.0.1:5000/files/…), so they broke
when the API moved to another port. They are now stored as a path (/files/…) and made
absolute when answering; this backfills the rows written before.

Revision ID: 4b7c2e91d0a6
Revises: 3f1c9a7e2b10
Create Date: 2026-12-08 01:05:00.000000+00:00
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4b7c2e91d0a6"
down_revision: str | None = "3f1c9a7e2b10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What LocalStore wrote by default: the API's own address on this machine, then /files/.
LOCAL_FILES_URL = re.compile(r"^http://(?:127\.0\.0\.1|localhost|\[::1\]):\d+(/files/.+)$")
LIKE_PATTERNS = ("http://127.0.0.1:%/files/%", "http://localhost:%/files/%", "http://[::1]:%/files/%")

images = sa.table(
    "scraped_images",
    sa.column("id", sa.Uuid()),
    sa.column("cdn_url", sa.Text()),
    sa.column("thumbnail_url", sa.Text()),
)


def _as_path(url: str | None) -> str | None:
    match = LOCAL_FILES_URL.match(url or "")
    return match.group(1) if match else url


def upgrade() -> None:
    op.add_column("campaigns", sa.Column("name", sa.String(length=200), nullable=True))
    op.create_index("ix_campaigns_user_id_created_at", "campaigns", ["user_id", "created_at"])
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(images.c.id, images.c.cdn_url, images.c.thumbnail_url).where(
            sa.or_(*(images.c.cdn_url.like(pattern) for pattern in LIKE_PATTERNS))
        )
    ).all()
    for image_id, cdn_url, thumbnail_url in rows:
        conn.execute(
            images.update()
            .where(images.c.id == image_id)
            .values(cdn_url=_as_path(cdn_url), thumbnail_url=_as_path(thumbnail_url))
        )


def downgrade() -> None:
    # The paths stay paths: which port they once named is not known any more.
    op.drop_index("ix_campaigns_user_id_created_at", table_name="campaigns")
    op.drop_column("campaigns", "name")
