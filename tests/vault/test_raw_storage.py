"""What the database itself holds: sealed bytes only, never a claim or a document in clear.

The search is run over the raw SQLite file (and its WAL) or over every PostgreSQL row
as text, and is shown able to find things: the evidence type (stored in clear by design)
and the sealed bytes themselves are found by the same search that misses the markers.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conftest import sign_up_and_in
from e2e.helpers import EVIDENCE, create_evidence, document_url, png, upload
from sqlalchemy import select, text

from pds.models import metadata
from pds.vault.evidence_types import EXAMPLE_CLAIMS
from pds.vault.models import DocumentChunk, EvidenceVersion

if TYPE_CHECKING:
    from litestar.testing import AsyncTestClient

    from pds.db import Database
    from pds.settings import Settings

SQLITE_PREFIX = "sqlite+aiosqlite:///"


async def raw_storage(settings: Settings, db: Database) -> bytes:
    """Everything the database stores, as bytes a person with disk access could read."""
    if db.is_sqlite:
        path = Path(settings.resolved_database_url.removeprefix(SQLITE_PREFIX))
        files = [path, path.with_name(path.name + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    lines = []
    async with db.read_sessions() as session:
        for table in metadata.sorted_tables:
            rows = await session.scalars(text(f'SELECT t::text FROM "{table.name}" t'))  # noqa: S608
            lines.extend(rows)
    return "\n".join(lines).encode()


def forms(marker: bytes) -> list[bytes]:
    """The marker as stored text, and as PostgreSQL prints it inside a bytea."""
    return [marker, marker.hex().encode()]


async def test_claims_and_documents_are_never_stored_in_clear(
    client: AsyncTestClient[Any], db: Database, settings: Settings
) -> None:
    await sign_up_and_in(client, "zebedee@example.com")
    name_marker = f"Zebedee MARKER-{secrets.token_hex(8)}"
    reference_marker = f"REF-{secrets.token_hex(6).upper()}"
    file_marker = b"PIXELS-" + secrets.token_bytes(16)
    filename_marker = f"scan-{secrets.token_hex(6)}.png"
    claims = {**EXAMPLE_CLAIMS["proof_of_address"], "full_name": name_marker}
    item = await create_evidence(client, claims=claims)
    updated = {**claims, "issuer": reference_marker}
    assert (await client.put(f"{EVIDENCE}/{item['id']}", json={"claims": updated})).is_success
    document = png(file_marker)
    assert file_marker in document
    doc = (await upload(client, item["id"], document, filename_marker)).json()
    # Everything reads back in clear through the API, so it really was stored.
    assert (await client.get(f"{EVIDENCE}/{item['id']}")).json()["claims"]["issuer"] == (
        reference_marker
    )
    assert (await client.get(document_url(item["id"], doc["id"]))).content == document

    stored = await raw_storage(settings, db)

    for marker in (name_marker.encode(), reference_marker.encode(), filename_marker.encode()):
        for form in forms(marker):
            assert form not in stored, marker
    for form in forms(file_marker):
        assert form not in stored
    # The same search finds what is meant to be there: the type in clear, and the
    # sealed bytes of the claims and of the document's frame.
    assert b"proof_of_address" in stored
    assert b"zebedee@example.com" in stored  # the sign-in email is a clear column
    async with db.read_sessions() as session:
        sealed_claims = (await session.scalars(select(EvidenceVersion.claims_sealed))).all()
        sealed_frames = (await session.scalars(select(DocumentChunk.sealed))).all()
    assert len(sealed_claims) == 2
    assert len(sealed_frames) == 1
    for sealed in [*sealed_claims, *sealed_frames]:
        assert any(form in stored for form in forms(sealed))
