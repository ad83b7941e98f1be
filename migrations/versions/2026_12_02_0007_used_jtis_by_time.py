"""The replay cache keyed by (expires_at, jti_hash): spent values are inserted in time
order, next to each other, instead of at a random place in the index each.

The table holds only values young enough to be replayed, so it is copied as it is. On
SQLite the new table has no rowid (its primary key is its only index).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pds.db import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_OLD = "used_jtis_0006"
_COPY_BACK = (
    # WHERE true: without it SQLite's parser reads ON CONFLICT as a join's ON.
    "INSERT INTO used_jtis (expires_at, jti_hash) SELECT expires_at, jti_hash"
    " FROM used_jtis_0006 WHERE true ON CONFLICT DO NOTHING"
)


def upgrade() -> None:
    with op.batch_alter_table("used_jtis", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_used_jtis_expires_at"))
    _set_aside()
    op.create_table(
        "used_jtis",
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("jti_hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("expires_at", "jti_hash", name=op.f("pk_used_jtis")),
        sqlite_with_rowid=False,
    )
    _copy_back()


def downgrade() -> None:
    _set_aside()
    op.create_table(
        "used_jtis",
        sa.Column("jti_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("jti_hash", name=op.f("pk_used_jtis")),
    )
    with op.batch_alter_table("used_jtis", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_used_jtis_expires_at"), ["expires_at"], unique=False)
    # The old key is the hash alone: of rows that differ only in expires_at, one is kept.
    _copy_back()


def _set_aside() -> None:
    """Rename the table (and, on PostgreSQL, its primary key, whose index name is taken
    per schema) so the new one can be made under the old names."""
    op.rename_table("used_jtis", _OLD)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {_OLD} RENAME CONSTRAINT pk_used_jtis TO pk_{_OLD}")


def _copy_back() -> None:
    op.execute(_COPY_BACK)
    op.drop_table(_OLD)
