"""The requests inbox (requests services push through /connect/v1/consent-requests) and
the credentials pages (credentials issued through /connect/v1/credentials), both databases."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from e2e.connect_kit import client_token, connect_post
from e2e.oauth_kit import ServiceKit, data_request
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from consent.grants import GrantStatus
from consent.service import load_grant, pairwise_subject
from credentials.types import BY_SLUG
from dashboard.kit import FORM, post_form, sign_up
from pds.accounts.models import Account

if TYPE_CHECKING:
    from pds.db import Database

Client = AsyncTestClient[Any]
EMAIL = "amara@example.com"
PURPOSE = "To check your address for your housing application."
EVERYTHING_OPTIONAL = data_request(
    items=[
        {"evidence_type": "proof_of_address", "required": False},
        {"evidence_type": "council_tax_bill", "claims": ["band"], "required": False},
    ]
)
ACCOUNT_CLAIMS: dict[str, Any] = {
    "given_name": "Amara",
    "family_name": "Okafor",
    "address": "14 Elm Road, Leeds LS6 2AB",
    "account_reference": "CT-100234",
    "band": "B",
    "liable_from": "2024-04-01",
}


async def subject_for(db: Database, client_id: str, email: str = EMAIL) -> str:
    """The pairwise subject the client knows the citizen by (as after an earlier grant)."""
    async with db.sessions() as session:
        citizen = await session.scalar(select(Account.id).where(Account.email == email))
        assert citizen is not None
        subject = await pairwise_subject(session, client_id, citizen)
        await session.commit()
    return subject


async def pushed_request(
    client: Client,
    db: Database,
    *,
    details: list[dict[str, Any]] | None = None,
    email: str = EMAIL,
) -> str:
    """Housing Options pushes a request to the citizen: the new grant's id."""
    kit = ServiceKit()
    await kit.register(db, name="Housing Options")
    token = await client_token(client, kit)
    body = {
        "subject": await subject_for(db, kit.client_id, email),
        "authorization_details": details or data_request(),
    }
    pushed = await connect_post(client, kit, token, "/consent-requests", body)
    assert pushed.status_code == 201, pushed.text
    grant_id: str = pushed.json()["grant_id"]
    return grant_id


async def grant_state(db: Database, grant_id: str) -> Any:
    async with db.read_sessions() as session:
        loaded = await load_grant(session, uuid.UUID(grant_id))
    assert loaded is not None
    return loaded[1]


async def test_a_pushed_request_waits_worded_as_the_consent_page(
    client: Client, db: Database
) -> None:
    await sign_up(client, EMAIL)
    grant_id = await pushed_request(client, db)

    home = await client.get("/dashboard")
    assert "1 request is waiting for your answer" in home.text
    assert 'href="/dashboard/requests"' in home.text
    listed = await client.get("/dashboard/requests")
    assert listed.status_code == 200
    assert "Housing Options" in listed.text
    assert f'href="/dashboard/requests/{grant_id}"' in listed.text
    services = await client.get("/dashboard/services")
    assert "1 request is waiting for your answer" in services.text

    page = await client.get(f"/dashboard/requests/{grant_id}")
    assert page.status_code == 200
    assert "Housing Options is asking to see some of your information" in page.text
    assert PURPOSE in page.text
    assert "What it needs" in page.text
    assert "Proof of address" in page.text
    assert "just the band" in page.text
    assert "If you say no" in page.text
    assert 'name="items" type="checkbox" value="1">' in page.text  # offered, not ticked
    assert "checked" not in page.text
    assert "Yes, share this information" in page.text
    assert "No, do not share" in page.text


async def test_yes_with_an_optional_item_unticked_declines_it(client: Client, db: Database) -> None:
    await sign_up(client, EMAIL)
    grant_id = await pushed_request(client, db)
    path = f"/dashboard/requests/{grant_id}"

    answered = await post_form(client, path, {"decision": "approve"})

    assert answered.status_code == 303, answered.text
    assert answered.headers["location"] == f"/dashboard/services?shared={grant_id}"
    services = await client.get(answered.headers["location"])
    assert "govuk-notification-banner--success" in services.text
    assert "You said yes. Housing Options can now see" in services.text
    state = await grant_state(db, grant_id)
    assert state.status is GrantStatus.ACTIVE
    assert [item.evidence_type for item in state.scope.items] == ["proof_of_address"]
    assert "No requests are waiting" in (await client.get("/dashboard/requests")).text
    again = await client.get(path)
    assert again.status_code == 409
    assert "You have already answered this request" in again.text


