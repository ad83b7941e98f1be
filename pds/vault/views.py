"""Plain values the vault services return; routes shape them into API structs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import datetime as dt
    import uuid


@dataclass(frozen=True, slots=True)
class DocumentView:
    id: uuid.UUID
    filename: str
    media_type: str
    size: int
    sha256: str
    added_in_version: int
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class VersionView:
    version: int
    created_at: dt.datetime
    claims: dict[str, Any]
    provenance: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EvidenceSummary:
    id: uuid.UUID
    evidence_type: str
    category: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class EvidenceView:
    summary: EvidenceSummary
    current: VersionView
    documents: list[DocumentView] = field(default_factory=list)
