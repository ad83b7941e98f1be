"""Every table, imported in one place so Alembic and the tests see the whole schema."""

from __future__ import annotations

from pds.accounts.models import Account, Session, SignInAttempt
from pds.audit.models import AuditEntry
from pds.db import Base
from pds.vault.models import CitizenKey, Document, DocumentChunk, EvidenceItem, EvidenceVersion

metadata = Base.metadata

__all__ = [
    "Account",
    "AuditEntry",
    "CitizenKey",
    "Document",
    "DocumentChunk",
    "EvidenceItem",
    "EvidenceVersion",
    "Session",
    "SignInAttempt",
    "metadata",
]
