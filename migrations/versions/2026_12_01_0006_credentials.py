"""Credentials: issued SD-JWT VCs (sealed in the citizen's vault), the issuers' Token
Status Lists with every index ever handed out, citizens' holder keys, and which signing
key signs for which issuer client.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pds.db import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credential_holder_keys",
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("private_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["accounts.id"],
            name=op.f("fk_credential_holder_keys_citizen_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("citizen_id", name=op.f("pk_credential_holder_keys")),
    )
    op.create_table(
        "credential_issuer_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.client_id"],
            name=op.f("fk_credential_issuer_keys_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["kid"],
            ["signing_keys.kid"],
            name=op.f("fk_credential_issuer_keys_kid_signing_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_credential_issuer_keys")),
    )
    with op.batch_alter_table("credential_issuer_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credential_issuer_keys_client_id"), ["client_id"], unique=False
        )

    op.create_table(
        "credential_status_lists",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("issuer_client_id", sa.String(length=64), nullable=False),
        sa.Column("bits", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("allocated", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("token", sa.Text(), nullable=True),
        sa.Column("token_expires_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["issuer_client_id"],
            ["clients.client_id"],
            name=op.f("fk_credential_status_lists_issuer_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_status_lists")),
    )
    with op.batch_alter_table("credential_status_lists", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credential_status_lists_issuer_client_id"),
            ["issuer_client_id"],
            unique=False,
        )

    op.create_table(
        "credential_status_allocations",
        sa.Column("list_id", sa.Uuid(), nullable=False),
        sa.Column("idx", sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["credential_status_lists.id"],
            name=op.f("fk_credential_status_allocations_list_id_credential_status_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("list_id", "idx", name=op.f("pk_credential_status_allocations")),
    )
    op.create_table(
        "issued_credentials",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("issuer_client_id", sa.String(length=64), nullable=False),
        sa.Column("vct", sa.String(length=255), nullable=False),
        sa.Column("status_list_id", sa.Uuid(), nullable=False),
        sa.Column("status_idx", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("evidence_id", sa.Uuid(), nullable=True),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["accounts.id"],
            name=op.f("fk_issued_credentials_citizen_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["evidence_items.id"],
            name=op.f("fk_issued_credentials_evidence_id_evidence_items"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["issuer_client_id"],
            ["clients.client_id"],
            name=op.f("fk_issued_credentials_issuer_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["status_list_id"],
            ["credential_status_lists.id"],
            name=op.f("fk_issued_credentials_status_list_id_credential_status_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issued_credentials")),
        sa.UniqueConstraint(
            "status_list_id",
            "status_idx",
            name=op.f("uq_issued_credentials_status_list_id_status_idx"),
        ),
    )
    with op.batch_alter_table("issued_credentials", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_issued_credentials_citizen_id"), ["citizen_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_issued_credentials_issuer_client_id"), ["issuer_client_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("issued_credentials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issued_credentials_issuer_client_id"))
        batch_op.drop_index(batch_op.f("ix_issued_credentials_citizen_id"))

    op.drop_table("issued_credentials")
    op.drop_table("credential_status_allocations")
    with op.batch_alter_table("credential_status_lists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credential_status_lists_issuer_client_id"))

    op.drop_table("credential_status_lists")
    with op.batch_alter_table("credential_issuer_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credential_issuer_keys_client_id"))

    op.drop_table("credential_issuer_keys")
    op.drop_table("credential_holder_keys")
