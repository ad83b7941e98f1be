"""Every table, imported in one place so Alembic and the tests see the whole schema."""

from __future__ import annotations

from pds.accounts.models import Account, Session, SignInAttempt
from pds.audit.models import AuditCheckpoint, AuditEntry, AuditNode, AuditSubject
from pds.db import Base
from pds.keys.models import SigningKey
from pds.vault.models import CitizenKey, Document, DocumentChunk, EvidenceItem, EvidenceVersion

metadata = Base.metadata

__all__ = [
    "Account",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditNode",
    "AuditSubject",
    "CitizenKey",
    "Document",
    "DocumentChunk",
    "EvidenceItem",
    "EvidenceVersion",
    "Session",
    "SignInAttempt",
    "SigningKey",
    "metadata",
]
