"""Audit entries: the append-only record every act writes in its own transaction.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pds.db import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=True),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("grant_id", sa.Uuid(), nullable=True),
        sa.Column("purpose", sa.String(length=200), nullable=True),
        sa.Column("resource", sa.String(length=200), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    op.create_index(
        "ix_audit_entries_action_created_at",
        "audit_entries",
        ["action", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_audit_entries_citizen_id_created_at",
        "audit_entries",
        ["citizen_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_audit_entries_client_id_created_at",
        "audit_entries",
        ["client_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    # Dropping a table drops its indexes and constraints with it.
    op.drop_table("audit_entries")
