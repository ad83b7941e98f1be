"""API structs for the vault (never ORM objects)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Annotated, Any

import msgspec

if TYPE_CHECKING:
    from pds.vault.views import DocumentView, EvidenceSummary, EvidenceView, VersionView

EvidenceTypeKey = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, examples=["proof_of_address"])
]
CategoryKey = Annotated[str, msgspec.Meta(min_length=1, max_length=32, examples=["address"])]


class EvidenceCreate(msgspec.Struct, forbid_unknown_fields=True):
    type: EvidenceTypeKey
    claims: dict[str, Any]
    category: CategoryKey | None = None


class EvidenceUpdate(msgspec.Struct, forbid_unknown_fields=True):
    claims: dict[str, Any]
    category: CategoryKey | None = None


class DocumentOut(msgspec.Struct):
    id: uuid.UUID
    filename: str
    media_type: str
    size: int
    sha256: str
    added_in_version: int
    created_at: dt.datetime


class VersionOut(msgspec.Struct):
    version: int
    created_at: dt.datetime
    claims: dict[str, Any]
    provenance: dict[str, Any]


class EvidenceSummaryOut(msgspec.Struct):
    id: uuid.UUID
    type: str
    category: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class EvidenceOut(EvidenceSummaryOut):
    """The summary plus the current version's content and the documents."""

    claims: dict[str, Any]
    provenance: dict[str, Any]
    documents: list[DocumentOut]


class EvidenceList(msgspec.Struct):
    items: list[EvidenceSummaryOut]


class VersionList(msgspec.Struct):
    items: list[VersionOut]


class CategoryOut(msgspec.Struct):
    key: str
    label: str
    dpv_term: str


class EvidenceTypeOut(msgspec.Struct):
    key: str
    label: str
    default_category: str
    categories: list[CategoryOut]
    claims_schema: dict[str, Any]


class EvidenceTypeList(msgspec.Struct):
    items: list[EvidenceTypeOut]


def document_out(view: DocumentView) -> DocumentOut:
    return DocumentOut(
        id=view.id,
        filename=view.filename,
        media_type=view.media_type,
        size=view.size,
        sha256=view.sha256,
        added_in_version=view.added_in_version,
        created_at=view.created_at,
    )


def version_out(view: VersionView) -> VersionOut:
    return VersionOut(
        version=view.version,
        created_at=view.created_at,
        claims=view.claims,
        provenance=view.provenance,
    )


def summary_out(view: EvidenceSummary) -> EvidenceSummaryOut:
    return EvidenceSummaryOut(
        id=view.id,
        type=view.evidence_type,
        category=view.category,
        version=view.version,
        created_at=view.created_at,
        updated_at=view.updated_at,
    )


def evidence_out(view: EvidenceView) -> EvidenceOut:
    return EvidenceOut(
        **msgspec.structs.asdict(summary_out(view.summary)),
        claims=view.current.claims,
        provenance=view.current.provenance,
        documents=[document_out(d) for d in view.documents],
    )
