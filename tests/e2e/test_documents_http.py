"""Documents over HTTP: upload checked by content, sealed, streamed back, and kept private."""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from conftest import sign_up_and_in
from litestar.testing import AsyncTestClient

from e2e.helpers import (
    EVIDENCE,
    audit_entries,
    citizen,
    count,
    create_evidence,
    document_url,
    pdf,
    png,
    problem,
    upload,
)
from pds.audit.entry import Action, Outcome
from pds.audit.models import AuditEntry
from pds.vault.documents import FRAMES_PER_FETCH
from pds.vault.envelope import CHUNK_SIZE
from pds.vault.models import Document, DocumentChunk
from pds.vault.sniff import MAX_DOCUMENT_BYTES

if TYPE_CHECKING:
    from pds.db import Database

Client = AsyncTestClient[Any]
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"


async def stored_rows(db: Database) -> tuple[int, int]:
    return await count(db, Document.id), await count(db, DocumentChunk.index)


async def test_upload_then_download_gives_the_same_bytes_with_their_headers(
    client: Client, db: Database
) -> None:
    me = (await sign_up_and_in(client, "amara@example.com"))["account"]
    item = await create_evidence(client)
    data = png(b"a water bill, photographed")

    uploaded = await upload(client, item["id"], data, filename="water bill.png")

    assert uploaded.status_code == 201, uploaded.text
    meta = uploaded.json()
    assert meta["filename"] == "water bill.png"
    assert meta["media_type"] == "image/png"
    assert meta["size"] == len(data)
    assert meta["sha256"] == hashlib.sha256(data).hexdigest()
    assert meta["added_in_version"] == 1
    assert (await client.get(f"{EVIDENCE}/{item['id']}")).json()["documents"] == [meta]

    download = await client.get(document_url(item["id"], meta["id"]))

    assert download.status_code == 200
    assert download.content == data
    assert download.headers["content-type"] == "image/png"
    assert download.headers["digest"] == f"sha-256={meta['sha256']}"
    assert download.headers["content-length"] == str(len(data))
    assert download.headers["content-disposition"].startswith("attachment;")
    assert 'filename="water bill.png"' in download.headers["content-disposition"]
    resource = f"evidence/{item['id']}/documents/{meta['id']}"
    entries = await audit_entries(db, AuditEntry.action.like("document.%"))
    assert [(e.action, e.outcome, e.resource, str(e.citizen_id)) for e in entries] == [
        (Action.DOCUMENT_UPLOADED.value, Outcome.ALLOWED.value, resource, me["id"]),
        (Action.DOCUMENT_DOWNLOADED.value, Outcome.ALLOWED.value, resource, me["id"]),
    ]


async def test_a_large_document_is_sealed_in_frames_and_streamed_back_whole(
    client: Client, db: Database
) -> None:
    await sign_up_and_in(client, "amara@example.com")
    item = await create_evidence(client)
    frames = FRAMES_PER_FETCH + 3  # more than one fetch while streaming
    data = pdf(CHUNK_SIZE * (frames - 1) + 123)

    meta = (await upload(client, item["id"], data, filename="statement.pdf")).json()
    download = await client.get(document_url(item["id"], meta["id"]))

    assert meta["media_type"] == "application/pdf"
    chunks = await count(
        db, DocumentChunk.index, DocumentChunk.document_id == uuid.UUID(meta["id"])
    )
    assert chunks == frames
    assert download.status_code == 200
    assert len(download.content) == len(data)
    assert hashlib.sha256(download.content).hexdigest() == meta["sha256"]
    assert download.content == data


async def test_a_document_of_exactly_the_limit_is_accepted(client: Client, db: Database) -> None:
    await sign_up_and_in(client, "amara@example.com")
    item = await create_evidence(client)
    data = JPEG_HEAD + bytes(MAX_DOCUMENT_BYTES - len(JPEG_HEAD))

    uploaded = await upload(client, item["id"], data, "photo.jpg", "image/jpeg")

    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["size"] == MAX_DOCUMENT_BYTES


async def test_the_type_comes_from_the_content_not_the_name_or_header(
    client: Client, db: Database
) -> None:
    await sign_up_and_in(client, "amara@example.com")
    item = await create_evidence(client)
    data = png()

    uploaded = await upload(client, item["id"], data, "bill.pdf", "application/pdf")

    assert uploaded.status_code == 201, uploaded.text
    meta = uploaded.json()
    assert meta["media_type"] == "image/png"
    assert meta["filename"] == "bill.pdf"
    download = await client.get(document_url(item["id"], meta["id"]))
    assert download.headers["content-type"] == "image/png"
    assert download.content == data


