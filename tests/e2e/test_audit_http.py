"""The audit log over HTTP, on both databases: auditors' search, export, checkpoint and
proofs (checked offline with the pure Merkle and note code), the public JWKS, and each
citizen's own access log."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import uuid
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import pytest
from conftest import TEST_PASSWORD, sign_up_and_in
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from litestar.testing import AsyncTestClient
from sqlalchemy import event, insert, select

from e2e.helpers import audit_entries, browser, citizen, create_evidence, problem
from pds.accounts.service import Role, create_account
from pds.audit.entry import Action, Actor, Entry, Outcome
from pds.audit.leaf import decode_leaf
from pds.audit.merkle import ProofError, leaf_hash, verify_consistency, verify_inclusion
from pds.audit.models import AuditCheckpoint, AuditEntry
from pds.audit.note import open_checkpoint
from pds.audit.search import EXPORT_BATCH
from pds.audit.sequencer import log_origin, sequence_all, sequence_batch
from pds.audit.service import append
from pds.ids import uuid7

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    import httpx
    from litestar import Litestar

    from pds.accounts.service import AccountPolicy
    from pds.audit.note import Checkpoint
    from pds.db import Database
    from pds.keys.provider import InMemoryKeyProvider
    from pds.settings import Settings

Client = AsyncTestClient[Any]
ENTRIES = "/audit/v1/entries"
EXPORT = "/audit/v1/entries/export"
CHECKPOINT = "/audit/v1/checkpoint"
INCLUSION = "/audit/v1/proofs/inclusion"
CONSISTENCY = "/audit/v1/proofs/consistency"
ACCESS_LOG = "/api/v1/me/access-log"
JWKS = "/.well-known/jwks.json"
AUDITOR_PATHS = [
    ENTRIES,
    EXPORT,
    CHECKPOINT,
    f"{INCLUSION}?index=0&tree_size=1",
    f"{CONSISTENCY}?first=1&second=1",
]
T0 = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)  # before any entry the test's own requests make
CITIZEN_A = uuid.UUID("0190a000-0000-7000-8000-00000000000a")
CITIZEN_B = uuid.UUID("0190a000-0000-7000-8000-00000000000b")


# --- helpers --------------------------------------------------------------------------------


@asynccontextmanager
async def staff(
    client: Client,
    db: Database,
    keys: InMemoryKeyProvider,
    policy: AccountPolicy,
    email: str = "ada.auditor@example.com",
    role: Role = Role.AUDITOR,
) -> AsyncIterator[tuple[Client, uuid.UUID]]:
    """An auditor (or admin) account signed in through POST /api/v1/session in its own browser."""
    async with db.sessions() as session:
        account = await create_account(
            session,
            keys,
            email=email,
            password=TEST_PASSWORD,
            role=role,
            policy=policy,
            actor=Actor.ADMIN,
        )
    async with browser(client) as other:
        signed_in = await other.post(
            "/api/v1/session", json={"email": email, "password": TEST_PASSWORD}
        )
        assert signed_in.status_code == 201, signed_in.text
        yield other, account.id


@pytest.fixture
async def auditor(
    client: Client, db: Database, keys: InMemoryKeyProvider, policy: AccountPolicy
) -> AsyncIterator[tuple[Client, uuid.UUID]]:
    async with staff(client, db, keys, policy) as signed_in:
        yield signed_in


async def seed(db: Database, *entries: Entry, start: dt.datetime = T0) -> list[uuid.UUID]:
    """Append entries an hour apart from ``start`` (ids and times in the same order)."""
    async with db.sessions() as session:
        rows = []
        for hour, entry in enumerate(entries):
            row = append(session, entry)
            row.created_at = start + dt.timedelta(hours=hour)
            rows.append(row)
        await session.commit()
    return [row.id for row in rows]


def read(citizen_id: uuid.UUID, client_id: str, purpose: str, **kw: Any) -> Entry:
    return Entry(
        actor=Actor.CLIENT,
        action=kw.pop("action", Action.READ),
        citizen_id=citizen_id,
        client_id=client_id,
        purpose=purpose,
        resource="claims/address",
        **kw,
    )


FILTER_SEED = (
    read(CITIZEN_A, "council-tax", "billing"),
    read(CITIZEN_A, "council-tax", "marketing", action=Action.DENY, outcome=Outcome.DENIED),
    read(CITIZEN_B, "housing", "eligibility"),
    Entry(
        actor=Actor.CITIZEN,
        action=Action.EVIDENCE_CREATED,
        actor_id=CITIZEN_B,
        citizen_id=CITIZEN_B,
        resource="evidence/x",
        detail={"type": "proof_of_address"},
    ),
    Entry(actor=Actor.SYSTEM, action=Action.KEY_ROTATED),
    read(CITIZEN_A, "housing", "billing", outcome=Outcome.ERROR),
)


async def all_pages(client: Client, url: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Follow ``next_cursor`` to the end; every page must be full except the last."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = dict(params) | ({"cursor": cursor} if cursor else {})
        response = await client.get(url, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items
        assert len(body["items"]) == params["limit"]


def cache_directives(response: httpx.Response) -> set[str]:
    return {part.strip() for part in response.headers["cache-control"].split(",")}


def b64d(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


async def jwks_key(client: Client, kid: str) -> Ed25519PublicKey:
    """The checkpoint key from the public JWKS, as an offline verifier would get it."""
    async with browser(client) as anonymous:
        response = await anonymous.get(JWKS)
    assert response.status_code == 200, response.text
    assert cache_directives(response) == {"public", "max-age=300"}
    [jwk] = [key for key in response.json()["keys"] if key["kid"] == kid]
    assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("OKP", "Ed25519", "Ed25519")
    raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
    return Ed25519PublicKey.from_public_bytes(raw)


async def verified(client: Client, body: dict[str, Any], settings: Settings) -> Checkpoint:
    """Open a checkpoint from the API with the JWKS key; its fields must agree with the note."""
    origin = log_origin(settings.base_url)
    key = await jwks_key(client, body["key_id"])
    checkpoint = open_checkpoint(body["note"], origin, {origin: key})
    assert body["origin"] == origin
    assert (checkpoint.size, checkpoint.root_hash) == (body["tree_size"], b64d(body["root_hash"]))
    return checkpoint


def check_inclusion(proof: dict[str, Any], root: bytes) -> bytes:
    """Verify an API inclusion proof offline; returns the leaf bytes it proved."""
    leaf = b64d(proof["leaf"])
    hashes = [b64d(h) for h in proof["hashes"]]
    verify_inclusion(leaf_hash(leaf), proof["index"], proof["tree_size"], hashes, root)
    return leaf


# --- who may look ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", AUDITOR_PATHS)
async def test_citizens_get_403_and_strangers_401_on_the_auditor_api(
    client: Client, path: str
) -> None:
    async with browser(client) as anonymous:
        problem(await anonymous.get(path), 401, "session_invalid")
    async with browser(client, token="not-a-session") as forged:
        problem(await forged.get(path), 401, "session_invalid")
    await sign_up_and_in(client, "sam.citizen@example.com")

    problem(await client.get(path), 403, "wrong_role")


async def test_admins_are_not_auditors(
    client: Client, db: Database, keys: InMemoryKeyProvider, policy: AccountPolicy
) -> None:
    async with staff(client, db, keys, policy, "root@example.com", Role.ADMIN) as (admin, _):
        problem(await admin.get(ENTRIES), 403, "wrong_role")


async def test_the_access_log_is_for_citizens_only(
    client: Client, auditor: tuple[Client, uuid.UUID]
) -> None:
    staff_browser, _ = auditor
    problem(await staff_browser.get(ACCESS_LOG), 403, "wrong_role")
    async with browser(client) as anonymous:
        problem(await anonymous.get(ACCESS_LOG), 401)


# --- search ---------------------------------------------------------------------------------

FILTER_CASES: list[Any] = [
    pytest.param({"citizen": str(CITIZEN_A)}, lambda e: e.citizen_id == CITIZEN_A, id="citizen"),
    pytest.param({"client": "council-tax"}, lambda e: e.client_id == "council-tax", id="client"),
    pytest.param({"action": "read"}, lambda e: e.action == "read", id="action"),
    pytest.param({"purpose": "billing"}, lambda e: e.purpose == "billing", id="purpose"),
    pytest.param({"outcome": "denied"}, lambda e: e.outcome == "denied", id="outcome"),
    pytest.param({"outcome": "error"}, lambda e: e.outcome == "error", id="outcome-error"),
    pytest.param(
        {"from": "2020-01-01T01:00:00Z", "to": "2020-01-01T04:00:00Z"},
        lambda e: T0 + dt.timedelta(hours=1) <= e.created_at < T0 + dt.timedelta(hours=4),
        id="time-range",
    ),
    pytest.param(
        {"from": "2020-01-01T03:00:00+01:00"},  # 02:00Z: zones are honoured
        lambda e: e.created_at >= T0 + dt.timedelta(hours=2),
        id="from-with-offset",
    ),
    pytest.param(
        {"client": "housing", "purpose": "billing", "citizen": str(CITIZEN_A)},
        lambda e: (e.client_id, e.purpose, e.citizen_id) == ("housing", "billing", CITIZEN_A),
        id="combined",
    ),
    pytest.param({"client": "nobody"}, lambda e: e.client_id == "nobody", id="no-match"),
]


@pytest.mark.parametrize(("params", "matches"), FILTER_CASES)
async def test_auditors_search_by_each_filter(
    db: Database,
    auditor: tuple[Client, uuid.UUID],
    params: dict[str, str],
    matches: Callable[[AuditEntry], bool],
) -> None:
    staff_browser, _ = auditor
    await seed(db, *FILTER_SEED)
    expected = [str(e.id) for e in await audit_entries(db) if matches(e)]

    response = await staff_browser.get(ENTRIES, params=params)

    assert response.status_code == 200, response.text
    body = response.json()
    assert [item["id"] for item in body["items"]] == expected
    assert body["next_cursor"] is None
    if expected:
        assert set(body["items"][0]) == {
            "id",
            "time",
            "actor",
            "actor_id",
            "action",
            "outcome",
            "citizen_id",
            "client_id",
            "grant_id",
            "purpose",
            "resource",
            "request_id",
            "detail",
            "leaf_index",
        }


async def test_an_entry_shows_everything_recorded_and_its_leaf_index_once_sequenced(
    db: Database, keys: InMemoryKeyProvider, settings: Settings, auditor: tuple[Client, uuid.UUID]
) -> None:
    staff_browser, _ = auditor
    [entry_id] = await seed(
        db, read(CITIZEN_A, "council-tax", "billing", detail={"fields": 2}, request_id="req-1")
    )
    params = {"client": "council-tax"}

    [pending] = (await staff_browser.get(ENTRIES, params=params)).json()["items"]
    await sequence_all(db, keys, log_origin(settings.base_url))
    [sequenced] = (await staff_browser.get(ENTRIES, params=params)).json()["items"]

    assert pending == {
        "id": str(entry_id),
        "time": "2020-01-01T00:00:00Z",
        "actor": "client",
        "actor_id": None,
        "action": "read",
        "outcome": "allowed",
        "citizen_id": str(CITIZEN_A),
        "client_id": "council-tax",
        "grant_id": None,
        "purpose": "billing",
        "resource": "claims/address",
        "request_id": "req-1",
        "detail": {"fields": 2},
        "leaf_index": None,
    }
    [row] = await audit_entries(db, AuditEntry.id == entry_id)
    # CITIZEN_A has no account here, i.e. counts as erased: the sequencer drops the bare id.
    assert sequenced == pending | {"leaf_index": row.leaf_index, "citizen_id": None}
    assert isinstance(row.leaf_index, int)


@pytest.mark.parametrize(("total", "limit"), [(23, 5), (10, 10), (7, 1), (3, 500)])
async def test_pages_follow_each_other_without_gaps_or_repeats(
    db: Database, auditor: tuple[Client, uuid.UUID], total: int, limit: int
) -> None:
    staff_browser, _ = auditor
    seeded = await seed(db, *[read(CITIZEN_A, "paging", "billing") for _ in range(total)])
    # Entries appended while paging (the searches' own records) must not disturb the walk.
    items = await all_pages(staff_browser, ENTRIES, {"client": "paging", "limit": limit})

    assert [item["id"] for item in items] == [str(i) for i in seeded]


async def test_a_page_boundary_survives_entries_appended_meanwhile(
    db: Database, auditor: tuple[Client, uuid.UUID]
) -> None:
    staff_browser, _ = auditor
    first = await seed(db, *[read(CITIZEN_A, "busy", "billing") for _ in range(4)])
    page = (await staff_browser.get(ENTRIES, params={"client": "busy", "limit": 3})).json()
    later = await seed(db, *[read(CITIZEN_A, "busy", "billing") for _ in range(2)])

    rest = await all_pages(staff_browser, ENTRIES, {"client": "busy", "limit": 3})
    tail = (
        await staff_browser.get(
            ENTRIES, params={"client": "busy", "limit": 3, "cursor": page["next_cursor"]}
        )
    ).json()

    assert [i["id"] for i in page["items"]] == [str(i) for i in first[:3]]
    assert [i["id"] for i in tail["items"]] == [str(i) for i in [first[3], *later]]
    assert [i["id"] for i in rest] == [str(i) for i in first + later]


async def test_every_search_is_itself_audited_and_committed(
    db: Database, auditor: tuple[Client, uuid.UUID]
) -> None:
    staff_browser, auditor_id = auditor
    await seed(db, *FILTER_SEED)

    response = await staff_browser.get(
        ENTRIES, params={"citizen": str(CITIZEN_A), "client": "council-tax", "limit": 1}
    )

    assert response.status_code == 200
    [entry] = await audit_entries(db, AuditEntry.action == Action.AUDIT_SEARCH.value)
    assert (entry.actor, entry.actor_id, entry.citizen_id, entry.outcome, entry.resource) == (
        "auditor",
        auditor_id,
        CITIZEN_A,
        "allowed",
        "audit/entries",
    )
    assert entry.detail == {"client": "council-tax", "results": 1}
    assert entry.request_id == response.headers["x-request-id"]


FILTER_PROBLEMS = [
    pytest.param({"citizen": "sam"}, 400, "invalid_request", id="citizen"),
    pytest.param({"action": "launch"}, 400, "invalid_request", id="action"),
    pytest.param({"outcome": "maybe"}, 400, "invalid_request", id="outcome"),
    pytest.param({"client": "c" * 65}, 400, "invalid_request", id="client-long"),
    pytest.param({"from": "yesterday"}, 400, "invalid_request", id="from-text"),
    pytest.param({"from": "2026-01-01T00:00:00"}, 422, "invalid_time_range", id="from-naive"),
    pytest.param({"to": "2026-01-01T00:00:00"}, 422, "invalid_time_range", id="to-naive"),
    pytest.param(
        {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        422,
        "invalid_time_range",
        id="from-after-to",
    ),
]
PAGING_PROBLEMS = [
    pytest.param({"limit": "0"}, 400, "invalid_request", id="limit-0"),
    pytest.param({"limit": "501"}, 400, "invalid_request", id="limit-501"),
    pytest.param({"limit": "ten"}, 400, "invalid_request", id="limit-text"),
    pytest.param({"cursor": "not-a-cursor"}, 422, "invalid_cursor", id="cursor"),
    pytest.param({"cursor": "a" * 65}, 400, "invalid_request", id="cursor-long"),
]
EXPORT_PROBLEMS = [
    pytest.param({"format": "xml"}, 400, "invalid_request", id="format"),
    pytest.param({"format": ""}, 400, "invalid_request", id="format-empty"),
]


def on(path: str, cases: list[Any]) -> list[Any]:
    return [pytest.param(path, *case.values, id=f"{path}-{case.id}") for case in cases]


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    on(ENTRIES, FILTER_PROBLEMS + PAGING_PROBLEMS) + on(EXPORT, FILTER_PROBLEMS + EXPORT_PROBLEMS),
)
async def test_bad_search_terms_are_problem_documents(
    db: Database,
    auditor: tuple[Client, uuid.UUID],
    path: str,
    params: dict[str, str],
    status: int,
    code: str,
) -> None:
    staff_browser, _ = auditor

    problem(await staff_browser.get(path, params=params), status, code)

    by_auditor = await audit_entries(db, AuditEntry.actor == Actor.AUDITOR.value)
    assert [e.action for e in by_auditor] == [
        Action.SIGN_IN.value
    ]  # a refused search is not recorded


# --- export ---------------------------------------------------------------------------------


def parse_csv(response: httpx.Response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.text, newline="")))


def parse_jsonl(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.text.endswith("\n") or not response.text
    return [json.loads(line) for line in response.text.splitlines()]


async def test_csv_export_streams_the_filtered_rows(
    db: Database, auditor: tuple[Client, uuid.UUID]
) -> None:
    staff_browser, _ = auditor
    await seed(
        db,
        *FILTER_SEED,
        read(CITIZEN_A, "council-tax", '=HYPERLINK("x")', detail={"n": 1, "why": "a,b\n"}),
    )
    params = {"client": "council-tax"}
    listed = (await staff_browser.get(ENTRIES, params=params)).json()["items"]

    response = await staff_browser.get(EXPORT, params=params | {"format": "csv"})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="audit-entries.csv"'
    rows = parse_csv(response)
    assert [row["id"] for row in rows] == [item["id"] for item in listed]
    assert len(rows) == 3
    purposes = [row.pop("purpose") for row in rows]
    for row, item in zip(rows, listed, strict=True):
        assert json.loads(row.pop("detail")) == item.pop("detail")
        written, shown = row.pop("time"), item.pop("time")
        assert dt.datetime.fromisoformat(written) == dt.datetime.fromisoformat(shown)
        item.pop("purpose")
        assert row == {name: "" if value is None else str(value) for name, value in item.items()}
    assert purposes == ["billing", "marketing", '\'=HYPERLINK("x")']


async def test_jsonl_export_streams_the_filtered_rows_in_the_search_shape(
    db: Database, auditor: tuple[Client, uuid.UUID]
) -> None:
    staff_browser, _ = auditor
    await seed(db, *FILTER_SEED)
    params = {"purpose": "billing"}
    listed = (await staff_browser.get(ENTRIES, params=params)).json()["items"]

    response = await staff_browser.get(EXPORT, params=params | {"format": "jsonl"})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/jsonl"
    assert response.headers["content-disposition"] == 'attachment; filename="audit-entries.jsonl"'
    assert parse_jsonl(response) == listed
    assert len(listed) == 2


async def test_an_export_with_nothing_to_show_is_a_header_or_nothing(
    auditor: tuple[Client, uuid.UUID],
) -> None:
    staff_browser, _ = auditor
    params = {"client": "nobody"}

    as_csv = await staff_browser.get(EXPORT, params=params | {"format": "csv"})
    as_jsonl = await staff_browser.get(EXPORT, params=params | {"format": "jsonl"})

    assert as_csv.text.splitlines() == [
        "id,time,actor,actor_id,action,outcome,citizen_id,client_id,grant_id,purpose,"
        "resource,request_id,detail,leaf_index"
    ]
    assert as_jsonl.text == ""


async def test_every_export_is_audited_before_it_streams(
    db: Database, auditor: tuple[Client, uuid.UUID]
) -> None:
    staff_browser, auditor_id = auditor
    await seed(db, *FILTER_SEED)

    response = await staff_browser.get(
        EXPORT,
        params={"citizen": str(CITIZEN_B), "format": "jsonl", "from": "2020-01-01T00:00:00Z"},
    )

    assert response.status_code == 200
    [entry] = await audit_entries(db, AuditEntry.action == Action.AUDIT_EXPORT.value)
    assert (entry.actor, entry.actor_id, entry.citizen_id) == ("auditor", auditor_id, CITIZEN_B)
    assert entry.detail == {"format": "jsonl", "from": "2020-01-01T00:00:00+00:00"}
    # The export is the log as it stood when asked: its own record is not in it.
    assert [row["id"] for row in parse_jsonl(response)] == [
        str(e.id)
        for e in await audit_entries(db, AuditEntry.citizen_id == CITIZEN_B)
        if e.action != Action.AUDIT_EXPORT.value
    ]


@pytest.mark.parametrize("export_format", ["csv", "jsonl"])
async def test_a_large_export_is_read_in_batches(
    app: Litestar, db: Database, auditor: tuple[Client, uuid.UUID], export_format: str
) -> None:
    staff_browser, _ = auditor
    total = 2 * EXPORT_BATCH + 500
    base = {"actor": "client", "action": "read", "outcome": "allowed", "detail": {}}
    rows = [
        base | {"id": uuid7(), "client_id": "bulk", "citizen_id": CITIZEN_A, "purpose": f"p{i}"}
        for i in range(total)
    ]
    async with db.sessions() as session:
        await session.execute(insert(AuditEntry), rows)
        await session.commit()
    batches: list[str] = []

    def note_batch(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if "FROM audit_entries" in statement and "audit_entries.id <=" in statement:
            batches.append(statement)

    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", note_batch)
    try:
        response = await staff_browser.get(
            EXPORT, params={"client": "bulk", "format": export_format}
        )
    finally:
        event.remove(engine, "before_cursor_execute", note_batch)

    assert response.status_code == 200
    parsed = parse_csv(response) if export_format == "csv" else parse_jsonl(response)
    assert [row["id"] for row in parsed] == [str(row["id"]) for row in rows]
    assert [row["purpose"] for row in parsed] == [f"p{i}" for i in range(total)]
    assert len(batches) == 3  # 1000 + 1000 + 500: no query ever asks for the whole log


# --- checkpoint, proofs and the JWKS --------------------------------------------------------


async def test_the_checkpoint_is_a_signed_note_that_verifies_with_the_published_key(
    client: Client,
    db: Database,
    keys: InMemoryKeyProvider,
    settings: Settings,
    auditor: tuple[Client, uuid.UUID],
) -> None:
    staff_browser, _ = auditor
    problem(await staff_browser.get(CHECKPOINT), 404, "no_checkpoint")
    await seed(db, *FILTER_SEED)
    await sequence_all(db, keys, log_origin(settings.base_url))

    response = await staff_browser.get(CHECKPOINT)

    assert response.status_code == 200, response.text
    body = response.json()
    checkpoint = await verified(client, body, settings)
    async with db.read_sessions() as session:
        stored = await session.scalar(select(AuditCheckpoint))
        sequenced = len(list(await session.scalars(select(AuditEntry.leaf_index))))
    assert stored is not None
    assert checkpoint.size == body["tree_size"] == sequenced == stored.tree_size
    assert body["key_id"] == stored.key_id
    assert set(body) == {"origin", "tree_size", "root_hash", "note", "key_id", "created_at"}


async def test_the_jwks_is_public_and_cacheable(client: Client) -> None:
    async with browser(client) as anonymous:
        response = await anonymous.get(JWKS)

    assert response.status_code == 200
    # The token key is made at start-up; the checkpoint key only once something is signed.
    [key] = response.json()["keys"]
    assert (key["kty"], key["alg"], key["use"]) == ("EC", "ES256", "sig")
    assert "d" not in key
    assert cache_directives(response) == {"public", "max-age=300"}


async def sequence_in_steps(
    db: Database, keys: InMemoryKeyProvider, origin: str, steps: list[int]
) -> list[int]:
    """Sequence ``steps`` entries at a time, then the rest: one checkpoint per step."""
    sizes: list[int] = []
    for step in steps:
        assert await sequence_batch(db, keys, origin, limit=step) == step
        sizes.append(sum(steps[: len(sizes) + 1]))
    if await sequence_all(db, keys, origin):
        async with db.read_sessions() as session:
            sizes.append(len(list(await session.scalars(select(AuditEntry.id)))))
    return sizes


async def test_inclusion_and_consistency_proofs_verify_offline(
    client: Client,
    db: Database,
    keys: InMemoryKeyProvider,
    settings: Settings,
    auditor: tuple[Client, uuid.UUID],
) -> None:
    staff_browser, _ = auditor
    await seed(db, *FILTER_SEED, *FILTER_SEED)
    origin = log_origin(settings.base_url)
    sizes = await sequence_in_steps(db, keys, origin, [1, 4, 3, 1])
    assert sizes == [1, 5, 8, 9, 14]  # 12 seeded + the auditor's account and sign-in
    async with db.read_sessions() as session:
        notes = {c.tree_size: c.note for c in await session.scalars(select(AuditCheckpoint))}
        by_index = {e.leaf_index: e.id for e in await session.scalars(select(AuditEntry))}
    latest = (await staff_browser.get(CHECKPOINT)).json()
    key = await jwks_key(client, latest["key_id"])
    roots = {
        size: open_checkpoint(note, origin, {origin: key}).root_hash for size, note in notes.items()
    }

    for size in sizes:
        for index in range(size):
            response = await staff_browser.get(
                INCLUSION, params={"index": index, "tree_size": size}
            )
            assert response.status_code == 200, response.text
            proof = response.json()
            assert (proof["index"], proof["tree_size"]) == (index, size)
            leaf = check_inclusion(proof, roots[size])
            assert decode_leaf(leaf).entry_id == str(by_index[index])
            with pytest.raises(ProofError):  # the same proof cannot vouch for another leaf
                verify_inclusion(
                    leaf_hash(leaf + b" "),
                    index,
                    size,
                    [b64d(h) for h in proof["hashes"]],
                    roots[size],
                )
    for first in sizes:
        for second in sizes:
            if first > second:
                continue
            response = await staff_browser.get(
                CONSISTENCY, params={"first": first, "second": second}
            )
            assert response.status_code == 200, response.text
            proof = response.json()
            assert (proof["first"], proof["second"]) == (first, second)
            hashes = [b64d(h) for h in proof["hashes"]]
            verify_consistency(first, second, roots[first], roots[second], hashes)


BAD_PROOFS = [
    pytest.param(INCLUSION, {"tree_size": "3"}, 400, "invalid_request", id="no-index"),
    pytest.param(INCLUSION, {"index": "0"}, 400, "invalid_request", id="no-size"),
    pytest.param(INCLUSION, {"index": "-1", "tree_size": "3"}, 400, "invalid_request", id="neg"),
    pytest.param(INCLUSION, {"index": "x", "tree_size": "3"}, 400, "invalid_request", id="text"),
    pytest.param(INCLUSION, {"index": "0", "tree_size": "0"}, 400, "invalid_request", id="size0"),
    pytest.param(
        INCLUSION, {"index": "0", "tree_size": str(2**63)}, 400, "invalid_request", id="huge"
    ),
    pytest.param(INCLUSION, {"index": "3", "tree_size": "3"}, 422, "index_out_of_range", id="ix"),
    pytest.param(
        INCLUSION, {"index": "2**70", "tree_size": "3"}, 400, "invalid_request", id="expr"
    ),
    pytest.param(INCLUSION, {"index": "0", "tree_size": "2"}, 422, "tree_size_unknown", id="size"),
    pytest.param(
        INCLUSION, {"index": "0", "tree_size": "999"}, 422, "tree_size_unknown", id="future"
    ),
    pytest.param(CONSISTENCY, {"first": "3"}, 400, "invalid_request", id="no-second"),
    pytest.param(CONSISTENCY, {"first": "0", "second": "3"}, 400, "invalid_request", id="zero"),
    pytest.param(CONSISTENCY, {"first": "3", "second": "1"}, 422, "invalid_input", id="backwards"),
    pytest.param(
        CONSISTENCY, {"first": "2", "second": "3"}, 422, "tree_size_unknown", id="unknown-first"
    ),
    pytest.param(
        CONSISTENCY, {"first": "1", "second": "4"}, 422, "tree_size_unknown", id="unknown-second"
    ),
]


@pytest.mark.parametrize(("path", "params", "status", "code"), BAD_PROOFS)
async def test_bad_proof_requests_are_problem_documents(
    db: Database,
    keys: InMemoryKeyProvider,
    settings: Settings,
    auditor: tuple[Client, uuid.UUID],
    path: str,
    params: dict[str, str],
    status: int,
    code: str,
) -> None:
    staff_browser, _ = auditor
    await seed(db, *FILTER_SEED[:1])
    sizes = await sequence_in_steps(db, keys, log_origin(settings.base_url), [1])
    assert sizes == [1, 3]  # the seeded entry, then the auditor's two

    problem(await staff_browser.get(path, params=params), status, code)


# --- the citizen's access log ---------------------------------------------------------------


async def test_a_citizen_sees_only_their_own_entries_in_plain_terms_with_proofs(
    client: Client,
    db: Database,
    keys: InMemoryKeyProvider,
    settings: Settings,
    auditor: tuple[Client, uuid.UUID],
) -> None:
    staff_browser, _ = auditor
    me = uuid.UUID((await sign_up_and_in(client, "sam.citizen@example.com"))["account"]["id"])
    async with citizen(client, "kim.neighbour@example.com") as (neighbour, neighbour_id):
        await create_evidence(client)
        await create_evidence(neighbour)
        now = dt.datetime.now(dt.UTC)
        await seed(
            db,
            read(me, "council-tax", "billing"),
            read(uuid.UUID(neighbour_id), "council-tax", "billing"),
            read(me, "housing", "marketing", action=Action.DENY, outcome=Outcome.DENIED),
            Entry(actor=Actor.SYSTEM, action=Action.KEY_ROTATED, citizen_id=me),
            start=now,
        )
        assert (await staff_browser.get(ENTRIES, params={"citizen": str(me)})).status_code == 200
        await sequence_all(db, keys, log_origin(settings.base_url))
        await create_evidence(client)  # after the checkpoint: still pending

        response = await client.get(ACCESS_LOG)
        theirs = (await neighbour.get(ACCESS_LOG)).json()

    assert response.status_code == 200, response.text
    body = response.json()
    mine = await audit_entries(db, AuditEntry.citizen_id == me)
    assert [item["id"] for item in body["items"]] == [str(e.id) for e in reversed(mine)]
    assert not {item["id"] for item in theirs["items"]} & {str(e.id) for e in mine}
    assert len(theirs["items"]) == 4  # account created, signed in, evidence added, read
    checkpoint = await verified(client, body["checkpoint"], settings)
    pending, *sequenced = body["items"]
    assert (pending["what"], pending["leaf_index"], pending["proof"]) == (
        "Evidence was added",
        None,
        None,
    )
    for item in sequenced:
        proof = item["proof"]
        assert proof["index"] == item["leaf_index"]
        assert proof["tree_size"] == checkpoint.size
        leaf = check_inclusion(proof, checkpoint.root_hash)
        assert decode_leaf(leaf).entry_id == item["id"]
    plain = {(i["who"], i["what"], i["data"], i["why"], i["outcome"]) for i in body["items"]}
    assert plain == {
        ("you", "Your account was created", None, None, "allowed"),
        ("you", "Sign-in to your account", None, None, "allowed"),
        ("you", "Evidence was added", "a piece of evidence", None, "allowed"),
        ("council-tax", "Your data was read", None, "billing", "allowed"),
        ("housing", "A request for your data was refused", None, "marketing", "denied"),
        ("the PDS", "The key protecting your data was replaced", None, None, "allowed"),
        (
            "an auditor",
            "Your entries in the audit log were looked at",
            "the audit log",
            None,
            "allowed",
        ),
    }
    assert len(body["items"]) == 8  # both evidence items show: 7 kinds, one of them twice


async def test_the_access_log_pages_newest_first_without_gaps(
    client: Client, db: Database, keys: InMemoryKeyProvider, settings: Settings
) -> None:
    me = uuid.UUID((await sign_up_and_in(client, "sam.citizen@example.com"))["account"]["id"])
    await seed(db, *[read(me, "council-tax", f"p{i}") for i in range(9)], start=T0)
    await sequence_all(db, keys, log_origin(settings.base_url))

    items = await all_pages(client, ACCESS_LOG, {"limit": 4})

    mine = await audit_entries(db, AuditEntry.citizen_id == me)
    assert [item["id"] for item in items] == [str(e.id) for e in reversed(mine)]
    assert len(items) == 11
    assert all(item["proof"] is not None for item in items)
    problem(await client.get(ACCESS_LOG, params={"cursor": "nope"}), 422, "invalid_cursor")
    problem(await client.get(ACCESS_LOG, params={"limit": "501"}), 400)


async def test_an_empty_log_has_no_checkpoint_and_no_proofs(client: Client) -> None:
    await sign_up_and_in(client, "sam.citizen@example.com")

    body = (await client.get(ACCESS_LOG)).json()

    assert body["checkpoint"] is None
    assert [item["proof"] for item in body["items"]] == [None, None]
    assert body["next_cursor"] is None
