"""Everything a citizen owns, out (export) or gone (erasure).

Export builds one ZIP archive with a machine-readable ``manifest.json``; it is
spooled to a temporary file past a few MiB so a large vault does not sit in
memory. Erasure deletes the wrapped data key and every personal row in one
transaction with its audit entry: what remains is the audit log, which holds
ids and codes only.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import delete, select, update

from credentials.export import export_credentials
from pds.accounts.models import Account, SignInAttempt
from pds.accounts.service import limit_key
from pds.audit.entry import Action, by_citizen
from pds.audit.models import AuditEntry
from pds.audit.service import append
from pds.db import utcnow
from pds.vault.datakeys import load_data_key
from pds.vault.documents import read_all
from pds.vault.models import Document, EvidenceItem, EvidenceVersion
from pds.vault.service import open_document_meta, open_version

if TYPE_CHECKING:
    import uuid

    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.keys.provider import KeyProvider
    from pds.vault.envelope import DataKey

EXPORT_FORMAT = "pds-export/1"
SPOOL_BYTES = 8 * 1024 * 1024


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n"


async def export_archive(session: AsyncSession, keys: KeyProvider, account: Account) -> IO[bytes]:
    """Write the citizen's archive to a spooled file (rewound), audited and committed."""
    dek = await load_data_key(session, keys, account.id)
    # Not a with-block: the caller streams the spool out and closes it.
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    manifest: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "generated_at": utcnow().isoformat(),
        "account": {
            "id": str(account.id),
            "email": account.email,
            "role": account.role,
            "created_at": account.created_at.isoformat(),
        },
    }
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        items = await session.scalars(
            select(EvidenceItem)
            .where(EvidenceItem.citizen_id == account.id)
            .order_by(EvidenceItem.id)
        )
        manifest["evidence"] = [
            await _export_item(session, archive, dek, item) for item in items.all()
        ]
        manifest["credentials"] = await export_credentials(
            session, archive, dek, account.id, now=utcnow()
        )
        manifest["access_log"] = await _write_access_log(session, archive, account.id)
        archive.writestr("manifest.json", _json(manifest))
    append(session, by_citizen(Action.EXPORT, account.id))
    await session.commit()
    spool.seek(0)
    return spool


async def _export_item(
    session: AsyncSession, archive: zipfile.ZipFile, dek: DataKey, item: EvidenceItem
) -> dict[str, Any]:
    """One item's manifest entry, writing its versions and documents into the archive."""
    return {
        "id": str(item.id),
        "type": item.evidence_type,
        "category": item.category,
        "current_version": item.current_version,
        "created_at": item.created_at.isoformat(),
        "updated_at": item.updated_at.isoformat(),
        "versions": await _export_versions(session, archive, dek, item),
        "documents": await _export_documents(session, archive, dek, item),
    }


async def _export_versions(
    session: AsyncSession, archive: zipfile.ZipFile, dek: DataKey, item: EvidenceItem
) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(EvidenceVersion)
        .where(EvidenceVersion.item_id == item.id)
        .order_by(EvidenceVersion.version)
    )
    listed = []
    for row in rows:
        view = open_version(dek, item.citizen_id, row)
        path = f"evidence/{item.id}/v{view.version}.json"
        body = {
            "version": view.version,
            "created_at": view.created_at,
            "claims": view.claims,
            "provenance": view.provenance,
        }
        archive.writestr(path, _json(body))
        listed.append({"version": view.version, "file": path})
    return listed


async def _export_documents(
    session: AsyncSession, archive: zipfile.ZipFile, dek: DataKey, item: EvidenceItem
) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(Document).where(Document.item_id == item.id).order_by(Document.id)
    )
    listed = []
    for doc in rows.all():
        meta = open_document_meta(dek, item.citizen_id, doc)
        path = f"documents/{doc.id}/{meta.filename}"
        archive.writestr(path, await read_all(session, dek, item.citizen_id, doc))
        listed.append(
            {
                "id": str(doc.id),
                "filename": meta.filename,
                "media_type": meta.media_type,
                "size": meta.size,
                "sha256": meta.sha256,
                "added_in_version": meta.added_in_version,
                "file": path,
            }
        )
    return listed


async def _write_access_log(
    session: AsyncSession, archive: zipfile.ZipFile, citizen_id: uuid.UUID
) -> dict[str, Any]:
    rows = await session.stream_scalars(
        select(AuditEntry).where(AuditEntry.citizen_id == citizen_id).order_by(AuditEntry.id)
    )
    count = 0
    with archive.open("access-log.jsonl", "w") as out:
        async for row in rows:
            line = {
                "id": str(row.id),
                "time": row.created_at.isoformat(),
                "actor": row.actor,
                "action": row.action,
                "outcome": row.outcome,
                "client_id": row.client_id,
                "purpose": row.purpose,
                "resource": row.resource,
            }
            out.write((json.dumps(line) + "\n").encode())
            count += 1
    return {"file": "access-log.jsonl", "entries": count}


async def erase_account(session: AsyncSession, account: Account) -> None:
    """Crypto-shred and delete: wrapped DEK, evidence, documents, sessions, the account."""
    append(
        session,
        by_citizen(Action.ERASURE, account.id, detail={"data_key": "destroyed"}),
    )
    # Entries stay (and every proof over them still verifies); their bare ids go,
    # and with the salt the cascade deletes, so does any way to link leaves to them.
    await session.flush()
    await session.execute(
        update(AuditEntry).where(AuditEntry.citizen_id == account.id).values(citizen_id=None)
    )
    await session.execute(
        update(AuditEntry).where(AuditEntry.actor_id == account.id).values(actor_id=None)
    )
    await session.execute(
        delete(SignInAttempt).where(SignInAttempt.key_hash == limit_key("account", account.email))
    )
    # citizen_keys, evidence (with versions, documents, chunks) and sessions all
    # reference the account with ON DELETE CASCADE.
    await session.execute(delete(Account).where(Account.id == account.id))
    await session.commit()
