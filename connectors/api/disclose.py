"""What a read under a grant may see of the citizen's evidence, item by item.

For each item of the citizen's current evidence the grant reaches (judged on the clear
type and category columns first, so nothing else is decrypted), the claims are opened,
cut to held ∩ granted ∩ asked (``consent.disclosure``), and the cut is put to the policy
decision point, which has the last word: an item it would not allow is withheld.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Uuid, bindparam, select

from consent.disclosure import cut
from consent.policy import ReadRequest, Resource, covering_items, decide
from pds.audit.entry import Action, Actor, Entry, Outcome
from pds.keys.provider import WrappedKey
from pds.logs import request_id_var
from pds.plain_select import PlainSelect
from pds.vault.envelope import DataKey
from pds.vault.models import CitizenKey, Document, EvidenceItem, EvidenceVersion
from pds.vault.sealing import CLAIMS, PROVENANCE, item_context, open_json
from pds.vault.service import open_document_meta

if TYPE_CHECKING:
    import datetime as dt
    import uuid

    from sqlalchemy.orm import Session

    from connectors.api.bearer import Caller
    from consent.disclosure import Asked, Cut
    from consent.grants import GrantState
    from consent.models import Grant
    from consent.policy import Decision
    from pds.db import Database
    from pds.keys.provider import KeyProvider
    from pds.vault.views import DocumentView


@dataclass(frozen=True, slots=True)
class HeldGrant:
    row: Grant
    state: GrantState


@dataclass(frozen=True, slots=True)
class DisclosedItem:
    id: uuid.UUID
    evidence_type: str
    category: str
    version: int
    version_time: dt.datetime
    claims: dict[str, Any]
    provenance: dict[str, Any]
    documents: list[DocumentView] | None


@dataclass(frozen=True, slots=True)
class GrantData:
    grant_id: uuid.UUID
    subject: str
    purpose: str
    items: list[DisclosedItem]


@dataclass(frozen=True, slots=True)
class _Reader:
    caller: Caller
    held: HeldGrant
    asked: Asked
    now: dt.datetime


@dataclass(frozen=True, slots=True)
class _Item:
    """The clear columns of an item and its current version, as the query returns them."""

    id: uuid.UUID
    citizen_id: uuid.UUID
    evidence_type: str
    category: str
    version: int
    version_time: dt.datetime
    claims_sealed: bytes
    provenance_sealed: bytes


_items, _versions, _keys = (
    EvidenceItem.__table__.c,
    EvidenceVersion.__table__.c,
    CitizenKey.__table__.c,
)
_CURRENT_EVIDENCE: Final = (
    select(
        _items.id,
        _items.citizen_id,
        _items.evidence_type,
        _items.category,
        _versions.version,
        _versions.created_at,
        _versions.claims_sealed,
        _versions.provenance_sealed,
        _keys.wrapped_dek,
        _keys.kek_version,
    )
    .select_from(
        EvidenceItem.__table__.join(
            EvidenceVersion.__table__,
            (_versions.item_id == _items.id) & (_versions.version == _items.current_version),
        ).join(CitizenKey.__table__, _keys.citizen_id == _items.citizen_id)
    )
    .where(_items.citizen_id == bindparam("citizen", type_=Uuid()))
    .order_by(_items.id)
)
"""Built once; run through ``Database.fetch``: no ORM entities, no per-execution set-up."""
_CURRENT_EVIDENCE_QUERY: Final = PlainSelect(_CURRENT_EVIDENCE)


async def disclose_all(
    db: Database,
    *,
    keys: KeyProvider,
    caller: Caller,
    held: HeldGrant,
    asked: Asked,
    now: dt.datetime,
) -> list[DisclosedItem]:
    """Every item the grant reaches, cut to what this read may see, from one query (the
    documents of an item whose documents are granted, from a second)."""
    citizen = held.row.citizen_id
    rows = await db.fetch(_CURRENT_EVIDENCE_QUERY, {"citizen": citizen})
    reader = _Reader(caller, held, asked, now)
    dek: DataKey | None = None
    items: list[DisclosedItem] = []
    for row in rows:
        *columns, wrapped_dek, kek_version = row  # the query's last two: the citizen's key
        item = _Item(*columns)
        if not covering_items(held.state.scope, item.evidence_type, item.category):
            continue
        if dek is None:
            dek = DataKey(keys.unwrap(WrappedKey(kek_version, wrapped_dek), item.citizen_id))
        disclosed = _disclose(reader, dek, item)
        if disclosed is None:
            continue
        if disclosed.documents is not None:
            listed = await db.run_read(functools.partial(_documents, dek=dek, item=item))
            disclosed = replace(disclosed, documents=listed)
        items.append(disclosed)
    return items


def _disclose(reader: _Reader, dek: DataKey, item: _Item) -> DisclosedItem | None:
    """The item cut to this read, or None; ``documents`` is an empty list (to be filled
    by the caller) when the item's documents are granted."""
    citizen = item.citizen_id
    claims = open_json(
        dek, item.claims_sealed, item_context(citizen, item.id, item.version, CLAIMS)
    )
    part = cut(reader.held.state.scope, item.evidence_type, item.category, claims, reader.asked)
    if part is None or not _allowed(reader, item, part):
        return None
    provenance = open_json(
        dek, item.provenance_sealed, item_context(citizen, item.id, item.version, PROVENANCE)
    )
    documents: list[DocumentView] | None = [] if part.documents else None
    return DisclosedItem(
        id=item.id,
        evidence_type=item.evidence_type,
        category=item.category,
        version=item.version,
        version_time=item.version_time,
        claims={name: claims[name] for name in sorted(part.claims)},
        provenance=provenance,
        documents=documents,
    )


