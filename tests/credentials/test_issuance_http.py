"""Credentials end to end on both databases: an issuer issues into a vault, the citizen
sees it, a service with a grant gets a presentation of only the granted claims that
verifies with nothing but the issuer's published keys (our verifier and the PyPI
``sd-jwt`` package), and revocation reaches every verifier through the status list.
"""

from __future__ import annotations

import io
import json
import secrets
import time
import zipfile
from typing import TYPE_CHECKING, Any

from conftest import sign_up_and_in
from e2e.connect_kit import client_token, connect_get, connect_post
from e2e.oauth_kit import ISSUER, ServiceKit
from e2e.test_connector_api import entries, setup_grant
from jwcrypto.jwk import JWK
from litestar.testing import AsyncTestClient
from sd_jwt.verifier import SDJWTVerifier
from sqlalchemy import select

from consent.service import pairwise_subject
from credentials import sdjwt
from credentials.status_list import Status, status_of, verify_token
from pds.accounts.models import Account
from pds.audit.entry import Action, Outcome

if TYPE_CHECKING:
    from pds.db import Database

Client = AsyncTestClient[Any]
EMAIL = "amara@example.com"
ACCOUNT_CLAIMS: dict[str, Any] = {
    "given_name": "Amara",
    "family_name": "Okafor",
    "address": "14 Elm Road, Leeds LS6 2AB",
    "account_reference": "CT-100234",
    "band": "B",
    "liable_from": "2024-04-01",
}
RESIDENCE_CLAIMS: dict[str, Any] = {
    "given_name": "Amara",
    "family_name": "Okafor",
    "address": "14 Elm Road, Leeds LS6 2AB",
    "resident_since": "2019-06-01",
    "lives_in_borough": True,
}


async def issuer_kit(db: Database, *types: str) -> ServiceKit:
    kit = ServiceKit()
    await kit.register(
        db,
        name="Council Tax",
        credential_types=list(types or ("council-tax-account-holder", "proof-of-residence")),
    )
    return kit


async def subject_for(db: Database, client_id: str, email: str = EMAIL) -> str:
    """The pairwise subject the issuer knows the citizen by (as after an earlier grant)."""
    async with db.sessions() as session:
        citizen = await session.scalar(select(Account.id).where(Account.email == email))
        assert citizen is not None
        subject = await pairwise_subject(session, client_id, citizen)
        await session.commit()
    return subject


async def issue(client: Client, kit: ServiceKit, token: str, who: str, **body: Any) -> Any:
    payload = {"subject": who, "type": "council-tax-account-holder", "claims": ACCOUNT_CLAIMS}
    payload.update(body)
    return await connect_post(client, kit, token, "/credentials", payload)


