"""The SDK end to end against a live server (uvicorn in a thread) on both databases.

Only the SDK speaks for the service; the citizen is a plain httpx browser with a cookie
jar. The client is registered through the registry service with the SDK's public keys.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from e2e.helpers import png
from e2e.oauth_kit import REDIRECT_URI, ServiceKit, data_request

from connectors.registry import parse_manifest, register_client
from connectors.sdk import (
    AccessDenied,
    GrantRevoked,
    InvalidGrant,
    NotFound,
    PdsClient,
    generate_encryption_key,
    generate_signing_key,
    public_jwk,
)
from sdk import citizen

if TYPE_CHECKING:
    from joserfc.jwk import ECKey

    from pds.db import Database

TIMEOUT = 10.0


async def register(db: Database, signing: ECKey, encryption: ECKey | None = None) -> str:
    """Register the service with the public halves of the SDK's keys."""
    changes: dict[str, Any] = {
        "jwks": {"keys": [public_jwk(signing, kid=signing.thumbprint(), alg="ES256", use="sig")]}
    }
    if encryption is not None:
        changes["encryption_jwk"] = public_jwk(encryption, kid="enc-1", use="enc")
    manifest = ServiceKit().manifest(**changes)
    async with db.sessions() as session:
        client = await register_client(session, parse_manifest(json.dumps(manifest).encode()))
        return client.client_id


def documents_request() -> list[dict[str, Any]]:
    return data_request(
        items=[
            {"evidence_type": "proof_of_address", "documents": True, "required": True},
            {"evidence_type": "council_tax_bill", "claims": ["band"], "required": False},
        ]
    )


async def test_the_sdk_does_the_whole_flow(db: Database, live: str) -> None:
    signing, encryption = generate_signing_key(), generate_encryption_key()
    client_id = await register(db, signing, encryption)
    async with (
        httpx.AsyncClient(base_url=live, timeout=TIMEOUT) as browser,
        PdsClient(live, client_id, signing, encryption_key=encryption) as pds,
    ):
        await citizen.sign_up_and_in(browser, "amara@example.com")
        address = await citizen.file_evidence(browser, "proof_of_address")
        await citizen.file_evidence(browser, "council_tax_bill")
        content = png(b"water bill")
        document_id = await citizen.upload(browser, address, content)

        meta = await pds.discover()
        assert meta.issuer == live
        start = await pds.start_authorization(documents_request(), REDIRECT_URI)
        assert start.url.startswith(live + "/oauth/authorize?")
        location = await citizen.answer(browser, start.url, items=(1,))
        grant = await pds.finish_authorization(start, location)
        assert grant.consent_token
        assert grant.consent_receipt
        assert grant.authorization_details[0]["type"] == "pds_data_request"

        # Reads: all granted claims, then less; the document checked against its digest.
        data = await pds.get_data(grant)
        assert data.grant_id == grant.grant_id
        address_item = data.item("proof_of_address")
        assert address_item is not None
        assert address_item.claims["postcode"] == "LS6 2AB"
        assert address_item.provenance == {"kind": "self_asserted"}
        tax_item = data.item("council_tax_bill")
        assert tax_item is not None
        assert tax_item.claims == {"band": "B"}
        less = await pds.get_data(grant, claims=["postcode"], evidence_types=["proof_of_address"])
        assert [i.claims for i in less.items] == [{"postcode": "LS6 2AB"}]
        [ref] = address_item.documents or []
        assert ref.id == document_id
        assert await pds.get_document(grant, ref) == content
        assert await pds.get_document(grant, document_id, encrypted=True) == content

        # JWE: the same data, opened with the registered encryption key.
        sealed = await pds.get_data(grant, encrypted=True)
        assert sealed.items == data.items

        # A fresh access token through the consent token; the old one still works too.
        first_token = grant.access_token
        await pds.refresh(grant)
        assert grant.access_token != first_token
        assert (await pds.get_data(grant)).items == data.items

        # An expired token is renewed before the request is sent.
        grant.expires_at = time.time() - 1
        stale_token = grant.access_token
        await pds.get_data(grant)
        assert grant.access_token != stale_token

        # The grant as we see it, and a pushed request to the same citizen.
        view = await pds.get_grant(grant.grant_id)
        assert view.status == "active"
        assert view.access == "ongoing"
        assert view.subject == data.subject
        pushed = await pds.push_consent_request(
            data.subject,
            data_request(
                access="one_off",
                duration="P1D",
                items=[{"evidence_type": "council_tax_bill", "required": True}],
            ),
        )
        assert pushed.status == "requested"
        assert pushed.pushed
        assert (await pds.get_grant(pushed.grant_id)).status == "requested"
        await citizen.approve_pushed(browser, pushed.grant_id)
        answered = await pds.get_grant(pushed.grant_id)
        assert answered.status == "active"
        second = await pds.redeem(answered)
        assert [i.evidence_type for i in (await pds.get_data(second)).items] == ["council_tax_bill"]

        # The citizen stops sharing: reads fail, refresh fails, the feed says why.
        await citizen.revoke(browser, grant.grant_id)
        with pytest.raises(GrantRevoked) as revoked:
            await pds.get_data(grant)
        assert revoked.value.status == 403
        assert revoked.value.code == "read_denied"
        with pytest.raises(InvalidGrant):
            await pds.refresh(grant)
        events = [event async for event in pds.events(limit=2)]  # several pages
        mine = [(e.type, e.grant_id) for e in events]
        assert ("grant.approved", grant.grant_id) in mine
        assert ("grant.approved", pushed.grant_id) in mine
        assert mine[-1] == ("grant.revoked", grant.grant_id)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert [e async for e in pds.events(cursor=events[-1].seq)] == []