async def test_no_refuses_and_returns_to_the_inbox(client: Client, db: Database) -> None:
    await sign_up(client, EMAIL)
    grant_id = await pushed_request(client, db)
    path = f"/dashboard/requests/{grant_id}"

    answered = await post_form(client, path, {"decision": "refuse", "items": "1"})

    assert answered.status_code == 303, answered.text
    assert answered.headers["location"] == "/dashboard/requests?refused=1"
    inbox = await client.get(answered.headers["location"])
    assert "You said no. Nothing was shared" in inbox.text
    assert "No requests are waiting" in inbox.text
    assert (await grant_state(db, grant_id)).status is GrantStatus.REFUSED
    late = await post_form(client, path, {"decision": "approve"}, token_from="/dashboard/sign-out")
    assert late.status_code == 409
    assert (await grant_state(db, grant_id)).status is GrantStatus.REFUSED


async def test_an_answer_without_the_form_token_changes_nothing(
    client: Client, db: Database
) -> None:
    await sign_up(client, EMAIL)
    grant_id = await pushed_request(client, db)

    forged = await client.post(
        f"/dashboard/requests/{grant_id}",
        data={"csrf_token": "guess", "decision": "approve"},
        headers=FORM,
    )

    assert forged.status_code == 403
    assert "This page has expired" in forged.text
    assert (await grant_state(db, grant_id)).status is GrantStatus.REQUESTED


async def test_unticking_everything_shows_the_error_summary(client: Client, db: Database) -> None:
    await sign_up(client, EMAIL)
    grant_id = await pushed_request(client, db, details=EVERYTHING_OPTIONAL)
    path = f"/dashboard/requests/{grant_id}"

    answered = await post_form(client, path, {"decision": "approve"})

    assert answered.status_code == 422
    assert "<title>Error: " in answered.text
    assert "govuk-error-summary" in answered.text
    assert 'href="#items"' in answered.text
    assert "Tick at least one item to share" in answered.text
    assert 'id="items-error"' in answered.text
    assert (await grant_state(db, grant_id)).status is GrantStatus.REQUESTED
    one = await post_form(client, path, {"decision": "approve", "items": "1"})
    assert one.status_code == 303
    state = await grant_state(db, grant_id)
    assert [item.evidence_type for item in state.scope.items] == ["council_tax_bill"]


async def test_another_citizens_request_is_not_found(client: Client, db: Database) -> None:
    await sign_up(client, EMAIL)
    grant_id = await pushed_request(client, db)
    client.cookies.clear()
    await sign_up(client, "someone.else@example.com")

    page = await client.get(f"/dashboard/requests/{grant_id}")
    assert page.status_code == 404
    assert "Page not found" in page.text
    answered = await post_form(
        client,
        f"/dashboard/requests/{grant_id}",
        {"decision": "approve"},
        token_from="/dashboard/sign-out",
    )
    assert answered.status_code == 404
    assert "No requests are waiting" in (await client.get("/dashboard/requests")).text
    assert (await grant_state(db, grant_id)).status is GrantStatus.REQUESTED
    unknown = await client.get(f"/dashboard/requests/{uuid.uuid4()}")
    assert unknown.status_code == 404


async def test_credentials_list_and_show_their_standing(client: Client, db: Database) -> None:
    await sign_up(client, EMAIL)
    assert "You have no credentials yet" in (await client.get("/dashboard/credentials")).text
    issuer = ServiceKit()
    await issuer.register(db, name="Council Tax", credential_types=["council-tax-account-holder"])
    token = await client_token(client, issuer)
    body = {
        "subject": await subject_for(db, issuer.client_id),
        "type": "council-tax-account-holder",
        "claims": ACCOUNT_CLAIMS,
    }
    issued = await connect_post(client, issuer, token, "/credentials", body)
    assert issued.status_code == 201, issued.text
    cid = issued.json()["credential_id"]

    listed = await client.get("/dashboard/credentials")
    assert listed.status_code == 200
    assert f'href="/dashboard/credentials/{cid}"' in listed.text
    assert "Council tax account" in listed.text
    assert "Council Tax" in listed.text
    assert "govuk-tag--green" in listed.text
    assert "Valid" in listed.text
    one = await client.get(f"/dashboard/credentials/{cid}")
    assert one.status_code == 200
    for claim in BY_SLUG["council-tax-account-holder"].claims:
        assert claim.label in one.text
    assert "CT-100234" in one.text
    assert "1 April 2024" in one.text
    assert "<form" not in one.text  # read-only

    revoked = await connect_post(client, issuer, token, f"/credentials/{cid}/revoke", {})
    assert revoked.status_code == 200, revoked.text
    listed = await client.get("/dashboard/credentials")
    assert "govuk-tag--red" in listed.text
    assert "Revoked" in listed.text
    assert "Revoked" in (await client.get(f"/dashboard/credentials/{cid}")).text

    client.cookies.clear()
    await sign_up(client, "someone.else@example.com")
    assert (await client.get(f"/dashboard/credentials/{cid}")).status_code == 404
    assert cid not in (await client.get("/dashboard/credentials")).text
