"""A partial index on the audit entries not yet in the Merkle tree, oldest first: the
sequencer's queue.

Without it PostgreSQL found the next batch by walking the primary key past every entry
already placed, so each batch cost more as the log grew (44 ms at 200,000 entries).
Entries leave the index as they are placed, so it stays the size of the backlog.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_PENDING = sa.text("leaf_index IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_audit_entries_pending",
        "audit_entries",
        ["id"],
        unique=False,
        postgresql_where=_PENDING,
        sqlite_where=_PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_audit_entries_pending", table_name="audit_entries")
