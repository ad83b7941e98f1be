"""Evidence use cases over a session: create, read, update (new version), delete.

Each use case loads the citizen's data key for this unit of work only, checks
ownership by querying with the citizen's id (another citizen's item is simply
"not found"), and appends its audit entry before the one commit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from consent.notify import evidence_changed
from pds.audit.entry import Action, by_citizen
from pds.audit.service import append
from pds.db import utcnow
from pds.errors import NotFound
from pds.vault.datakeys import load_data_key, unwrap_data_key
from pds.vault.evidence_types import resolve_category, validate_claims
from pds.vault.models import CitizenKey, Document, EvidenceItem, EvidenceVersion
from pds.vault.sealing import CLAIMS, DOCUMENT_META, PROVENANCE, item_context, open_json, seal_json
from pds.vault.views import DocumentView, EvidenceSummary, EvidenceView, VersionView

if TYPE_CHECKING:
    import datetime as dt
    import uuid

    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.keys.provider import KeyProvider
    from pds.vault.envelope import DataKey

SELF_ASSERTED: dict[str, Any] = {"kind": "self_asserted"}


class EvidenceNotFound(NotFound):
    code = "evidence_not_found"


def _summary(item: EvidenceItem) -> EvidenceSummary:
    return EvidenceSummary(
        id=item.id,
        evidence_type=item.evidence_type,
        category=item.category,
        version=item.current_version,
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def _audit(
    session: AsyncSession, action: Action, citizen_id: uuid.UUID, item: EvidenceItem
) -> None:
    detail: dict[str, str | int | bool | None] = {
        "type": item.evidence_type,
        "version": item.current_version,
    }
    append(session, by_citizen(action, citizen_id, resource=f"evidence/{item.id}", detail=detail))


async def _tell_services(session: AsyncSession, item: EvidenceItem, change: str) -> None:
    """Services whose live grants reach this item learn that it changed (not how)."""
    await evidence_changed(
        session,
        item.citizen_id,
        evidence_type=item.evidence_type,
        category=item.category,
        change=change,
        version=item.current_version,
        now=item.updated_at if change != "deleted" else utcnow(),
    )


async def owned_item(
    session: AsyncSession, citizen_id: uuid.UUID, item_id: uuid.UUID
) -> EvidenceItem:
    """The item if this citizen owns it; otherwise 404 with no hint that it exists."""
    item = await session.scalar(
        select(EvidenceItem).where(
            EvidenceItem.id == item_id, EvidenceItem.citizen_id == citizen_id
        )
    )
    if item is None:
        raise EvidenceNotFound("No evidence with this id.")
    return item


def _add_version(
    session: AsyncSession,
    dek: DataKey,
    item: EvidenceItem,
    claims: dict[str, Any],
    provenance: dict[str, Any],
) -> EvidenceVersion:
    version = item.current_version
    row = EvidenceVersion(
        item_id=item.id,
        version=version,
        created_at=item.updated_at,
        claims_sealed=seal_json(
            dek, claims, item_context(item.citizen_id, item.id, version, CLAIMS)
        ),
        provenance_sealed=seal_json(
            dek, provenance, item_context(item.citizen_id, item.id, version, PROVENANCE)
        ),
    )
    session.add(row)
    return row


def open_version(dek: DataKey, citizen_id: uuid.UUID, row: EvidenceVersion) -> VersionView:
    return VersionView(
        version=row.version,
        created_at=row.created_at,
        claims=open_json(
            dek, row.claims_sealed, item_context(citizen_id, row.item_id, row.version, CLAIMS)
        ),
        provenance=open_json(
            dek,
            row.provenance_sealed,
            item_context(citizen_id, row.item_id, row.version, PROVENANCE),
        ),
    )


async def create_evidence(
    session: AsyncSession,
    keys: KeyProvider,
    citizen_id: uuid.UUID,
    *,
    evidence_type: str,
    category: str | None,
    claims: object,
    today: dt.date,
) -> EvidenceView:
    """Validate, seal and store a new item at version 1."""
    resolved = resolve_category(evidence_type, category)
    clean = validate_claims(evidence_type, claims, today=today)
    dek = await load_data_key(session, keys, citizen_id)
    now = utcnow()
    item = EvidenceItem(
        citizen_id=citizen_id,
        evidence_type=evidence_type,
        category=resolved.value,
        current_version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(item)
    await session.flush()
    version = _add_version(session, dek, item, clean, SELF_ASSERTED)
    _audit(session, Action.EVIDENCE_CREATED, citizen_id, item)
    await _tell_services(session, item, "created")
    await session.commit()
    return EvidenceView(_summary(item), open_version(dek, citizen_id, version))


async def list_evidence(session: AsyncSession, citizen_id: uuid.UUID) -> list[EvidenceSummary]:
    """The citizen's items, newest first; nothing is decrypted for a list."""
    items = await session.scalars(
        select(EvidenceItem)
        .where(EvidenceItem.citizen_id == citizen_id)
        .order_by(EvidenceItem.id.desc())
    )
    return [_summary(item) for item in items]