REFUSED_UPLOADS = [
    pytest.param(
        (b"Dear Sam, this is not a PDF at all.", "letter.pdf", "application/pdf"),
        415,
        "document_type_not_allowed",
        id="text-named-pdf",
    ),
    pytest.param(
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "photo.gif", "image/gif"),
        415,
        "document_type_not_allowed",
        id="gif",
    ),
    pytest.param(
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "photo.png", "image/png"),
        415,
        "document_type_not_allowed",
        id="gif-named-png",
    ),
    pytest.param(
        (b"<html>%PDF-1.7</html>", "page.pdf", "application/pdf"),
        415,
        "document_type_not_allowed",
        id="pdf-magic-not-at-start",
    ),
    pytest.param(
        (b"", "empty.pdf", "application/pdf"), 415, "document_type_not_allowed", id="empty"
    ),
    pytest.param(
        (pdf(MAX_DOCUMENT_BYTES + 1), "huge.pdf", "application/pdf"),
        413,
        "document_too_large",
        id="one-byte-over",
    ),
    pytest.param(
        (pdf(MAX_DOCUMENT_BYTES + 512 * 1024), "huger.pdf", "application/pdf"),
        413,
        "payload_too_large",
        id="body-over-limit",
    ),
]


@pytest.mark.parametrize(("sent", "status", "code"), REFUSED_UPLOADS)
async def test_a_refused_upload_leaves_nothing_behind(
    client: Client, db: Database, sent: tuple[bytes, str, str], status: int, code: str
) -> None:
    await sign_up_and_in(client, "amara@example.com")
    item = await create_evidence(client)
    before = await stored_rows(db)

    response = await upload(client, item["id"], *sent)

    problem(response, status, code)
    assert await stored_rows(db) == before == (0, 0)
    assert await audit_entries(db, AuditEntry.action == Action.DOCUMENT_UPLOADED.value) == []
    assert (await client.get(f"{EVIDENCE}/{item['id']}")).json()["documents"] == []


async def test_an_upload_without_the_file_field_is_a_client_error(
    client: Client, db: Database
) -> None:
    await sign_up_and_in(client, "amara@example.com")
    item = await create_evidence(client)

    wrong_field = await client.post(
        f"{EVIDENCE}/{item['id']}/documents", files={"document": ("a.png", png(), "image/png")}
    )
    as_json = await client.post(f"{EVIDENCE}/{item['id']}/documents", json={"file": "x"})

    assert 400 <= wrong_field.status_code < 500, wrong_field.text
    assert 400 <= as_json.status_code < 500, as_json.text
    assert await stored_rows(db) == (0, 0)


async def test_names_are_cleaned_and_survive_the_download_header(
    client: Client, db: Database
) -> None:
    await sign_up_and_in(client, "amara@example.com")
    item = await create_evidence(client)

    sneaky = (await upload(client, item["id"], png(), '../../etc/pass"wd.png')).json()
    accented = (await upload(client, item["id"], png(), "Rechnung Müller.png")).json()

    assert sneaky["filename"] == "passwd.png"
    assert accented["filename"] == "Rechnung Müller.png"
    header = (await client.get(document_url(item["id"], accented["id"]))).headers
    assert 'filename="Rechnung M_ller.png"' in header["content-disposition"]
    assert "filename*=UTF-8''Rechnung%20M%C3%BCller.png" in header["content-disposition"]


async def test_documents_belong_to_the_version_they_were_added_in(
    client: Client, db: Database
) -> None:
    await sign_up_and_in(client, "amara@example.com")
    item = await create_evidence(client)
    first = (await upload(client, item["id"], png(b"one"))).json()
    await client.put(f"{EVIDENCE}/{item['id']}", json={"claims": item["claims"]})

    second = (await upload(client, item["id"], pdf(2000), "two.pdf", "application/pdf")).json()

    assert (first["added_in_version"], second["added_in_version"]) == (1, 2)
    read = (await client.get(f"{EVIDENCE}/{item['id']}")).json()
    assert [d["id"] for d in read["documents"]] == [first["id"], second["id"]]
    download = await client.get(document_url(item["id"], first["id"]))
    assert download.content == png(b"one")