async def test_refusal_expiry_and_unknown_grants_are_typed(db: Database, live: str) -> None:
    signing = generate_signing_key()
    client_id = await register(db, signing)
    seen: list[tuple[str, str, int]] = []

    async def record(response: httpx.Response) -> None:
        seen.append((response.request.method, response.url.path, response.status_code))

    async with (
        httpx.AsyncClient(base_url=live, timeout=TIMEOUT) as browser,
        httpx.AsyncClient(timeout=TIMEOUT, event_hooks={"response": [record]}) as http,
        PdsClient(live, client_id, signing, http=http) as pds,
    ):
        await citizen.sign_up_and_in(browser, "tom@example.com")
        await citizen.file_evidence(browser, "proof_of_address")

        start = await pds.start_authorization(data_request(), REDIRECT_URI)
        location = await citizen.answer(browser, start.url, decision="refuse")
        with pytest.raises(AccessDenied):
            await pds.finish_authorization(start, location)

        start = await pds.start_authorization(data_request(), REDIRECT_URI)
        grant = await pds.finish_authorization(start, await citizen.answer(browser, start.url))
        # The PAR answer handed out the DPoP nonce, so the first token request has it.
        assert [s for s in seen if s[1] == "/oauth/token"] == [("POST", "/oauth/token", 200)]
        with pytest.raises(NotFound):
            await pds.get_grant("00000000-0000-0000-0000-000000000000")

        # A token the server no longer accepts is renewed once through the consent token.
        seen.clear()
        bad = grant.access_token = grant.access_token[:-4] + "AAAA"  # a bad signature
        assert (await pds.get_data(grant)).grant_id == grant.grant_id
        assert grant.access_token != bad
        data_path = f"/connect/v1/grants/{grant.grant_id}/data"
        assert seen == [
            ("GET", data_path, 401),
            ("POST", "/oauth/token", 200),  # the nonce learnt earlier is still fresh
            ("GET", data_path, 200),
        ]

        # We give the grant up ourselves: nothing more can be read under it.
        await pds.give_up(grant)
        with pytest.raises(GrantRevoked):
            await pds.get_data(grant)
        assert (await pds.get_grant(grant.grant_id)).revoked_by is not None