def _allowed(reader: _Reader, item: _Item, part: Cut) -> bool:
    """The policy decision point confirms the cut; a disagreement withholds the item."""
    decision = decide_read(reader.caller, reader.held, item, reader.now, claims=part.claims)
    if decision.allowed and part.documents:
        decision = decide_read(reader.caller, reader.held, item, reader.now, document=True)
    return decision.allowed


def decide_read(
    caller: Caller,
    held: HeldGrant,
    item: _Item | EvidenceItem,
    now: dt.datetime,
    *,
    claims: frozenset[str] | None = None,
    document: bool = False,
) -> Decision:
    """The policy decision for reading ``claims`` (or a document) of ``item``."""
    resource = Resource(
        citizen_id=str(item.citizen_id),
        evidence_type=item.evidence_type,
        category=item.category,
        claims=claims,
        document=document,
    )
    request = ReadRequest(caller.client_id, caller.purpose or "", resource)
    return decide(held.state, request, now)


def _documents(session: Session, *, dek: DataKey, item: _Item) -> list[DocumentView]:
    rows = session.scalars(
        select(Document).where(Document.item_id == item.id).order_by(Document.id)
    )
    return [open_document_meta(dek, item.citizen_id, row) for row in rows]


def read_entry(caller: Caller, held: HeldGrant, items: list[DisclosedItem]) -> Entry:
    """Exactly which claims of which items left the vault (names only, never values)."""
    disclosed = ";".join(
        f"{item.evidence_type}/{item.id}:{','.join(sorted(item.claims))}" for item in items
    )
    documents = sum(len(item.documents or ()) for item in items)
    return client_entry(
        caller,
        held,
        Action.READ,
        Outcome.ALLOWED,
        resource=f"grants/{held.row.id}/data",
        detail={"items": len(items), "claims": disclosed, "documents_listed": documents},
    )


def client_entry(
    caller: Caller,
    held: HeldGrant | None,
    action: Action,
    outcome: Outcome,
    *,
    resource: str,
    detail: dict[str, str | int | bool | None],
) -> Entry:
    """An act of a client under a grant, for the audit log. The request id is taken now,
    in the request, since a group commit may write the entry from another task.

    A grant that is not the caller's names no citizen: the log must not tie a stranger's
    probe to someone they could not see.
    """
    own = held is not None and held.row.client_id == caller.client_id
    return Entry(
        actor=Actor.CLIENT,
        action=action,
        outcome=outcome,
        client_id=caller.client_id,
        citizen_id=held.row.citizen_id if own and held else None,
        grant_id=held.row.id if own and held else None,
        purpose=caller.purpose,
        resource=resource,
        request_id=request_id_var.get(),
        detail=detail,
    )