async def test_deleting_a_document_removes_it_and_its_frames(client: Client, db: Database) -> None:
    await sign_up_and_in(client, "amara@example.com")
    item = await create_evidence(client)
    kept = (await upload(client, item["id"], png(b"kept"))).json()
    gone = (await upload(client, item["id"], pdf(CHUNK_SIZE * 2), "x.pdf")).json()
    assert await stored_rows(db) == (2, 1 + 2)

    deleted = await client.delete(document_url(item["id"], gone["id"]))

    assert deleted.status_code == 204
    problem(await client.get(document_url(item["id"], gone["id"])), 404, "document_not_found")
    problem(await client.delete(document_url(item["id"], gone["id"])), 404, "document_not_found")
    assert await stored_rows(db) == (1, 1)
    read = (await client.get(f"{EVIDENCE}/{item['id']}")).json()
    assert [d["id"] for d in read["documents"]] == [kept["id"]]
    [entry] = await audit_entries(db, AuditEntry.action == Action.DOCUMENT_DELETED.value)
    assert entry.resource == f"evidence/{item['id']}/documents/{gone['id']}"


async def test_deleting_evidence_deletes_its_documents(client: Client, db: Database) -> None:
    await sign_up_and_in(client, "amara@example.com")
    item = await create_evidence(client)
    doc = (await upload(client, item["id"], pdf(CHUNK_SIZE + 1), "x.pdf")).json()

    assert (await client.delete(f"{EVIDENCE}/{item['id']}")).status_code == 204

    assert await stored_rows(db) == (0, 0)
    problem(await client.get(document_url(item["id"], doc["id"])), 404)


async def test_another_citizens_documents_do_not_exist_for_you(
    client: Client, db: Database
) -> None:
    await sign_up_and_in(client, "amara@example.com")
    item = await create_evidence(client)
    data = png(b"private")
    doc = (await upload(client, item["id"], data)).json()
    async with citizen(client, "bola@example.com") as (other, _):
        own = await create_evidence(other, "blue_badge")
        random_item, random_doc = str(uuid.uuid4()), str(uuid.uuid4())

        async def same_as_unknown(method: str, url: str, unknown: str, **kw: Any) -> None:
            attempt = await other.request(method, url, **kw)
            answer = await other.request(method, unknown, **kw)
            assert problem(attempt, 404) == problem(answer, 404), (method, url)

        mine = document_url(item["id"], doc["id"])
        await same_as_unknown("GET", mine, document_url(random_item, random_doc))
        await same_as_unknown("DELETE", mine, document_url(random_item, random_doc))
        # Their own item with my document's id: that document is not on their item.
        crossed = document_url(own["id"], doc["id"])
        await same_as_unknown("GET", crossed, document_url(own["id"], random_doc))
        await same_as_unknown("DELETE", crossed, document_url(own["id"], random_doc))
        files = {"file": ("planted.png", png(b"planted"), "image/png")}
        await same_as_unknown(
            "POST",
            f"{EVIDENCE}/{item['id']}/documents",
            f"{EVIDENCE}/{random_item}/documents",
            files=files,
        )

    assert await stored_rows(db) == (1, 1)
    download = await client.get(mine)
    assert download.content == data
    downloads = await audit_entries(db, AuditEntry.action == Action.DOCUMENT_DOWNLOADED.value)
    assert len(downloads) == 1  # only the owner's


async def test_document_routes_need_a_session(client: Client, db: Database) -> None:
    await sign_up_and_in(client, "amara@example.com")
    item = await create_evidence(client)
    doc = (await upload(client, item["id"], png())).json()
    client.cookies.clear()

    problem(await upload(client, item["id"], png()), 401, "session_invalid")
    problem(await client.get(document_url(item["id"], doc["id"])), 401, "session_invalid")
    problem(await client.delete(document_url(item["id"], doc["id"])), 401, "session_invalid")
    assert await stored_rows(db) == (1, 1)


async def test_an_anonymous_upload_is_refused_before_its_body_is_read(
    client: Client, db: Database
) -> None:
    """The guard answers 401 without consuming the body: the request stream is never read."""
    sent = False

    async def body() -> Any:
        nonlocal sent
        sent = True
        yield b"x" * 1024

    response = await client.post(
        f"/api/v1/me/evidence/{uuid.uuid4()}/documents",
        content=body(),
        headers={"content-type": "multipart/form-data; boundary=x"},
    )

    problem(response, 401, "session_invalid")
    assert not sent
