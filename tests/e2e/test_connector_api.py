"""The connector API end to end on both databases: what a service reads under a grant,
and everything it must not read.

Grants are made through the real flow (PAR, consent page, code exchange); requests are
signed by hand with PyJWT (``connect_kit``), independent of the SDK.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from conftest import sign_up_and_in
from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from e2e import raw_asgi
from e2e.connect_kit import CONNECT, client_token, connect_get, connect_post, dpop_headers
from e2e.helpers import create_evidence, png, upload
from e2e.oauth_kit import Pkce, ServiceKit, approve, code_exchange, data_request, push
from pds.audit.entry import Action, Outcome
from pds.audit.models import AuditEntry
from pds.vault.evidence_types import EXAMPLE_CLAIMS

if TYPE_CHECKING:
    from pds.db import Database

Client = AsyncTestClient[Any]


async def setup_grant(
    client: Client, db: Database, kit: ServiceKit, *, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A citizen with a proof of address and a council tax bill, and an approved grant."""
    if not kit.client_id:
        await kit.register(db)
    await sign_up_and_in(client, "amara@example.com")
    await create_evidence(client, "proof_of_address")
    await create_evidence(client, "council_tax_bill")
    await create_evidence(client, "income_statement", category="income")
    return await approved(client, kit, details=details)


