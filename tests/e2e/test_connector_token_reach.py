"""How far one token and one proof reach on the connector API, on both databases.

Found by review: a refused push left its proof unspent (a proof signs no body, so the
same headers could carry another body); a grant's token still pushed requests and read
the event feed after the citizen revoked that grant; and a refusal handed the client a
pairwise subject for the citizen who refused, and with it a way back into their inbox.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from conftest import sign_up_and_in
from sqlalchemy import func, select

from consent.models import PairwiseSubject
from e2e.connect_kit import CONNECT, client_token, connect_get, connect_post, dpop_headers
from e2e.helpers import create_evidence
from e2e.oauth_kit import Pkce, ServiceKit, approve, data_request, push
from e2e.test_connector_api import entries, setup_grant
from pds.audit.entry import Action, Outcome

if TYPE_CHECKING:
    from litestar.testing import AsyncTestClient

    from pds.db import Database

    Client = AsyncTestClient[Any]

PUSH = f"{CONNECT}/consent-requests"


def one_off_request() -> list[dict[str, Any]]:
    items = [{"evidence_type": "council_tax_bill", "required": True}]
    return data_request(access="one_off", duration="P1D", items=items)


async def known_subject(client: Client, kit: ServiceKit, tokens: dict[str, Any]) -> str:
    view = await connect_get(client, kit, tokens["access_token"], f"/grants/{tokens['grant_id']}")
    subject: str = view.json()["subject"]
    return subject


async def test_a_refused_push_spends_its_proof(client: Client, db: Database) -> None:
    kit = ServiceKit()
    subject = await known_subject(client, kit, await setup_grant(client, db, kit))
    unknown = {"subject": "nobody-" + "x" * 20, "authorization_details": one_off_request()}
    outside = {
        "subject": subject,
        "authorization_details": data_request(
            items=[
                {"evidence_type": "income_statement", "required": True}  # not a registered category
            ]
        ),
    }
    good = {"subject": subject, "authorization_details": one_off_request()}

    for refused_body, status in ((unknown, 404), (outside, 422)):
        proof = dpop_headers(kit, "POST", PUSH, await client_token(client, kit))
        refused = await client.post(PUSH, json=refused_body, headers=proof)
        assert refused.status_code == status, refused.text

        replayed = await client.post(PUSH, json=good, headers=proof)  # same proof, new body

        assert replayed.status_code == 401, replayed.text
        assert replayed.json()["code"] == "invalid_dpop_proof"
    fresh = dpop_headers(kit, "POST", PUSH, await client_token(client, kit))
    assert (await client.post(PUSH, json=good, headers=fresh)).status_code == 201


async def test_a_revoked_grants_token_pushes_nothing_and_reads_no_events(
    client: Client, db: Database
) -> None:
    kit = ServiceKit()
    tokens = await setup_grant(client, db, kit)
    grant_token, grant_id = tokens["access_token"], tokens["grant_id"]
    subject = await known_subject(client, kit, tokens)
    body = {"subject": subject, "authorization_details": one_off_request()}

    # Pushing is the client's own act: a grant's token is refused even while it is live.
    pushed = await connect_post(client, kit, grant_token, "/consent-requests", body)
    assert pushed.status_code == 403
    assert pushed.json()["code"] == "client_token_required"
    assert (await connect_get(client, kit, grant_token, "/events")).status_code == 200

    assert (await client.post(f"/api/v1/me/grants/{grant_id}/revoke")).status_code == 200
    denied_before = len(await entries(db, Action.DENY))

    events = await connect_get(client, kit, grant_token, "/events")
    assert events.status_code == 403
    assert "events" not in events.json()
    denials = await entries(db, Action.DENY)
    assert len(denials) == denied_before + 1
    assert denials[-1].grant_id == uuid.UUID(grant_id)
    assert denials[-1].outcome == Outcome.DENIED.value

    # The client's own token still does both.
    token = await client_token(client, kit)
    assert (await connect_get(client, kit, token, "/events")).status_code == 200
    assert (await connect_post(client, kit, token, "/consent-requests", body)).status_code == 201


async def test_a_refused_request_gives_the_client_no_subject(client: Client, db: Database) -> None:
    kit = ServiceKit()
    await kit.register(db)
    await sign_up_and_in(client, "amara@example.com")
    await create_evidence(client, "council_tax_bill")
    pushed = await push(client, kit, Pkce())
    query = await approve(client, kit, pushed.json()["request_uri"], decision="refuse")
    assert query["error"] == ["access_denied"]
    token = await client_token(client, kit)
    events = (await connect_get(client, kit, token, "/events")).json()["events"]
    refused_id = events[-1]["grant_id"]

    view = await connect_get(client, kit, token, f"/grants/{refused_id}")

    assert view.status_code == 200
    assert view.json()["status"] == "refused"
    assert view.json().get("subject") is None
    async with db.read_sessions() as session:
        made = await session.scalar(select(func.count()).select_from(PairwiseSubject))
    assert made == 0  # none was made for the client, so it has nothing to push to
