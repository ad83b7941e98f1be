"""API structs for the audit log (never ORM objects), and the export encodings.

Hashes, roots and leaves are standard base64 with padding (RFC 4648 §4), the
encoding the checkpoint note itself uses for its root hash.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import uuid
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

import msgspec

from pds.audit.wording import describe_action, describe_actor, describe_resource

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, AsyncIterator, Sequence

    from pds.audit.models import AuditCheckpoint, AuditEntry
    from pds.audit.proofs import InclusionProof
    from pds.audit.search import AccessLog, Page


class ExportFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


EXPORT_MEDIA_TYPES: Final = {
    ExportFormat.CSV: "text/csv",  # Litestar adds "; charset=utf-8" to text types
    ExportFormat.JSONL: "application/jsonl",
}


class EntryOut(msgspec.Struct):
    """One entry as stored; ``leaf_index`` is null until the sequencer has placed it."""

    id: uuid.UUID
    time: dt.datetime
    actor: str
    actor_id: uuid.UUID | None
    action: str
    outcome: str
    citizen_id: uuid.UUID | None
    client_id: str | None
    grant_id: uuid.UUID | None
    purpose: str | None
    resource: str | None
    request_id: str | None
    detail: dict[str, Any]
    leaf_index: int | None


class EntryPage(msgspec.Struct):
    items: list[EntryOut]
    next_cursor: str | None


class CheckpointOut(msgspec.Struct):
    """The latest signed checkpoint; ``note`` is the C2SP signed note to verify."""

    origin: str
    tree_size: int
    root_hash: str
    note: str
    key_id: str
    created_at: dt.datetime


class InclusionProofOut(msgspec.Struct):
    """RFC 9162 inclusion proof: SHA-256(0x00 || leaf) at ``index`` under the root of
    ``tree_size``, with ``hashes`` nearest the leaf first."""

    index: int
    tree_size: int
    leaf: str
    hashes: list[str]


class ConsistencyProofOut(msgspec.Struct):
    """RFC 9162 consistency proof that the tree of size ``second`` extends ``first``."""

    first: int
    second: int
    hashes: list[str]


class AccessLogEntryOut(msgspec.Struct):
    """One act on my data in plain terms; ``proof`` is null until it is in a checkpoint."""

    id: uuid.UUID
    when: dt.datetime
    who: str
    what: str
    action: str
    resource: str | None
    data: str | None
    why: str | None
    outcome: str
    leaf_index: int | None
    proof: InclusionProofOut | None


class AccessLogOut(msgspec.Struct):
    """My entries, newest first; every proof is against ``checkpoint``."""

    items: list[AccessLogEntryOut]
    next_cursor: str | None
    checkpoint: CheckpointOut | None


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def entry_out(row: AuditEntry) -> EntryOut:
    return EntryOut(
        id=row.id,
        time=row.created_at,
        actor=row.actor,
        actor_id=row.actor_id,
        action=row.action,
        outcome=row.outcome,
        citizen_id=row.citizen_id,
        client_id=row.client_id,
        grant_id=row.grant_id,
        purpose=row.purpose,
        resource=row.resource,
        request_id=row.request_id,
        detail=dict(row.detail),
        leaf_index=row.leaf_index,
    )


def entry_page(page: Page) -> EntryPage:
    return EntryPage(items=[entry_out(row) for row in page.entries], next_cursor=page.next_cursor)


def checkpoint_out(row: AuditCheckpoint) -> CheckpointOut:
    return CheckpointOut(
        origin=row.note.split("\n", 1)[0],
        tree_size=row.tree_size,
        root_hash=b64(row.root_hash),
        note=row.note,
        key_id=row.key_id,
        created_at=row.created_at,
    )


def inclusion_out(proof: InclusionProof) -> InclusionProofOut:
    return InclusionProofOut(
        index=proof.index,
        tree_size=proof.tree_size,
        leaf=b64(proof.leaf),
        hashes=[b64(node) for node in proof.hashes],
    )


def consistency_out(first: int, second: int, hashes: Sequence[bytes]) -> ConsistencyProofOut:
    return ConsistencyProofOut(first=first, second=second, hashes=[b64(node) for node in hashes])


def access_log_out(log: AccessLog, viewer_id: uuid.UUID) -> AccessLogOut:
    items = []
    for row in log.page.entries:
        proof = log.proofs.get(row.id)
        items.append(
            AccessLogEntryOut(
                id=row.id,
                when=row.created_at,
                who=describe_actor(
                    actor=row.actor,
                    actor_id=row.actor_id,
                    viewer_id=viewer_id,
                    action=row.action,
                    outcome=row.outcome,
                    client_id=row.client_id,
                ),
                what=describe_action(row.action),
                action=row.action,
                resource=row.resource,
                data=describe_resource(row.resource),
                why=row.purpose,
                outcome=row.outcome,
                leaf_index=row.leaf_index,
                proof=inclusion_out(proof) if proof else None,
            )
        )
    checkpoint = checkpoint_out(log.checkpoint) if log.checkpoint else None
    return AccessLogOut(items=items, next_cursor=log.page.next_cursor, checkpoint=checkpoint)


# --- export encodings -----------------------------------------------------------------------

CSV_COLUMNS: Final = tuple(EntryOut.__struct_fields__)
CHUNK_CHARS: Final = 64 * 1024  # one ASGI message per ~64 KiB, not one per row
# Cells a spreadsheet would run as a formula (OWASP "CSV injection"); JSON Lines is lossless.
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return msgspec.json.encode(value).decode()
    if isinstance(value, dt.datetime):
        return value.isoformat()
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


async def csv_chunks(rows: AsyncIterable[AuditEntry]) -> AsyncIterator[bytes]:
    """A header, then one CSV record per entry (the csv module, row by row), sent in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    async for row in rows:
        out = entry_out(row)
        writer.writerow([_cell(getattr(out, name)) for name in CSV_COLUMNS])
        if buffer.tell() >= CHUNK_CHARS:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")  # the rest, or just the header when nothing matched


async def jsonl_chunks(rows: AsyncIterable[AuditEntry]) -> AsyncIterator[bytes]:
    """One JSON object per line (the ``EntryOut`` shape), sent in chunks."""
    chunk = bytearray()
    async for row in rows:
        chunk += msgspec.json.encode(entry_out(row))
        chunk += b"\n"
        if len(chunk) >= CHUNK_CHARS:
            yield bytes(chunk)
            chunk.clear()
    if chunk:
        yield bytes(chunk)