async def verify(client: Client, presentation: str, **extra: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/credentials/verify", json={"presentation": presentation, **extra}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_issue_see_present_verify_revoke(client: Client, db: Database) -> None:
    reader = ServiceKit()
    grant = await setup_grant(client, db, reader)
    issuer = await issuer_kit(db)
    issuer_token = await client_token(client, issuer)
    subject = await subject_for(db, issuer.client_id)

    issued = await issue(client, issuer, issuer_token, subject)
    assert issued.status_code == 201, issued.text
    account = issued.json()
    residence = await issue(
        client, issuer, issuer_token, subject, type="proof-of-residence", claims=RESIDENCE_CLAIMS
    )
    assert residence.status_code == 201, residence.text
    assert account["vct"] == f"{ISSUER}/vct/council-tax-account-holder/1"
    assert account["status"]["uri"].startswith(f"{ISSUER}/status-lists/")
    [audited, _] = await entries(db, Action.CREDENTIAL_ISSUED)
    assert audited.client_id == issuer.client_id
    assert "CT-100234" not in json.dumps(audited.detail)

    # The citizen sees it: type, issuer, what it says, standing.
    mine = await client.get("/api/v1/me/credentials")
    assert mine.status_code == 200, mine.text
    by_id = {item["id"]: item for item in mine.json()["items"]}
    shown = by_id[account["credential_id"]]
    assert shown["name"] == "Council tax account"
    assert shown["issuer"] == {"client_id": issuer.client_id, "name": "Council Tax"}
    assert shown["status"] == "valid"
    assert {c["name"]: c["value"] for c in shown["claims"]} == ACCOUNT_CLAIMS
    one = await client.get(f"/api/v1/me/credentials/{account['credential_id']}")
    assert one.status_code == 200
    assert one.json() == shown

    # The reader's grant: all of proof_of_address, only council_tax_bill's band.
    nonce = secrets.token_urlsafe(16)
    path = f"/grants/{grant['grant_id']}/credentials"
    got = await connect_get(client, reader, grant["access_token"], path, params={"nonce": nonce})
    assert got.status_code == 200, got.text
    presented = {p["credential_id"]: p for p in got.json()["credentials"]}
    assert presented[account["credential_id"]]["disclosed"] == ["band"]
    assert presented[residence.json()["credential_id"]]["disclosed"] == sorted(RESIDENCE_CLAIMS)
    presentation = presented[account["credential_id"]]["presentation"]
    [read] = await entries(db, Action.CREDENTIAL_PRESENTED)
    assert read.client_id == reader.client_id
    assert f"{account['credential_id']}:band" in read.detail["claims"]

    # Our verifier: valid, key-bound to the reader and its nonce, only the band disclosed.
    verdict = await verify(client, presentation, nonce=nonce, audience=reader.client_id)
    assert verdict["valid"] is True, verdict
    assert [c["name"] for c in verdict["checks"]][-1] == "status"
    assert verdict["claims"]["band"] == "B"
    assert not {"given_name", "family_name", "address", "account_reference"} & set(
        verdict["claims"]
    )
    wrong_nonce = await verify(
        client, presentation, nonce="another-nonce", audience=reader.client_id
    )
    assert wrong_nonce["failed"] == "key_binding"

    # The PyPI sd-jwt package, with nothing but the issuer's published JWKS.
    metadata = await client.get(f"/.well-known/jwt-vc-issuer/issuers/{issuer.client_id}")
    assert metadata.status_code == 200
    assert metadata.json()["issuer"] == f"{ISSUER}/issuers/{issuer.client_id}"
    published = {jwk["kid"]: jwk for jwk in metadata.json()["jwks"]["keys"]}

    def issuer_key(iss: str, header: dict[str, Any]) -> JWK:
        assert iss == metadata.json()["issuer"]
        return JWK(**published[header["kid"]])

    payload = SDJWTVerifier(
        presentation, issuer_key, reader.client_id, nonce
    ).get_verified_payload()
    assert payload["band"] == "B"
    assert "given_name" not in payload
    jwks = await client.get("/.well-known/jwks.json")
    assert set(published) <= {jwk["kid"] for jwk in jwks.json()["keys"]}

    # Revoke: the list says so at once, and the verifier fails on status.
    revoked = await connect_post(
        client, issuer, issuer_token, f"/credentials/{account['credential_id']}/revoke", {}
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    listed = await client.get(account["status"]["uri"].removeprefix(ISSUER))
    assert listed.status_code == 200
    assert listed.headers["content-type"].startswith("application/statuslist+jwt")
    assert listed.headers["cache-control"] == "public, max-age=300"
    token = verify_token(
        listed.text, uri=account["status"]["uri"], public_keys=published, now=int(time.time())
    )
    assert token.ttl == 300
    assert status_of(token, account["status"]["idx"]) == Status.INVALID
    after = await verify(client, presentation, nonce=nonce, audience=reader.client_id)
    assert after["valid"] is False
    assert after["failed"] == "status"
    assert after["checks"][-1] == {"name": "status", "ok": False, "detail": "revoked"}
    assert "claims" not in after
    mine = await client.get(f"/api/v1/me/credentials/{account['credential_id']}")
    assert mine.json()["status"] == "revoked"
    # A revoked credential is no longer presented; revoking twice is refused.
    again = await connect_get(client, reader, grant["access_token"], path, params={"nonce": nonce})
    assert account["credential_id"] not in {p["credential_id"] for p in again.json()["credentials"]}
    twice = await connect_post(
        client, issuer, issuer_token, f"/credentials/{account['credential_id']}/revoke", {}
    )
    assert twice.status_code == 409
    assert twice.json()["code"] == "status_change_refused"
    verified = await entries(db, Action.CREDENTIAL_VERIFIED)
    assert [v.outcome for v in verified][-1] == Outcome.DENIED.value
    assert all(v.citizen_id is None for v in verified)


async def test_suspend_and_reinstate(client: Client, db: Database) -> None:
    await sign_up_and_in(client, EMAIL)
    issuer = await issuer_kit(db)
    token = await client_token(client, issuer)
    issued = (await issue(client, issuer, token, await subject_for(db, issuer.client_id))).json()
    cid = issued["credential_id"]
    [sd_jwt] = [await _sd_jwt_from_export(client, cid)]

    suspended = await connect_post(client, issuer, token, f"/credentials/{cid}/suspend", {})
    assert suspended.json()["status"] == "suspended"
    assert (await verify(client, sd_jwt))["checks"][-1]["detail"] == "suspended"
    assert (await client.get(f"/api/v1/me/credentials/{cid}")).json()["status"] == "suspended"
    refused = await connect_post(client, issuer, token, f"/credentials/{cid}/suspend", {})
    assert refused.status_code == 409

    reinstated = await connect_post(client, issuer, token, f"/credentials/{cid}/reinstate", {})
    assert reinstated.json()["status"] == "valid"
    assert (await verify(client, sd_jwt))["valid"] is True
    actions = [e.action for e in await entries(db, Action.CREDENTIAL_SUSPENDED)]
    actions += [e.action for e in await entries(db, Action.CREDENTIAL_REINSTATED)]
    assert actions == ["credential.suspended", "credential.reinstated"]


async def _sd_jwt_from_export(client: Client, credential_id: str) -> str:
    """The credential as the export archive carries it: every disclosure, no KB-JWT."""
    exported = await client.get("/api/v1/me/export")
    assert exported.status_code == 200, exported.text
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        [entry] = [c for c in manifest["credentials"] if c["id"] == credential_id]
        assert entry["media_type"] == "application/dc+sd-jwt"
        text = archive.read(entry["file"]).decode()
    _, disclosures, kb = sdjwt.split(text)
    assert kb == ""
    assert len(disclosures) == len(ACCOUNT_CLAIMS)
    return text


async def test_only_the_issuer_may_change_status_and_only_registered_types(
    client: Client, db: Database
) -> None:
    await sign_up_and_in(client, EMAIL)
    issuer = await issuer_kit(db, "council-tax-account-holder")
    token = await client_token(client, issuer)
    subject = await subject_for(db, issuer.client_id)
    cid = (await issue(client, issuer, token, subject)).json()["credential_id"]

    unregistered = await issue(
        client, issuer, token, subject, type="proof-of-residence", claims=RESIDENCE_CLAIMS
    )
    assert unregistered.status_code == 403
    assert unregistered.json()["code"] == "credential_type_not_registered"

    other = ServiceKit()
    await other.register(db)
    other_token = await client_token(client, other)
    for change in ("revoke", "suspend", "reinstate"):
        response = await connect_post(
            client, other, other_token, f"/credentials/{cid}/{change}", {}
        )
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "credential_not_found"
    not_issuer = await issue(client, other, other_token, await subject_for(db, other.client_id))
    assert not_issuer.status_code == 403
    listed = (await client.get(f"/api/v1/me/credentials/{cid}")).json()
    assert listed["status"] == "valid"


async def test_bad_input_is_a_problem_document_never_a_500(client: Client, db: Database) -> None:
    await sign_up_and_in(client, EMAIL)
    issuer = await issuer_kit(db)
    token = await client_token(client, issuer)
    subject = await subject_for(db, issuer.client_id)
    missing = {k: v for k, v in ACCOUNT_CLAIMS.items() if k != "band"}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"claims": {**ACCOUNT_CLAIMS, "nino": "QQ123456C"}}, 422, "invalid_claims"),
        ({"claims": missing}, 422, "invalid_claims"),
        ({"claims": {**ACCOUNT_CLAIMS, "band": {"_sd": 1}}}, 422, "invalid_claims"),
        ({"claims": {**ACCOUNT_CLAIMS, "band": ""}}, 422, "invalid_claims"),
        ({"type": "library-card"}, 422, "unknown_credential_type"),
        ({"vct": f"{ISSUER}/vct/blue-badge/1"}, 422, "invalid_input"),
        ({"subject": "nobody"}, 404, "subject_not_found"),
        ({"evidence_id": "0190a1b2-0000-7000-8000-000000000000"}, 404, "evidence_not_found"),
        ({"expires_in": 5}, 400, "invalid_request"),
        ({"claims": "not an object"}, 400, "invalid_request"),
    ]
    for change, status, code in cases:
        response = await issue(client, issuer, token, subject, **change)
        assert response.status_code == status, (change, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == code, (change, response.json())
    ok = await issue(
        client, issuer, token, subject, vct=f"{ISSUER}/vct/council-tax-account-holder/1", type=None
    )
    assert ok.status_code == 201, ok.text

    for body in (
        {"presentation": "nonsense"},
        {"presentation": "a.b.c~"},
        {"presentation": "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL2V2aWwuZXhhbXBsZSJ9.c2ln~"},
    ):
        verdict = await verify(client, body["presentation"])
        assert verdict["valid"] is False
        assert verdict["failed"] in {"format", "issuer"}
    half = await client.post(
        "/api/v1/credentials/verify", json={"presentation": "a.b.c~", "nonce": "n-1"}
    )
    assert half.status_code == 422
    empty = await client.post("/api/v1/credentials/verify", json={"presentation": ""})
    assert empty.status_code == 400
    assert (
        await client.get("/status-lists/0190a1b2-0000-7000-8000-000000000000")
    ).status_code == 404
    assert (await client.get("/.well-known/jwt-vc-issuer/issuers/nobody")).status_code == 404
    assert (await client.get("/vct/blue-badge/9")).status_code == 404
    meta = await client.get("/vct/blue-badge/1")
    assert meta.json()["vct"] == f"{ISSUER}/vct/blue-badge/1"
    platform = await client.get("/.well-known/jwt-vc-issuer")
    assert platform.json()["issuer"] == ISSUER
    nonce_missing = await connect_get(client, issuer, token, f"/grants/{subject}/credentials")
    assert nonce_missing.status_code in {400, 404}
