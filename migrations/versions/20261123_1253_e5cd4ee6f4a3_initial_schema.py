"""Initial schema: users, api_keys, campaigns, jobs, scraped_images.

Revision ID: e5cd4ee6f4a3
Revises:
Create Date: 2026-11-23 12:53:36.075476+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5cd4ee6f4a3"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_api_keys_user_id"), "api_keys", ["user_id"], unique=False)
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_campaigns_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index(op.f("ix_campaigns_user_id"), "campaigns", ["user_id"], unique=False)
    op.create_table(
        "jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("sales_page_url", sa.Text(), nullable=False),
        sa.Column("max_images", sa.Integer(), nullable=False),
        sa.Column("callback_url", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "succeeded",
                "failed",
                "cancelled",
                name="job_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("images_found", sa.Integer(), nullable=False),
        sa.Column("images_processed", sa.Integer(), nullable=False),
        sa.Column("images_saved", sa.Integer(), nullable=False),
        sa.Column("images_skipped", sa.Integer(), nullable=False),
        sa.Column("images_failed", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_jobs_campaign_id_campaigns"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_jobs_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("user_id", "idempotency_key", name=op.f("uq_jobs_user_id_idempotency_key")),
    )
    op.create_index(
        op.f("ix_jobs_campaign_id_created_at"), "jobs", ["campaign_id", "created_at"], unique=False
    )
    op.create_index(op.f("ix_jobs_status_updated_at"), "jobs", ["status", "updated_at"], unique=False)
    op.create_index(op.f("ix_jobs_user_id_created_at"), "jobs", ["user_id", "created_at"], unique=False)
    op.create_table(
        "scraped_images",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("cdn_url", sa.Text(), nullable=False),
        sa.Column("storage_key", sa.String(length=512), nullable=False),
        sa.Column("original_url", sa.Text(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("file_size", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("quality_score", sa.Float(), nullable=False),
        sa.Column(
            "image_type",
            sa.Enum(
                "hero",
                "product",
                "lifestyle",
                name="image_type",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("is_hero", sa.Boolean(), nullable=False),
        sa.Column("is_product", sa.Boolean(), nullable=False),
        sa.Column("is_lifestyle", sa.Boolean(), nullable=False),
        sa.Column("alt_text", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("phash", sa.String(length=64), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("times_used", sa.Integer(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scraped_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_scraped_images_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_scraped_images_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scraped_images")),
        sa.UniqueConstraint(
            "campaign_id", "content_hash", name=op.f("uq_scraped_images_campaign_id_content_hash")
        ),
    )
    op.create_index(op.f("ix_scraped_images_campaign_id"), "scraped_images", ["campaign_id"], unique=False)
    op.create_index(
        op.f("ix_scraped_images_campaign_id_image_type"),
        "scraped_images",
        ["campaign_id", "image_type"],
        unique=False,
    )
    op.create_index(
        "ix_scraped_images_campaign_id_quality_score",
        "scraped_images",
        ["campaign_id", sa.literal_column("quality_score DESC")],
        unique=False,
    )
    op.create_index(op.f("ix_scraped_images_job_id"), "scraped_images", ["job_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_scraped_images_job_id"), table_name="scraped_images")
    op.drop_index("ix_scraped_images_campaign_id_quality_score", table_name="scraped_images")
    op.drop_index(op.f("ix_scraped_images_campaign_id_image_type"), table_name="scraped_images")
    op.drop_index(op.f("ix_scraped_images_campaign_id"), table_name="scraped_images")
    op.drop_table("scraped_images")
    op.drop_index(op.f("ix_jobs_user_id_created_at"), table_name="jobs")
    op.drop_index(op.f("ix_jobs_status_updated_at"), table_name="jobs")
    op.drop_index(op.f("ix_jobs_campaign_id_created_at"), table_name="jobs")
    op.drop_table("jobs")
    op.drop_index(op.f("ix_campaigns_user_id"), table_name="campaigns")
    op.drop_table("campaigns")
    op.drop_index(op.f("ix_api_keys_user_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("users")
