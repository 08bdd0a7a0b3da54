"""Object deletes still to do: written with the deleting transaction, carried out by the worker.

Revision ID: 3f1c9a7e2b10
Revises: b7c41e2d9a15
Create Date: 2026-12-08 00:50:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3f1c9a7e2b10"
down_revision: str | None = "b7c41e2d9a15"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_object_deletes",
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_pending_object_deletes")),
    )


def downgrade() -> None:
    op.drop_table("pending_object_deletes")
