"""The evidence API under /api/v1/me: create, read, versions, update, delete, isolation."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from conftest import sign_up_and_in
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from e2e.helpers import EVIDENCE, audit_entries, citizen, count, create_evidence, problem
from pds.audit.entry import Action, Outcome
from pds.audit.models import AuditEntry
from pds.vault.evidence_types import EVIDENCE_TYPES, EXAMPLE_CLAIMS
from pds.vault.models import EvidenceItem, EvidenceVersion

if TYPE_CHECKING:
    from pds.db import Database

Client = AsyncTestClient[Any]
ADDRESS = EXAMPLE_CLAIMS["proof_of_address"]


def moment(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def with_claims(evidence_type: str, **changes: Any) -> dict[str, Any]:
    claims = copy.deepcopy(EXAMPLE_CLAIMS[evidence_type])
    for name, value in changes.items():
        if value is None:
            del claims[name]
        else:
            claims[name] = value
    return claims


# --- the whole life of one item ---------------------------------------------------------------


async def test_create_read_update_and_delete_with_every_version_kept(
    client: Client, db: Database
) -> None:
    me = (await sign_up_and_in(client, "amara@example.com"))["account"]
    assert (await client.get(EVIDENCE)).json() == {"items": []}

    created = await create_evidence(client)

    item_id = created["id"]
    assert created["type"] == "proof_of_address"
    assert created["category"] == "address"
    assert created["version"] == 1
    assert created["claims"] == ADDRESS
    assert created["provenance"] == {"kind": "self_asserted"}
    assert created["documents"] == []
    listed = (await client.get(EVIDENCE)).json()["items"]
    assert [(i["id"], i["type"], i["version"]) for i in listed] == [
        (item_id, "proof_of_address", 1)
    ]
    assert "claims" not in listed[0]  # a list decrypts nothing
    read = await client.get(f"{EVIDENCE}/{item_id}")
    assert read.status_code == 200
    assert read.json() == created

    moved = with_claims("proof_of_address", address_line_1="2 Oak Lane", postcode="ls1 4ap")
    updated = await client.put(f"{EVIDENCE}/{item_id}", json={"claims": moved})

    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert (body["id"], body["version"]) == (item_id, 2)
    assert body["claims"]["address_line_1"] == "2 Oak Lane"
    assert body["claims"]["postcode"] == "LS1 4AP"
    assert body["created_at"] == created["created_at"]
    assert moment(body["updated_at"]) > moment(created["updated_at"])
    assert (await client.get(f"{EVIDENCE}/{item_id}")).json()["claims"] == body["claims"]
    versions = (await client.get(f"{EVIDENCE}/{item_id}/versions")).json()["items"]
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["claims"] == body["claims"]
    assert versions[1]["claims"] == ADDRESS  # the old claims are still readable
    assert [i["version"] for i in (await client.get(EVIDENCE)).json()["items"]] == [2]

    deleted = await client.delete(f"{EVIDENCE}/{item_id}")

    assert deleted.status_code == 204
    problem(await client.get(f"{EVIDENCE}/{item_id}"), 404, "evidence_not_found")
    problem(await client.get(f"{EVIDENCE}/{item_id}/versions"), 404, "evidence_not_found")
    problem(await client.put(f"{EVIDENCE}/{item_id}", json={"claims": ADDRESS}), 404)
    problem(await client.delete(f"{EVIDENCE}/{item_id}"), 404, "evidence_not_found")
    assert (await client.get(EVIDENCE)).json() == {"items": []}
    assert await count(db, EvidenceVersion.id) == 0

    entries = await audit_entries(db, AuditEntry.action.like("evidence.%"))
    assert [(e.action, e.outcome, e.resource, e.detail["version"]) for e in entries] == [
        (Action.EVIDENCE_CREATED.value, Outcome.ALLOWED.value, f"evidence/{item_id}", 1),
        (Action.EVIDENCE_UPDATED.value, Outcome.ALLOWED.value, f"evidence/{item_id}", 2),
        (Action.EVIDENCE_DELETED.value, Outcome.ALLOWED.value, f"evidence/{item_id}", 2),
    ]
    assert {(e.citizen_id, e.actor_id) for e in entries} == {(uuid.UUID(me["id"]),) * 2}
    # The log names the type, never the claims.
    assert all("Elm Road" not in str(e.detail) for e in entries)


async def test_every_evidence_type_round_trips(client: Client, db: Database) -> None:
    await sign_up_and_in(client, "amara@example.com")

    created = {kind: await create_evidence(client, kind) for kind in EXAMPLE_CLAIMS}

    assert set(created) == set(EVIDENCE_TYPES)
    for kind, body in created.items():
        assert body["category"] == EVIDENCE_TYPES[kind].default_category.value
        read = (await client.get(f"{EVIDENCE}/{body['id']}")).json()
        assert read["claims"] == body["claims"] == EXAMPLE_CLAIMS[kind], kind
    listed = [item["id"] for item in (await client.get(EVIDENCE)).json()["items"]]
    assert listed == [body["id"] for body in reversed(created.values())]  # newest first


async def test_claims_are_normalised_before_they_are_sealed(client: Client, db: Database) -> None:
    await sign_up_and_in(client, "amara@example.com")
    claims = with_claims("proof_of_address", postcode=" ls6  2ab ", full_name="  Amara Okafor ")

    created = await create_evidence(client, claims=claims)

    stored = (await client.get(f"{EVIDENCE}/{created['id']}")).json()["claims"]
    assert (stored["postcode"], stored["full_name"]) == ("LS6 2AB", "Amara Okafor")


async def test_the_category_can_be_chosen_and_changed(client: Client, db: Database) -> None:
    await sign_up_and_in(client, "amara@example.com")
    created = await create_evidence(client, category="residency")
    assert created["category"] == "residency"
    url = f"{EVIDENCE}/{created['id']}"

    kept = await client.put(url, json={"claims": ADDRESS})
    changed = await client.put(url, json={"claims": ADDRESS, "category": "address"})

    assert kept.json()["category"] == "residency"
    assert changed.json()["category"] == "address"
    assert (await client.get(EVIDENCE)).json()["items"][0]["category"] == "address"


# --- bad input ---------------------------------------------------------------------------------

BAD_CREATES = [
    pytest.param(
        {"type": "library_card", "claims": ADDRESS}, "unknown_evidence_type", None, id="type"
    ),
    pytest.param(
        {"type": "proof_of_address", "claims": ADDRESS, "category": "vehicle"},
        "invalid_category",
        "category",
        id="category-of-another-type",
    ),
    pytest.param(
        {"type": "proof_of_address", "claims": ADDRESS, "category": "hobbies"},
        "invalid_category",
        "category",
        id="category-unknown",
    ),
    pytest.param(
        {"type": "proof_of_address", "claims": with_claims("proof_of_address", postcode="NOPE")},
        "claims_invalid",
        "postcode",
        id="postcode",
    ),
    pytest.param(
        {"type": "proof_of_address", "claims": with_claims("proof_of_address", full_name=None)},
        "claims_invalid",
        "full_name",
        id="missing",
    ),
    pytest.param(
        {"type": "proof_of_address", "claims": {**ADDRESS, "favourite_colour": "green"}},
        "claims_invalid",
        "favourite_colour",
        id="unknown-claim",
    ),
    pytest.param(
        {"type": "proof_of_address", "claims": {**ADDRESS, "issued_on": "2999-01-01"}},
        "claims_invalid",
        "issued_on",
        id="future-date",
    ),
    pytest.param(
        {"type": "council_tax_bill", "claims": {**EXAMPLE_CLAIMS["council_tax_bill"], "band": 3}},
        "claims_invalid",
        "band",
        id="wrong-json-type",
    ),
    pytest.param(
        {
            "type": "household_members",
            "claims": {
                "members": [
                    {"full_name": "A B", "date_of_birth": "1980-01-01", "relationship": "self"},
                    {"full_name": "C D", "date_of_birth": "1981-01-01", "relationship": "self"},
                ]
            },
        },
        "claims_invalid",
        "members[1].relationship",
        id="nested",
    ),
]


@pytest.mark.parametrize(("body", "code", "field"), BAD_CREATES)
async def test_bad_evidence_is_refused_with_its_field_and_nothing_is_stored(
    client: Client, db: Database, body: dict[str, Any], code: str, field: str | None
) -> None:
    await sign_up_and_in(client, "amara@example.com")

    response = await client.post(EVIDENCE, json=body)

    problem_body = problem(response, 422, code)
    if field is not None:
        assert problem_body["field"] == field
    assert await count(db, EvidenceItem.id) == 0
    assert await count(db, EvidenceVersion.id) == 0
    assert await audit_entries(db, AuditEntry.action.like("evidence.%")) == []


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        pytest.param(
            b'{"type": "blue_badge"', {"content-type": "application/json"}, 400, id="truncated"
        ),
        pytest.param(b"type=blue_badge", {"content-type": "text/plain"}, 415, id="not-json"),
        pytest.param(b'{"type": "blue_badge", "claims": []}', None, 400, id="claims-list"),
        pytest.param(b'{"claims": {}}', None, 400, id="no-type"),
        pytest.param(
            b'{"type": "blue_badge", "claims": {}, "citizen_id": "x"}', None, 400, id="extra"
        ),
    ],
)
async def test_malformed_requests_are_client_errors(
    client: Client, db: Database, content: bytes, headers: dict[str, str] | None, status: int
) -> None:
    await sign_up_and_in(client, "amara@example.com")

    response = await client.post(
        EVIDENCE, content=content, headers=headers or {"content-type": "application/json"}
    )

    problem(response, status)
    assert await count(db, EvidenceItem.id) == 0


async def test_a_refused_update_adds_no_version(client: Client, db: Database) -> None:
    await sign_up_and_in(client, "amara@example.com")
    created = await create_evidence(client)
    url = f"{EVIDENCE}/{created['id']}"

    bad_claims = await client.put(url, json={"claims": {**ADDRESS, "postcode": "12345"}})
    bad_category = await client.put(url, json={"claims": ADDRESS, "category": "income"})
    bad_body = await client.put(url, json={"claims": ADDRESS, "type": "blue_badge"})

    assert problem(bad_claims, 422, "claims_invalid")["field"] == "postcode"
    assert problem(bad_category, 422, "invalid_category")["field"] == "category"
    problem(bad_body, 400)
    assert await count(db, EvidenceVersion.id) == 1
    assert (await client.get(url)).json() == created
    assert await audit_entries(db, AuditEntry.action == Action.EVIDENCE_UPDATED.value) == []


# --- one citizen never sees another's evidence -----------------------------------------------


async def test_another_citizens_evidence_does_not_exist_for_you(
    client: Client, db: Database
) -> None:
    await sign_up_and_in(client, "amara@example.com")
    mine = await create_evidence(client)
    async with citizen(client, "bola@example.com") as (other, _):
        theirs = await create_evidence(other, "blue_badge")
        random = f"{EVIDENCE}/{uuid.uuid4()}"
        url = f"{EVIDENCE}/{mine['id']}"
        update = {"claims": with_claims("proof_of_address", full_name="Bola Hijacker")}

        for method, suffix, body in [
            ("GET", "", None),
            ("GET", "/versions", None),
            ("PUT", "", update),
            ("DELETE", "", None),
        ]:
            attempt = await other.request(method, url + suffix, json=body)
            unknown = await other.request(method, random + suffix, json=body)
            # Exactly the answer for an id that exists nowhere: no hint the item is there.
            assert problem(attempt, 404) == problem(unknown, 404), (method, suffix)

        assert [i["id"] for i in (await other.get(EVIDENCE)).json()["items"]] == [theirs["id"]]

    assert [i["id"] for i in (await client.get(EVIDENCE)).json()["items"]] == [mine["id"]]
    problem(await client.get(f"{EVIDENCE}/{theirs['id']}"), 404, "evidence_not_found")
    after = (await client.get(f"{EVIDENCE}/{mine['id']}")).json()
    assert after == mine
    async with db.read_sessions() as session:
        versions = (await session.scalars(select(EvidenceVersion.version))).all()
    assert sorted(versions) == [1, 1]
    assert len(await audit_entries(db, AuditEntry.action == Action.EVIDENCE_UPDATED.value)) == 0
    assert len(await audit_entries(db, AuditEntry.action == Action.EVIDENCE_DELETED.value)) == 0


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ""),
        ("POST", ""),
        ("GET", "/{id}"),
        ("PUT", "/{id}"),
        ("DELETE", "/{id}"),
        ("GET", "/{id}/versions"),
        ("GET", "/{id}/documents/{id}"),
    ],
)
async def test_evidence_routes_need_a_session(
    client: Client, db: Database, method: str, suffix: str
) -> None:
    await sign_up_and_in(client, "amara@example.com")
    item = await create_evidence(client)
    client.cookies.clear()
    url = EVIDENCE + suffix.replace("{id}", item["id"])
    body = {"type": "proof_of_address", "claims": ADDRESS} if method in {"POST", "PUT"} else None

    response = await client.request(method, url, json=body)

    problem(response, 401, "session_invalid")
    assert await count(db, EvidenceVersion.id) == 1


async def test_the_evidence_types_are_published(client: Client, db: Database) -> None:
    response = await client.get("/api/v1/evidence-types")

    assert response.status_code == 200
    items = response.json()["items"]
    assert [t["key"] for t in items] == list(EVIDENCE_TYPES)
    address = items[0]
    assert address["default_category"] == "address"
    assert "full_name" in address["claims_schema"]["$defs"]["ProofOfAddress"]["properties"]