async def approved(
    client: Client, kit: ServiceKit, *, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Push, approve with every optional item ticked, exchange the code: the token answer."""
    pkce = Pkce()
    pushed = await push(client, kit, pkce, details=details)
    assert pushed.status_code == 201, pushed.text
    request = details or data_request()
    optional = tuple(i for i, item in enumerate(request[0]["items"]) if not item["required"])
    query = await approve(client, kit, pushed.json()["request_uri"], items=optional)
    answer = await kit.token(client, code_exchange(query["code"][0], pkce))
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens


async def entries(db: Database, action: Action) -> list[AuditEntry]:
    async with db.read_sessions() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == action.value).order_by(AuditEntry.id)
        )
        return list(rows)


async def test_data_is_exactly_the_granted_claims_with_provenance_and_audit(
    client: Client, db: Database
) -> None:
    kit = ServiceKit()
    tokens = await setup_grant(client, db, kit)
    grant_id = tokens["grant_id"]

    response = await connect_get(client, kit, tokens["access_token"], f"/grants/{grant_id}/data")

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["grant_id"] == grant_id
    assert body["purpose"] == "sector-publicservices:HousingWelfareManagement"
    by_type = {item["evidence_type"]: item for item in body["items"]}
    # The whole proof of address; only the band of the council tax bill (optional item
    # ticked); nothing of the income statement, which the grant does not reach.
    assert set(by_type) == {"proof_of_address", "council_tax_bill"}
    assert by_type["proof_of_address"]["claims"] == EXAMPLE_CLAIMS["proof_of_address"]
    assert by_type["council_tax_bill"]["claims"] == {"band": "B"}
    assert by_type["proof_of_address"]["provenance"] == {"kind": "self_asserted"}
    assert by_type["proof_of_address"]["version"] == 1
    assert "version_time" in by_type["proof_of_address"]
    [read] = await entries(db, Action.READ)
    assert read.outcome == Outcome.ALLOWED.value
    assert read.client_id == kit.client_id
    assert str(read.grant_id) == grant_id
    assert read.purpose == "sector-publicservices:HousingWelfareManagement"
    assert "council_tax_bill/" in read.detail["claims"]
    assert read.detail["claims"].endswith(":band") or ":band;" in read.detail["claims"]
    assert "14 Elm Road" not in json.dumps(read.detail)  # names, never values
    # On SQLite the group commit placed it in the audit tree already; on PostgreSQL the
    # sequencer will (see connectors.api.commit).
    assert (read.leaf_index is not None) == db.is_sqlite


async def test_asking_for_less_returns_the_intersection(client: Client, db: Database) -> None:
    kit = ServiceKit()
    tokens = await setup_grant(client, db, kit)
    path = f"/grants/{tokens['grant_id']}/data"

    response = await connect_get(
        client, kit, tokens["access_token"], path, params={"claims": "postcode,band,nino"}
    )

    assert response.status_code == 200, response.text
    got = {i["evidence_type"]: i["claims"] for i in response.json()["items"]}
    assert got == {"proof_of_address": {"postcode": "LS6 2AB"}, "council_tax_bill": {"band": "B"}}


async def test_asking_only_for_what_the_grant_does_not_reach_is_refused_and_audited(
    client: Client, db: Database
) -> None:
    kit = ServiceKit()
    tokens = await setup_grant(client, db, kit)
    path = f"/grants/{tokens['grant_id']}/data"
    # The bill's other claims: the grant kept only its band (and reaches no income).
    not_band = sorted(
        set(EXAMPLE_CLAIMS["council_tax_bill"]) - set(EXAMPLE_CLAIMS["proof_of_address"]) - {"band"}
    )
    asks = (
        ({"claims": ",".join(not_band)}, "claim_not_granted"),
        ({"claims": "band", "evidence_type": "proof_of_address"}, "claim_not_granted"),
        ({"evidence_type": "income_statement"}, "out_of_scope"),
    )

    for params, reason in asks:
        response = await connect_get(client, kit, tokens["access_token"], path, params=params)

        assert response.status_code == 403, (params, response.text)
        assert response.json()["code"] == "read_denied"
        assert "items" not in response.json()
        denial = (await entries(db, Action.DENY))[-1]
        assert denial.detail == {"reason": reason}
        assert str(denial.grant_id) == tokens["grant_id"]
    assert await entries(db, Action.READ) == []


async def test_grant_view_shows_status_scope_expiry_and_subject(
    client: Client, db: Database
) -> None:
    kit = ServiceKit()
    tokens = await setup_grant(client, db, kit)

    response = await connect_get(
        client, kit, tokens["access_token"], f"/grants/{tokens['grant_id']}"
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "active"
    assert body["access"] == "ongoing"
    assert body["subject"]
    assert body["expires_at"]
    assert body["authorization_details"][0]["type"] == "pds_data_request"
    assert body["consent_token"]
    # A consent token was issued: the log records it, as the token endpoint's are.
    issued = [e for e in await entries(db, Action.TOKEN_ISSUED) if "token" in e.detail]
    assert [(e.detail, e.outcome, str(e.grant_id)) for e in issued] == [
        ({"token": "consent_token"}, Outcome.ALLOWED.value, tokens["grant_id"])
    ]

    assert (await client.post(f"/api/v1/me/grants/{tokens['grant_id']}/revoke")).status_code == 200
    token = await client_token(client, kit)
    revoked = await connect_get(client, kit, token, f"/grants/{tokens['grant_id']}")
    assert revoked.json()["status"] == "revoked"
    assert "consent_token" not in revoked.json()
    assert len([e for e in await entries(db, Action.TOKEN_ISSUED) if "token" in e.detail]) == 1


async def test_revocation_is_immediate_even_for_a_fresh_token(client: Client, db: Database) -> None:
    kit = ServiceKit()
    tokens = await setup_grant(client, db, kit)
    grant_id = tokens["grant_id"]
    path = f"/grants/{grant_id}/data"
    assert (await connect_get(client, kit, tokens["access_token"], path)).status_code == 200
    fresh = await kit.token(
        client,
        {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": tokens["consent_token"],
        },
    )
    assert fresh.status_code == 200, fresh.text

    revoked = await client.post(f"/api/v1/me/grants/{grant_id}/revoke")
    assert revoked.status_code == 200, revoked.text

    for token in (tokens["access_token"], fresh.json()["access_token"]):
        denied = await connect_get(client, kit, token, path)
        assert denied.status_code == 403, denied.text
        assert denied.json()["code"] == "read_denied"
        assert "items" not in denied.json()
    denials = await entries(db, Action.DENY)
    assert [d.detail["reason"] for d in denials] == ["not_active", "not_active"]
    assert all(d.outcome == Outcome.DENIED.value for d in denials)


async def test_another_clients_grant_is_not_found_and_audited(client: Client, db: Database) -> None:
    owner = ServiceKit()
    tokens = await setup_grant(client, db, owner)
    stranger = ServiceKit()
    await stranger.register(db)
    other_tokens = await client_token(client, stranger)

    response = await connect_get(
        client, stranger, other_tokens, f"/grants/{tokens['grant_id']}/data"
    )

    assert response.status_code == 404, response.text
    [denial] = await entries(db, Action.DENY)
    assert denial.client_id == stranger.client_id
    assert denial.citizen_id is None  # the stranger's probe is not tied to the citizen
    assert denial.detail["reason"] == "wrong_client"


async def test_another_clients_grant_stays_not_found_once_its_owner_has_read_it(
    client: Client, db: Database
) -> None:
    """The read path keeps approved grants in memory: a stranger must still get 404 (not
    403, which would say the grant exists) once the owner's read has put it there."""
    owner = ServiceKit()
    tokens = await setup_grant(client, db, owner)
    path = f"/grants/{tokens['grant_id']}/data"
    assert (await connect_get(client, owner, tokens["access_token"], path)).status_code == 200
    stranger = ServiceKit()
    await stranger.register(db)

    response = await connect_get(client, stranger, await client_token(client, stranger), path)

    assert response.status_code == 404, response.text
    [denial] = await entries(db, Action.DENY)
    assert denial.client_id == stranger.client_id
    assert denial.citizen_id is None
    assert denial.detail["reason"] == "wrong_client"


async def test_another_clients_token_with_its_own_proof_is_refused(
    client: Client, db: Database
) -> None:
    owner = ServiceKit()
    tokens = await setup_grant(client, db, owner)
    thief = ServiceKit()  # holds the token but not the key it is bound to

    response = await connect_get(
        client, thief, tokens["access_token"], f"/grants/{tokens['grant_id']}/data"
    )

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('DPoP error="invalid_dpop_proof"')
    assert "items" not in response.text


async def test_a_token_without_a_proof_or_as_bearer_is_refused(
    client: Client, db: Database
) -> None:
    kit = ServiceKit()
    tokens = await setup_grant(client, db, kit)
    path = f"{CONNECT}/grants/{tokens['grant_id']}/data"

    as_bearer = await client.get(
        path, headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    no_proof = await client.get(path, headers={"Authorization": f"DPoP {tokens['access_token']}"})
    nothing = await client.get(path)

    for response in (as_bearer, no_proof, nothing):
        assert response.status_code == 401, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["www-authenticate"].startswith("DPoP ")


async def test_two_authorization_headers_are_refused_whichever_comes_first(
    client: Client, db: Database
) -> None:
    """Authorization is not a list: with two, which token counts would be up to whoever
    reads the headers (a proxy, the app), so neither does."""
    kit = ServiceKit()
    tokens = await setup_grant(client, db, kit)
    other = await client_token(client, kit)
    for path in (f"{CONNECT}/grants/{tokens['grant_id']}/data", f"{CONNECT}/events"):
        for extra_first in (False, True):
            proof = dpop_headers(kit, "GET", path, tokens["access_token"])
            extra = ("authorization", f"DPoP {other}")
            lines = [*proof.items()]
            lines.insert(0 if extra_first else len(lines), extra)

            answer = await raw_asgi.call(client, path, lines)

            assert answer.status == 401, (path, answer.body)
            assert answer.headers["www-authenticate"].startswith('DPoP error="invalid_token"')
    assert await entries(db, Action.READ) == []


async def test_a_replayed_or_stale_proof_is_refused(client: Client, db: Database) -> None:
    kit = ServiceKit()
    tokens = await setup_grant(client, db, kit)
    path = f"{CONNECT}/grants/{tokens['grant_id']}/data"
    headers = dpop_headers(kit, "GET", path, tokens["access_token"])
    assert (await client.get(path, headers=headers)).status_code == 200

    replayed = await client.get(path, headers=headers)

    stale = await client.get(
        path,
        headers=dpop_headers(kit, "GET", path, tokens["access_token"], iat=int(time.time()) - 600),
    )

    assert replayed.status_code == 401
    assert stale.status_code == 401


async def test_a_jti_is_spent_per_signed_proof(client: Client, db: Database) -> None:
    """The replay cache is keyed by (expires_at, jti), expires_at following from the
    proof's signed iat: the same proof again is refused; a new proof reusing the jti under
    another iat is a new signature only the key's holder could make, and is read (RFC 9449
    §11.1 leaves the store's precision to the server; keyed by time, a batch's spent
    values share a few pages instead of one each)."""
    kit = ServiceKit()
    tokens = await setup_grant(client, db, kit)
    path = f"{CONNECT}/grants/{tokens['grant_id']}/data"
    now, jti = int(time.time()), str(uuid.uuid4())
    first = dpop_headers(kit, "GET", path, tokens["access_token"], jti=jti, iat=now)
    resigned = dpop_headers(kit, "GET", path, tokens["access_token"], jti=jti, iat=now - 1)

    answers = [await client.get(path, headers=headers) for headers in (first, resigned, first)]

    assert [answer.status_code for answer in answers] == [200, 200, 401]


async def test_bad_parameters_are_problems_not_errors(client: Client, db: Database) -> None:
    kit = ServiceKit()
    tokens = await setup_grant(client, db, kit)
    grant_id = tokens["grant_id"]
    token = tokens["access_token"]

    too_long = await connect_get(
        client, kit, token, f"/grants/{grant_id}/data", params={"claims": "a" * 5000}
    )
    malformed = await connect_get(
        client, kit, token, f"/grants/{grant_id}/data", params={"claims": "x;drop"}
    )
    unknown = await connect_get(
        client, kit, token, "/grants/00000000-0000-0000-0000-000000000000/data"
    )
    not_uuid = await connect_get(client, kit, token, "/grants/not-a-uuid/data")
    bad_cursor = await connect_get(client, kit, token, "/events", params={"cursor": "-1"})

    assert too_long.status_code == 400
    assert malformed.status_code == 400
    assert unknown.status_code == 404
    assert not_uuid.status_code in (400, 404)
    assert bad_cursor.status_code == 400
    for response in (too_long, malformed, unknown, not_uuid, bad_cursor):
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_documents_are_streamed_with_digest_only_when_granted(
    client: Client, db: Database
) -> None:
    kit = ServiceKit()
    await kit.register(db)
    await sign_up_and_in(client, "amara@example.com")
    item = await create_evidence(client, "proof_of_address")
    content = png(b"water bill")
    uploaded = await upload(client, item["id"], content)
    assert uploaded.status_code == 201, uploaded.text
    document_id = uploaded.json()["id"]
    details = data_request(
        items=[{"evidence_type": "proof_of_address", "documents": True, "required": True}]
    )
    tokens = await approved(client, kit, details=details)
    grant_id = tokens["grant_id"]

    listed = await connect_get(client, kit, tokens["access_token"], f"/grants/{grant_id}/data")
    [ref] = listed.json()["items"][0]["documents"]
    fetched = await connect_get(
        client, kit, tokens["access_token"], f"/grants/{grant_id}/documents/{document_id}"
    )

    assert ref["href"] == f"{CONNECT}/grants/{grant_id}/documents/{document_id}"
    assert ref["sha256"] == hashlib.sha256(content).hexdigest()
    assert fetched.status_code == 200, fetched.text
    assert fetched.content == content
    assert fetched.headers["content-type"].startswith("image/png")
    assert fetched.headers["repr-digest"] == repr_digest(content)
    [downloaded] = await entries(db, Action.DOCUMENT_DOWNLOADED)
    assert downloaded.actor == "client"


def repr_digest(sent: bytes) -> str:
    return f"sha-256=:{base64.b64encode(hashlib.sha256(sent).digest()).decode()}:"


async def test_an_encrypted_documents_digest_is_of_the_jwe_it_came_as(
    client: Client, db: Database
) -> None:
    """RFC 9530: ``Repr-Digest`` covers the representation sent. For a JWE that is the
    JWE; the document's own SHA-256 is the listing's, checked once it is opened."""
    encryption = ECKey.generate_key("P-256")
    kit = ServiceKit()
    await kit.register(db, encryption_jwk={**encryption.as_dict(private=False), "use": "enc"})
    await sign_up_and_in(client, "amara@example.com")
    item = await create_evidence(client, "proof_of_address")
    content = png(b"water bill")
    document_id = (await upload(client, item["id"], content)).json()["id"]
    details = data_request(
        items=[{"evidence_type": "proof_of_address", "documents": True, "required": True}]
    )
    tokens = await approved(client, kit, details=details)
    path = f"/grants/{tokens['grant_id']}/documents/{document_id}"

    fetched = await connect_get(
        client, kit, tokens["access_token"], path, headers={"Accept": "application/jose"}
    )

    assert fetched.status_code == 200, fetched.text
    assert fetched.headers["content-type"].startswith("application/jose")
    assert fetched.headers["repr-digest"] == repr_digest(fetched.content)
    assert jwe.decrypt_compact(fetched.content, encryption).plaintext == content


async def test_documents_outside_the_grant_are_not_found(client: Client, db: Database) -> None:
    kit = ServiceKit()
    tokens = await setup_grant(client, db, kit)  # the default request asks for no documents
    items = await client.get("/api/v1/me/evidence")
    item_id = next(i["id"] for i in items.json()["items"] if i["type"] == "proof_of_address")
    uploaded = await upload(client, item_id, png(b"x"))
    document_id = uploaded.json()["id"]

    fetched = await connect_get(
        client, kit, tokens["access_token"], f"/grants/{tokens['grant_id']}/documents/{document_id}"
    )

    assert fetched.status_code == 404
    [denial] = await entries(db, Action.DENY)
    assert denial.detail["reason"] == "document_not_granted"


async def test_data_as_jwe_opens_only_with_the_clients_key(client: Client, db: Database) -> None:
    encryption = ECKey.generate_key("P-256")
    public = {**encryption.as_dict(private=False), "kid": "enc-1", "use": "enc"}
    kit = ServiceKit()
    await kit.register(db, encryption_jwk=public)
    tokens = await setup_grant(client, db, kit)
    path = f"/grants/{tokens['grant_id']}/data"

    response = await connect_get(
        client, kit, tokens["access_token"], path, headers={"Accept": "application/jose"}
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/jose")
    opened = jwe.decrypt_compact(response.text, encryption)
    assert opened.protected["alg"] == "ECDH-ES"
    assert opened.protected["enc"] == "A256GCM"
    assert opened.protected["kid"] == "enc-1"
    body = json.loads(opened.plaintext or b"")
    assert {i["evidence_type"] for i in body["items"]} == {"proof_of_address", "council_tax_bill"}
    with pytest.raises(JoseError):
        jwe.decrypt_compact(response.text, ECKey.generate_key("P-256"))


async def test_every_accept_line_counts_whichever_way_the_read_comes_in(
    client: Client, db: Database
) -> None:
    """Two ``Accept`` lines mean the same as one joined with a comma (RFC 9110 §5.3): the
    front door saw both and handed the read on, while the route read only the first and
    answered plaintext to a client that had asked for encryption."""
    encryption = ECKey.generate_key("P-256")
    kit = ServiceKit()
    await kit.register(db, encryption_jwk={**encryption.as_dict(private=False), "use": "enc"})
    tokens = await setup_grant(client, db, kit)
    path = f"{CONNECT}/grants/{tokens['grant_id']}/data"

    for lines, encrypted in (
        (["application/json", "application/jose"], True),
        (["application/jose", "application/json"], True),
        (["application/json", "application/jose;q=0"], False),
    ):
        proof = dpop_headers(kit, "GET", path, tokens["access_token"])
        accept = [("accept", line) for line in lines]
        answer = await raw_asgi.call(client, path, [*proof.items(), *accept])

        assert answer.status == 200, answer.body
        kind = answer.headers["content-type"]
        assert kind.startswith("application/jose" if encrypted else "application/json"), lines


@pytest.mark.parametrize("resource", ["data", "document"])
async def test_jwe_without_a_registered_key_is_not_acceptable_and_spends_the_proof(
    client: Client, db: Database, resource: str
) -> None:
    kit = ServiceKit()
    tokens = await setup_grant(client, db, kit)
    grant = f"{CONNECT}/grants/{tokens['grant_id']}"
    path = f"{grant}/data" if resource == "data" else f"{grant}/documents/{uuid.uuid4()}"
    headers = dpop_headers(kit, "GET", path, tokens["access_token"])

    response = await client.get(path, headers={**headers, "Accept": "application/jose"})
    # The same token and proof, sent again asking for JSON: a replay, not a read.
    replayed = await client.get(path, headers={**headers, "Accept": "application/json"})

    assert response.status_code == 406
    assert response.json()["code"] == "not_acceptable"
    assert replayed.status_code == 401
    assert await entries(db, Action.READ) == []
    [refused] = await entries(db, Action.DENY)
    assert refused.detail == {"reason": "not_acceptable"}
    assert refused.client_id == kit.client_id


async def test_events_feed_pages_through_approval_and_revocation(
    client: Client, db: Database
) -> None:
    kit = ServiceKit()
    tokens = await setup_grant(client, db, kit)
    grant_id = tokens["grant_id"]
    items = (await client.get("/api/v1/me/evidence")).json()["items"]
    address = next(i for i in items if i["type"] == "proof_of_address")
    changed = await client.put(
        f"/api/v1/me/evidence/{address['id']}", json={"claims": EXAMPLE_CLAIMS["proof_of_address"]}
    )
    assert changed.status_code == 200, changed.text
    assert (await client.post(f"/api/v1/me/grants/{grant_id}/revoke")).status_code == 200
    token = await client_token(client, kit)

    first = await connect_get(client, kit, token, "/events", params={"limit": "2"})
    assert first.status_code == 200, first.text
    page = first.json()
    second = await connect_get(
        client, kit, token, "/events", params={"cursor": str(page["next_cursor"])}
    )
    rest = second.json()

    events = page["events"] + rest["events"]
    assert [e["type"] for e in events] == ["grant.approved", "grant.data_changed", "grant.revoked"]
    assert [e["seq"] for e in events] == [1, 2, 3]
    assert page["more"] is True
    assert rest["more"] is False
    assert all(e["grant_id"] == grant_id for e in events)
    assert events[1]["data"] == {
        "evidence_type": "proof_of_address",
        "change": "updated",
        "version": 2,
    }
    assert events[2]["data"] == {"revoked_by": "citizen"}
    empty = await connect_get(
        client, kit, token, "/events", params={"cursor": str(rest["next_cursor"])}
    )
    assert empty.json() == {"events": [], "next_cursor": 3, "more": False}


async def test_pushed_request_reaches_the_inbox_and_its_approval_lets_the_service_read(
    client: Client, db: Database
) -> None:
    kit = ServiceKit()
    first = await setup_grant(client, db, kit)
    subject = (
        await connect_get(client, kit, first["access_token"], f"/grants/{first['grant_id']}")
    ).json()["subject"]
    token = await client_token(client, kit)
    details = data_request(
        access="one_off",
        duration="P1D",
        items=[{"evidence_type": "council_tax_bill", "required": True}],
    )

    pushed = await connect_post(
        client,
        kit,
        token,
        "/consent-requests",
        {"subject": subject, "authorization_details": details},
    )
    assert pushed.status_code == 201, pushed.text
    grant_id = pushed.json()["grant_id"]
    assert pushed.json()["status"] == "requested"

    inbox = await client.get("/api/v1/me/consent-requests")
    assert [g["id"] for g in inbox.json()["grants"]] == [grant_id]
    approved = await client.post(f"/api/v1/me/consent-requests/{grant_id}/approve", json={})
    assert approved.status_code == 200, approved.text
    assert (await client.get("/api/v1/me/consent-requests")).json()["grants"] == []

    view = await connect_get(client, kit, token, f"/grants/{grant_id}")
    assert view.json()["status"] == "active"
    consent_token = view.json()["consent_token"]
    exchanged = await kit.token(
        client,
        {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": consent_token},
    )
    assert exchanged.status_code == 200, exchanged.text
    data = await connect_get(
        client, kit, exchanged.json()["access_token"], f"/grants/{grant_id}/data"
    )
    assert data.status_code == 200, data.text
    assert [i["evidence_type"] for i in data.json()["items"]] == ["council_tax_bill"]


async def test_a_push_to_an_unknown_subject_is_not_found(client: Client, db: Database) -> None:
    kit = ServiceKit()
    await kit.register(db)
    token = await client_token(client, kit)

    pushed = await connect_post(
        client,
        kit,
        token,
        "/consent-requests",
        {"subject": "nobody-" + "x" * 20, "authorization_details": data_request()},
    )

    assert pushed.status_code == 404
    assert pushed.json()["code"] == "subject_not_found"


async def test_a_client_token_cannot_read_data(client: Client, db: Database) -> None:
    kit = ServiceKit()
    tokens = await setup_grant(client, db, kit)
    token = await client_token(client, kit)

    response = await connect_get(client, kit, token, f"/grants/{tokens['grant_id']}/data")

    assert response.status_code == 403
    assert "items" not in response.text
