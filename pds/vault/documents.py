"""Documents attached to evidence: checked by content, sealed frame by frame, streamed out.

An upload is validated completely (size, type by magic bytes) before anything
is written, and its rows commit in one transaction with the audit entry, so a
refused or failed upload leaves nothing behind.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from pds.audit.entry import Action, by_citizen
from pds.audit.service import append
from pds.errors import NotFound
from pds.vault.datakeys import load_data_key
from pds.vault.envelope import DataKey, DecryptionError
from pds.vault.models import Document, DocumentChunk
from pds.vault.sealing import DOCUMENT_CONTENT, DOCUMENT_META, item_context, seal_json
from pds.vault.service import open_document_meta, owned_item
from pds.vault.sniff import check_document

if TYPE_CHECKING:
    import uuid
    from collections.abc import AsyncIterator

    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from pds.keys.provider import KeyProvider
    from pds.vault.views import DocumentView

FRAMES_PER_FETCH = 16  # 1 MiB of sealed frames per round trip while streaming


class DocumentNotFound(NotFound):
    code = "document_not_found"


@dataclass(frozen=True, slots=True)
class DocumentDownload:
    """What a route needs to stream a document: its metadata and where to read it."""

    meta: DocumentView
    citizen_id: uuid.UUID
    chunk_count: int
    dek: DataKey


def safe_filename(name: str | None) -> str:
    """Keep a name a person recognises, minus paths and control characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>|:*?').strip()
    return cleaned[:200] or "document"


async def add_document(
    session: AsyncSession,
    keys: KeyProvider,
    citizen_id: uuid.UUID,
    item_id: uuid.UUID,
    *,
    data: bytes,
    filename: str | None,
    declared_type: str | None,
) -> DocumentView:
    """Attach a document to the item's current version."""
    item = await owned_item(session, citizen_id, item_id)
    media_type = check_document(data, declared_type)
    dek = await load_data_key(session, keys, citizen_id)
    row = Document(
        item_id=item.id, added_in_version=item.current_version, meta_sealed=b"", chunk_count=0
    )
    session.add(row)
    await session.flush()
    meta = {
        "filename": safe_filename(filename),
        "media_type": media_type,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    row.meta_sealed = seal_json(
        dek, meta, item_context(citizen_id, row.id, row.added_in_version, DOCUMENT_META)
    )
    context = item_context(citizen_id, row.id, row.added_in_version, DOCUMENT_CONTENT)
    chunks = [
        DocumentChunk(document_id=row.id, index=index, sealed=frame)
        for index, frame in enumerate(dek.seal_frames(data, context))
    ]
    row.chunk_count = len(chunks)
    session.add_all(chunks)
    _audit(session, Action.DOCUMENT_UPLOADED, citizen_id, row)
    await session.commit()
    return open_document_meta(dek, citizen_id, row)


def _audit(session: AsyncSession, action: Action, citizen_id: uuid.UUID, row: Document) -> None:
    append(
        session,
        by_citizen(action, citizen_id, resource=f"evidence/{row.item_id}/documents/{row.id}"),
    )


async def _owned_document(
    session: AsyncSession, citizen_id: uuid.UUID, item_id: uuid.UUID, document_id: uuid.UUID
) -> Document:
    item = await owned_item(session, citizen_id, item_id)
    row = await session.scalar(
        select(Document).where(Document.id == document_id, Document.item_id == item.id)
    )
    if row is None:
        raise DocumentNotFound("No document with this id.")
    return row


async def start_download(
    session: AsyncSession,
    keys: KeyProvider,
    citizen_id: uuid.UUID,
    item_id: uuid.UUID,
    document_id: uuid.UUID,
) -> DocumentDownload:
    """Check ownership, record the download, and hand back what streaming needs."""
    row = await _owned_document(session, citizen_id, item_id, document_id)
    dek = await load_data_key(session, keys, citizen_id)
    meta = open_document_meta(dek, citizen_id, row)
    _audit(session, Action.DOCUMENT_DOWNLOADED, citizen_id, row)
    await session.commit()
    return DocumentDownload(meta=meta, citizen_id=citizen_id, chunk_count=row.chunk_count, dek=dek)


async def stream_plaintext(
    sessions: async_sessionmaker[AsyncSession], download: DocumentDownload
) -> AsyncIterator[bytes]:
    """Decrypt frame by frame, fetching a batch at a time in its own short read.

    A frame that fails to open raises mid-stream; the server then aborts the
    response, so a client never receives a silently truncated file.
    """
    meta = download.meta
    context = item_context(download.citizen_id, meta.id, meta.added_in_version, DOCUMENT_CONTENT)
    last = download.chunk_count - 1
    for start in range(0, download.chunk_count, FRAMES_PER_FETCH):
        async with sessions() as session:
            frames = (
                await session.scalars(
                    select(DocumentChunk.sealed)
                    .where(
                        DocumentChunk.document_id == meta.id,
                        DocumentChunk.index >= start,
                        DocumentChunk.index < start + FRAMES_PER_FETCH,
                    )
                    .order_by(DocumentChunk.index)
                )
            ).all()
        if len(frames) != min(FRAMES_PER_FETCH, download.chunk_count - start):
            raise DecryptionError  # frames were removed: never end a short file cleanly
        for offset, frame in enumerate(frames):
            index = start + offset
            yield download.dek.open_frame(frame, context, index, last=index == last)


async def delete_document(
    session: AsyncSession, citizen_id: uuid.UUID, item_id: uuid.UUID, document_id: uuid.UUID
) -> None:
    row = await _owned_document(session, citizen_id, item_id, document_id)
    _audit(session, Action.DOCUMENT_DELETED, citizen_id, row)
    await session.execute(delete(Document).where(Document.id == row.id))
    await session.commit()


async def read_all(
    session: AsyncSession, dek: DataKey, citizen_id: uuid.UUID, row: Document
) -> bytes:
    """A whole document in memory (export only; documents are capped at 10 MiB)."""
    context = item_context(citizen_id, row.id, row.added_in_version, DOCUMENT_CONTENT)
    frames = (
        await session.scalars(
            select(DocumentChunk.sealed)
            .where(DocumentChunk.document_id == row.id)
            .order_by(DocumentChunk.index)
        )
    ).all()
    if len(frames) != row.chunk_count:
        raise DecryptionError
    last = row.chunk_count - 1
    return b"".join(
        dek.open_frame(frame, context, index, last=index == last)
        for index, frame in enumerate(frames)
    )
