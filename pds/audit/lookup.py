"""One entry with its proof, and a pasted checkpoint checked against the log, for pages.

The dashboard shows a proof *and* checks it here, with the same RFC 9162 code an
outside verifier would run, so "verified" on a page means the arithmetic was done,
not just that a proof exists. A checkpoint an auditor pastes is untrusted text until
its signature, origin and consistency with the latest checkpoint have all held.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select

from pds.audit.merkle import ProofError, leaf_hash, verify_consistency, verify_inclusion
from pds.audit.models import AuditEntry
from pds.audit.note import NoteError, open_checkpoint
from pds.audit.proofs import NoCheckpoint, latest_checkpoint, prove_consistency, prove_inclusion
from pds.errors import InvalidInput, NotFound
from pds.keys.signing import AUDIT_CHECKPOINTS, public_keys

if TYPE_CHECKING:
    import uuid

    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.audit.models import AuditCheckpoint
    from pds.audit.proofs import InclusionProof

MAX_NOTE_CHARS = 4000


class EntryNotFound(NotFound):
    code = "audit_entry_not_found"


class CheckpointNotTrusted(InvalidInput):
    code = "checkpoint_not_trusted"


@dataclass(frozen=True, slots=True)
class ProvenEntry:
    """An entry, and (once sequenced into a checkpoint) its checked inclusion proof."""

    entry: AuditEntry
    checkpoint: AuditCheckpoint | None
    proof: InclusionProof | None
    verified: bool


@dataclass(frozen=True, slots=True)
class Consistency:
    """The pasted checkpoint's size and root, and the latest one it was proved against."""

    trusted_size: int
    trusted_root: bytes
    latest: AuditCheckpoint
    proof: list[bytes]


async def entry_for(
    session: AsyncSession, entry_id: uuid.UUID, *, citizen_id: uuid.UUID | None = None
) -> AuditEntry:
    """The entry; when ``citizen_id`` is given, only if it is that citizen's (else 404)."""
    query = select(AuditEntry).where(AuditEntry.id == entry_id)
    if citizen_id is not None:
        query = query.where(AuditEntry.citizen_id == citizen_id)
    entry = await session.scalar(query)
    if entry is None:
        raise EntryNotFound("There is no such entry in the access log.")
    return entry


async def proven_entry(session: AsyncSession, entry: AuditEntry) -> ProvenEntry:
    checkpoint = None
    with contextlib.suppress(NoCheckpoint):
        checkpoint = await latest_checkpoint(session)
    index = entry.leaf_index
    if checkpoint is None or index is None or entry.leaf is None or index >= checkpoint.tree_size:
        return ProvenEntry(entry, checkpoint, None, verified=False)
    proof = await prove_inclusion(session, index, checkpoint.tree_size)
    try:
        verify_inclusion(
            leaf_hash(entry.leaf), index, checkpoint.tree_size, proof.hashes, checkpoint.root_hash
        )
    except ProofError:
        return ProvenEntry(entry, checkpoint, proof, verified=False)
    return ProvenEntry(entry, checkpoint, proof, verified=True)


async def _verifiers(session: AsyncSession, origin: str) -> list[tuple[str, Ed25519PublicKey]]:
    found = []
    for jwk in (await public_keys(session, AUDIT_CHECKPOINTS)).values():
        with contextlib.suppress(KeyError, ValueError, binascii.Error):
            x = str(jwk["x"])
            raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
            found.append((origin, Ed25519PublicKey.from_public_bytes(raw)))
    return found


async def check_consistency(session: AsyncSession, note: str, origin: str) -> Consistency:
    """Prove the latest checkpoint extends the pasted one; ``CheckpointNotTrusted`` if not."""
    text = note.replace("\r\n", "\n").strip() + "\n"
    if len(text) > MAX_NOTE_CHARS:
        raise CheckpointNotTrusted("The checkpoint is too long. Paste one checkpoint only.")
    try:
        pasted = open_checkpoint(text, origin, await _verifiers(session, origin))
    except NoteError as exc:
        raise CheckpointNotTrusted(
            "This is not a checkpoint signed by this log. Paste the whole checkpoint, "
            "from its first line to its signature line."
        ) from exc
    latest = await latest_checkpoint(session)
    if pasted.size < 1 or pasted.size > latest.tree_size:
        raise CheckpointNotTrusted("This checkpoint is newer than any this log has published.")
    proof = await prove_consistency(session, pasted.size, latest.tree_size)
    try:
        verify_consistency(pasted.size, latest.tree_size, pasted.root_hash, latest.root_hash, proof)
    except ProofError as exc:
        raise CheckpointNotTrusted(
            "The log does not extend this checkpoint: its history has been changed since."
        ) from exc
    return Consistency(pasted.size, pasted.root_hash, latest, proof)