async def read_evidence(
    session: AsyncSession, keys: KeyProvider, citizen_id: uuid.UUID, item_id: uuid.UUID
) -> EvidenceView:
    """The item's current version and its documents, decrypted.

    Item, current version and wrapped data key come back in one query: on the
    read path every round trip to the database counts (see the HTTP benchmark).
    """
    found = (
        await session.execute(
            select(EvidenceItem, EvidenceVersion, CitizenKey)
            .join(
                EvidenceVersion,
                (EvidenceVersion.item_id == EvidenceItem.id)
                & (EvidenceVersion.version == EvidenceItem.current_version),
            )
            .join(CitizenKey, CitizenKey.citizen_id == EvidenceItem.citizen_id)
            .where(EvidenceItem.id == item_id, EvidenceItem.citizen_id == citizen_id)
        )
    ).one_or_none()
    if found is None:
        raise EvidenceNotFound("No evidence with this id.")
    item, version, wrapped = found
    dek = unwrap_data_key(keys, wrapped)
    documents = await _documents(session, dek, item)
    return EvidenceView(_summary(item), open_version(dek, citizen_id, version), documents)


async def _documents(session: AsyncSession, dek: DataKey, item: EvidenceItem) -> list[DocumentView]:
    rows = await session.scalars(
        select(Document).where(Document.item_id == item.id).order_by(Document.id)
    )
    return [open_document_meta(dek, item.citizen_id, row) for row in rows]


def open_document_meta(dek: DataKey, citizen_id: uuid.UUID, row: Document) -> DocumentView:
    meta = open_json(
        dek, row.meta_sealed, item_context(citizen_id, row.id, row.added_in_version, DOCUMENT_META)
    )
    return DocumentView(
        id=row.id,
        filename=meta["filename"],
        media_type=meta["media_type"],
        size=meta["size"],
        sha256=meta["sha256"],
        added_in_version=row.added_in_version,
        created_at=row.created_at,
    )


async def update_evidence(
    session: AsyncSession,
    keys: KeyProvider,
    citizen_id: uuid.UUID,
    item_id: uuid.UUID,
    *,
    claims: object,
    category: str | None,
    today: dt.date,
) -> EvidenceView:
    """Store the new claims as the next version; earlier versions stay readable."""
    item = await owned_item(session, citizen_id, item_id)
    resolved = resolve_category(item.evidence_type, category or item.category)
    clean = validate_claims(item.evidence_type, claims, today=today)
    dek = await load_data_key(session, keys, citizen_id)
    item.current_version += 1
    item.category = resolved.value
    item.updated_at = utcnow()
    version = _add_version(session, dek, item, clean, SELF_ASSERTED)
    _audit(session, Action.EVIDENCE_UPDATED, citizen_id, item)
    await _tell_services(session, item, "updated")
    await session.commit()
    documents = await _documents(session, dek, item)
    return EvidenceView(_summary(item), open_version(dek, citizen_id, version), documents)


async def list_versions(
    session: AsyncSession, keys: KeyProvider, citizen_id: uuid.UUID, item_id: uuid.UUID
) -> list[VersionView]:
    """Every version of the item, newest first."""
    item = await owned_item(session, citizen_id, item_id)
    dek = await load_data_key(session, keys, citizen_id)
    rows = await session.scalars(
        select(EvidenceVersion)
        .where(EvidenceVersion.item_id == item.id)
        .order_by(EvidenceVersion.version.desc())
    )
    return [open_version(dek, citizen_id, row) for row in rows]


async def delete_evidence(session: AsyncSession, citizen_id: uuid.UUID, item_id: uuid.UUID) -> None:
    """Remove the item with every version and document (the database cascades)."""
    item = await owned_item(session, citizen_id, item_id)
    _audit(session, Action.EVIDENCE_DELETED, citizen_id, item)
    await _tell_services(session, item, "deleted")
    await session.execute(delete(EvidenceItem).where(EvidenceItem.id == item.id))
    await session.commit()
