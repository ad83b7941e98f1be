"""Steps the HTTP tests share: more citizens, evidence, documents, rows and problems."""

from __future__ import annotations

import hashlib
import struct
import zlib
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from conftest import sign_up_and_in
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from pds.audit.models import AuditEntry
from pds.vault.evidence_types import EXAMPLE_CLAIMS
from pds.web.deps import SESSION_COOKIE
from pds.web.problems import PROBLEM_JSON

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx
    from sqlalchemy import ColumnElement
    from sqlalchemy.orm import InstrumentedAttribute

    from pds.db import Database

EVIDENCE = "/api/v1/me/evidence"


@asynccontextmanager
async def browser(
    client: AsyncTestClient[Any], token: str | None = None
) -> AsyncIterator[AsyncTestClient[Any]]:
    """Another browser on ``client``'s app, optionally presenting ``token`` as its cookie.

    It joins ``client``'s running event loop (its blocking portal) instead of entering
    a second ``AsyncTestClient``: that would run the app's lifespan again in a loop of
    its own, and mix database connections between loops.
    """
    cookies = {SESSION_COOKIE: token} if token is not None else None
    other: AsyncTestClient[Any] = AsyncTestClient(app=client.app, cookies=cookies)
    other.blocking_portal = client.blocking_portal
    try:
        yield other
    finally:
        del other.blocking_portal


@asynccontextmanager
async def citizen(
    client: AsyncTestClient[Any], email: str
) -> AsyncIterator[tuple[AsyncTestClient[Any], str]]:
    """A second citizen in their own browser, signed up and in; yields (browser, account id)."""
    async with browser(client) as other:
        body = await sign_up_and_in(other, email)
        yield other, body["account"]["id"]


async def create_evidence(
    client: AsyncTestClient[Any],
    evidence_type: str = "proof_of_address",
    claims: dict[str, Any] | None = None,
    category: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": evidence_type,
        "claims": EXAMPLE_CLAIMS[evidence_type] if claims is None else claims,
    }
    if category is not None:
        body["category"] = category
    created = await client.post(EVIDENCE, json=body)
    assert created.status_code == 201, created.text
    result: dict[str, Any] = created.json()
    return result


async def upload(
    client: AsyncTestClient[Any],
    item_id: str,
    data: bytes,
    filename: str = "scan.png",
    content_type: str = "image/png",
) -> httpx.Response:
    return await client.post(
        f"{EVIDENCE}/{item_id}/documents", files={"file": (filename, data, content_type)}
    )


def document_url(item_id: str, document_id: str) -> str:
    return f"{EVIDENCE}/{item_id}/documents/{document_id}"


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png(text: bytes = b"") -> bytes:
    """A real 1x1 PNG; ``text`` goes verbatim into a tEXt chunk, so it is in the file's bytes."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    chunks = [_png_chunk(b"IHDR", header)]
    if text:
        chunks.append(_png_chunk(b"tEXt", b"Comment\0" + text))
    chunks.append(_png_chunk(b"IDAT", zlib.compress(b"\0\xff\x00\x00")))
    chunks.append(_png_chunk(b"IEND", b""))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def pdf(size: int) -> bytes:
    """``size`` bytes that start like a PDF, with varied (but repeatable) content."""
    head = b"%PDF-1.7\n"
    return head + hashlib.shake_256(b"pds test document").digest(size - len(head))


async def count(
    db: Database, column: InstrumentedAttribute[Any], *where: ColumnElement[bool]
) -> int:
    """Rows in ``column``'s table matching ``where``, read in a fresh committed view."""
    async with db.read_sessions() as session:
        found = await session.scalar(select(func.count(column)).where(*where))
    return int(found or 0)


async def audit_entries(db: Database, *where: ColumnElement[bool]) -> list[AuditEntry]:
    async with db.read_sessions() as session:
        rows = await session.scalars(select(AuditEntry).where(*where).order_by(AuditEntry.id))
        return list(rows)


def problem(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Check an RFC 9457 answer and return its body without the per-request id."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    body.pop("request_id", None)
    return body
