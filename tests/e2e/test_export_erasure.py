"""Everything out (the export archive) and everything gone (erasure with crypto-shredding)."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from typing import TYPE_CHECKING, Any

import pytest
from conftest import TEST_PASSWORD, sign_up_and_in
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from e2e.helpers import (
    EVIDENCE,
    audit_entries,
    browser,
    citizen,
    count,
    create_evidence,
    document_url,
    pdf,
    png,
    problem,
    upload,
)
from pds.accounts.models import Account, Session, SignInAttempt
from pds.accounts.service import AccountPolicy, limit_key
from pds.audit.entry import Action, Outcome
from pds.audit.models import AuditEntry
from pds.keys.provider import WrappedKey
from pds.vault.datakeys import NoDataKey, load_data_key
from pds.vault.envelope import DataKey, DecryptionError
from pds.vault.evidence_types import EXAMPLE_CLAIMS
from pds.vault.lifecycle import EXPORT_FORMAT
from pds.vault.models import CitizenKey, Document, DocumentChunk, EvidenceItem, EvidenceVersion
from pds.vault.sealing import CLAIMS, item_context
from pds.web.deps import SESSION_COOKIE

if TYPE_CHECKING:
    from pds.db import Database
    from pds.keys.provider import InMemoryKeyProvider

Client = AsyncTestClient[Any]
AMARA = "amara.okafor@example.com"
BOLA = "bola.adeyemi@example.com"
SECRET_NAME = "Amara Zebedee-Okafor"


async def fill_vault(client: Client) -> dict[str, Any]:
    """Two items (one updated to version 2) and two documents; returns what was sent."""
    address = {**EXAMPLE_CLAIMS["proof_of_address"], "full_name": SECRET_NAME}
    first = await create_evidence(client, claims=address)
    moved = {**address, "address_line_1": "2 Oak Lane"}
    assert (await client.put(f"{EVIDENCE}/{first['id']}", json={"claims": moved})).is_success
    second = await create_evidence(client, "income_statement", category="benefits")
    scan, statement = png(b"scan of a bill"), pdf(70_000)
    doc_a = (await upload(client, first["id"], scan, "bill scan.png")).json()
    doc_b = (await upload(client, second["id"], statement, "payslip.pdf")).json()
    return {
        "items": {first["id"]: [address, moved], second["id"]: [second["claims"]]},
        "documents": {doc_a["id"]: scan, doc_b["id"]: statement},
        "first": first["id"],
        "second": second["id"],
    }


async def export(client: Client) -> zipfile.ZipFile:
    response = await client.get("/api/v1/me/export")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert "attachment" in response.headers["content-disposition"]
    return zipfile.ZipFile(io.BytesIO(response.content))


def erase(client: Client, password: str) -> Any:
    return client.request("DELETE", "/api/v1/me", json={"password": password})


# --- export -------------------------------------------------------------------------------------


async def test_the_export_holds_every_version_and_document_as_stored(
    client: Client, db: Database
) -> None:
    account = (await sign_up_and_in(client, AMARA))["account"]
    sent = await fill_vault(client)
    async with citizen(client, BOLA) as (other, _):
        await create_evidence(other, "blue_badge")
    log_rows = len(await audit_entries(db, AuditEntry.citizen_id == uuid.UUID(account["id"])))

    archive = await export(client)

    assert archive.testzip() is None
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["format"] == EXPORT_FORMAT == "pds-export/1"
    assert manifest["account"]["id"] == account["id"]
    assert manifest["account"]["email"] == AMARA
    items = {entry["id"]: entry for entry in manifest["evidence"]}
    assert set(items) == set(sent["items"])  # the other citizen's item is not here
    assert (items[sent["first"]]["type"], items[sent["first"]]["current_version"]) == (
        "proof_of_address",
        2,
    )
    assert items[sent["second"]]["category"] == "benefits"
    files = set(archive.namelist())
    for item_id, claims_by_version in sent["items"].items():
        versions = items[item_id]["versions"]
        assert [v["version"] for v in versions] == list(range(1, len(claims_by_version) + 1))
        api = (await client.get(f"{EVIDENCE}/{item_id}/versions")).json()["items"]
        for version, api_version in zip(versions, reversed(api), strict=True):
            assert version["file"] in files
            stored = json.loads(archive.read(version["file"]))
            assert stored["version"] == version["version"]
            assert stored["claims"] == api_version["claims"]
            assert stored["provenance"] == {"kind": "self_asserted"}
        assert stored["claims"] == claims_by_version[-1]
    documents = [doc for entry in manifest["evidence"] for doc in entry["documents"]]
    assert {doc["id"] for doc in documents} == set(sent["documents"])
    for doc in documents:
        content = archive.read(doc["file"])
        assert content == sent["documents"][doc["id"]]
        assert doc["sha256"] == hashlib.sha256(content).hexdigest()
        assert doc["size"] == len(content)
    assert {doc["filename"] for doc in documents} == {"bill scan.png", "payslip.pdf"}
    assert {doc["media_type"] for doc in documents} == {"image/png", "application/pdf"}

    log = manifest["access_log"]
    assert log["file"] in files
    lines = [json.loads(line) for line in archive.read(log["file"]).splitlines()]
    assert log["entries"] == len(lines) == log_rows
    actions = [line["action"] for line in lines]
    assert actions[0] == Action.ACCOUNT_CREATED.value
    assert actions.count(Action.EVIDENCE_CREATED.value) == 2
    assert actions.count(Action.DOCUMENT_UPLOADED.value) == 2
    [entry] = await audit_entries(db, AuditEntry.action == Action.EXPORT.value)
    assert (entry.citizen_id, entry.outcome) == (uuid.UUID(account["id"]), Outcome.ALLOWED.value)


async def test_an_empty_vault_exports_a_manifest_only(client: Client, db: Database) -> None:
    await sign_up_and_in(client, AMARA)

    archive = await export(client)

    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["evidence"] == []
    assert sorted(archive.namelist()) == ["access-log.jsonl", "manifest.json"]


# --- erasure ------------------------------------------------------------------------------------


async def test_erasure_with_the_wrong_password_deletes_nothing(
    client: Client, db: Database
) -> None:
    account = (await sign_up_and_in(client, AMARA))["account"]
    sent = await fill_vault(client)

    refused = await erase(client, "not my password, sorry")
    empty = await client.request("DELETE", "/api/v1/me", json={})

    problem(refused, 401, "invalid_credentials")
    problem(empty, 400)
    citizen_id = uuid.UUID(account["id"])
    assert await count(db, Account.id, Account.id == citizen_id) == 1
    assert await count(db, CitizenKey.citizen_id) == 1
    assert await count(db, EvidenceItem.id) == 2
    assert (await client.get("/api/v1/me")).status_code == 200  # still signed in
    download = await client.get(document_url(sent["first"], next(iter(sent["documents"]))))
    assert download.status_code == 200
    assert await audit_entries(db, AuditEntry.action == Action.ERASURE.value) == []


async def test_erasure_password_guesses_are_limited_and_audited(
    client: Client, db: Database, policy: AccountPolicy
) -> None:
    account = (await sign_up_and_in(client, AMARA))["account"]
    citizen_id = uuid.UUID(account["id"])

    for _ in range(policy.max_failures_per_account):
        problem(await erase(client, "a wrong guess at it"), 401, "invalid_credentials")
    limited = await erase(client, TEST_PASSWORD)

    problem(limited, 429, "rate_limited")
    assert await count(db, Account.id, Account.id == citizen_id) == 1
    denied = await audit_entries(
        db,
        AuditEntry.action == Action.SIGN_IN.value,
        AuditEntry.outcome == Outcome.DENIED.value,
        AuditEntry.citizen_id == citizen_id,
    )
    assert len(denied) == policy.max_failures_per_account


async def test_erasure_removes_the_citizen_and_shreds_their_key(
    client: Client, db: Database, keys: InMemoryKeyProvider
) -> None:
    account = (await sign_up_and_in(client, AMARA))["account"]
    citizen_id = uuid.UUID(account["id"])
    token = client.cookies[SESSION_COOKIE]
    sent = await fill_vault(client)
    async with browser(client) as second_browser:
        await second_browser.post("/api/v1/session", json={"email": AMARA, "password": "wrong!"})
        await second_browser.post(
            "/api/v1/session", json={"email": AMARA, "password": TEST_PASSWORD}
        )
        async with citizen(client, BOLA) as (other, other_id):
            theirs = await create_evidence(other, "blue_badge")
            their_doc = (await upload(other, theirs["id"], png(b"badge"))).json()
            their_item = (await other.get(f"{EVIDENCE}/{theirs['id']}")).json()
            their_rows = await rows_of(db, uuid.UUID(other_id))
            item_ids = [uuid.UUID(i) for i in sent["items"]]
            context = item_context(citizen_id, uuid.UUID(sent["first"]), 1, CLAIMS)
            async with db.read_sessions() as session:
                sealed = await session.scalar(
                    select(EvidenceVersion.claims_sealed).where(
                        EvidenceVersion.item_id == uuid.UUID(sent["first"]),
                        EvidenceVersion.version == 1,
                    )
                )
                dek = await load_data_key(session, keys, citizen_id)
            assert sealed is not None
            assert json.loads(dek.open(sealed, context))["full_name"] == SECRET_NAME
            del dek
            attempts = SignInAttempt.key_hash == limit_key("account", AMARA)
            assert await count(db, SignInAttempt.id, attempts) == 1
            assert all((await rows_of(db, citizen_id)).values())  # each table holds some of theirs
            logged = await count(db, AuditEntry.id, AuditEntry.citizen_id == citizen_id)

            response = await erase(client, TEST_PASSWORD)

            assert response.status_code == 204, response.text
            assert await count(db, SignInAttempt.id, attempts) == 0  # keyed by the email
            _, _, cleared = response.headers["set-cookie"].partition(f"{SESSION_COOKIE}=")
            assert "max-age=0" in cleared.lower()
            assert SESSION_COOKIE not in client.cookies
            # Every session of the erased citizen is dead, not just this browser's.
            problem(await second_browser.get("/api/v1/me"), 401, "session_invalid")
            async with browser(client, token) as replay:
                problem(await replay.get(EVIDENCE), 401, "session_invalid")
            gone = await client.post(
                "/api/v1/session", json={"email": AMARA, "password": TEST_PASSWORD}
            )
            unknown = await client.post(
                "/api/v1/session", json={"email": "never@example.com", "password": TEST_PASSWORD}
            )
            assert problem(gone, 401, "invalid_credentials") == problem(unknown, 401)

            # The other citizen's vault is untouched and still opens.
            assert await rows_of(db, uuid.UUID(other_id)) == their_rows
            assert (await other.get(f"{EVIDENCE}/{theirs['id']}")).json() == their_item
            download = await other.get(document_url(theirs["id"], their_doc["id"]))
            assert download.content == png(b"badge")

    assert await rows_of(db, citizen_id) == {
        "accounts": 0,
        "citizen_keys": 0,
        "sessions": 0,
        "evidence_items": 0,
        "evidence_versions": 0,
        "documents": 0,
        "document_chunks": 0,
    }
    # By the ids they had, too: nothing was left behind by a cascade that did not run.
    document_ids = [uuid.UUID(d) for d in sent["documents"]]
    assert await count(db, EvidenceVersion.id, EvidenceVersion.item_id.in_(item_ids)) == 0
    assert await count(db, Document.id, Document.id.in_(document_ids)) == 0
    assert await count(db, DocumentChunk.index, DocumentChunk.document_id.in_(document_ids)) == 0

    # The audit log remains, but no entry names them any more: not their email, not
    # a claim, not a file name, and not even their bare account id.
    assert await count(db, AuditEntry.id, AuditEntry.citizen_id == citizen_id) == 0
    assert await count(db, AuditEntry.id, AuditEntry.actor_id == citizen_id) == 0
    log = await audit_entries(db)
    erasures = [entry for entry in log if entry.action == Action.ERASURE.value]
    assert len(erasures) == 1
    assert erasures[0].outcome == Outcome.ALLOWED.value
    assert erasures[0].detail == {"data_key": "destroyed"}
    assert len(log) >= logged + 1
    everything = repr([vars(entry) for entry in log])
    for personal in (
        AMARA,
        "amara.okafor",
        SECRET_NAME,
        "Oak Lane",
        "bill scan",
        "payslip",
        str(citizen_id),
    ):
        assert personal not in everything

    # Crypto-shredding: the sealed claims outlive nothing that could open them.
    async with db.read_sessions() as session:
        with pytest.raises(NoDataKey):
            await load_data_key(session, keys, citizen_id)
        remaining = (await session.scalars(select(CitizenKey))).all()
    assert [row.citizen_id for row in remaining] == [uuid.UUID(other_id)]
    for row in remaining:
        wrapped = WrappedKey(row.kek_version, row.wrapped_dek)
        with pytest.raises(DecryptionError):
            keys.unwrap(wrapped, citizen_id)  # a key wrapped for someone else will not unwrap
        with pytest.raises(DecryptionError):
            DataKey(keys.unwrap(wrapped, row.citizen_id)).open(sealed, context)


async def rows_of(db: Database, citizen_id: uuid.UUID) -> dict[str, int]:
    """How many rows each personal table holds for one citizen."""
    items = select(EvidenceItem.id).where(EvidenceItem.citizen_id == citizen_id)
    documents = select(Document.id).where(Document.item_id.in_(items))
    return {
        "accounts": await count(db, Account.id, Account.id == citizen_id),
        "citizen_keys": await count(db, CitizenKey.citizen_id, CitizenKey.citizen_id == citizen_id),
        "sessions": await count(db, Session.id, Session.account_id == citizen_id),
        "evidence_items": await count(db, EvidenceItem.id, EvidenceItem.citizen_id == citizen_id),
        "evidence_versions": await count(
            db, EvidenceVersion.id, EvidenceVersion.item_id.in_(items)
        ),
        "documents": await count(db, Document.id, Document.id.in_(documents)),
        "document_chunks": await count(
            db, DocumentChunk.index, DocumentChunk.document_id.in_(documents)
        ),
    }


async def test_an_erased_email_can_sign_up_again_to_an_empty_vault(
    client: Client, db: Database
) -> None:
    before = (await sign_up_and_in(client, AMARA))["account"]
    await create_evidence(client)
    assert (await erase(client, TEST_PASSWORD)).status_code == 204

    after = (await sign_up_and_in(client, AMARA))["account"]

    assert after["id"] != before["id"]
    assert (await client.get(EVIDENCE)).json() == {"items": []}
    manifest = json.loads((await export(client)).read("manifest.json"))
    assert manifest["evidence"] == []


async def test_erasure_needs_a_session(client: Client, db: Database) -> None:
    await sign_up_and_in(client, AMARA)
    client.cookies.clear()

    problem(await erase(client, TEST_PASSWORD), 401, "session_invalid")

    assert await count(db, Account.id) == 1
