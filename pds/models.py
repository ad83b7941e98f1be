"""Every table, imported in one place so Alembic and the tests see the whole schema."""

from __future__ import annotations

from connectors.models import (
    AuthorizationCode,
    AuthorizationRequest,
    Client,
    RateLimitWindow,
    RevokedToken,
    UsedJti,
)
from consent.models import (
    ClientEvent,
    ClientEventCounter,
    ConsentReceipt,
    Grant,
    GrantEvent,
    PairwiseSubject,
)
from credentials.models import (
    HolderKey,
    IssuedCredential,
    IssuerKey,
    StatusAllocation,
    StatusListRow,
)
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
    "AuthorizationCode",
    "AuthorizationRequest",
    "CitizenKey",
    "Client",
    "ClientEvent",
    "ClientEventCounter",
    "ConsentReceipt",
    "Document",
    "DocumentChunk",
    "EvidenceItem",
    "EvidenceVersion",
    "Grant",
    "GrantEvent",
    "HolderKey",
    "IssuedCredential",
    "IssuerKey",
    "PairwiseSubject",
    "RateLimitWindow",
    "RevokedToken",
    "Session",
    "SignInAttempt",
    "SigningKey",
    "StatusAllocation",
    "StatusListRow",
    "UsedJti",
    "metadata",
]
