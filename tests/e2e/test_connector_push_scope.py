"""``POST /connect/v1/consent-requests`` is bounded by the calling client's own registration,
as PAR is: a purpose or category it never registered for is refused before any subject is
looked up, and a client registered for it gets as far as the subject.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from e2e.connect_kit import client_token, connect_post
from e2e.oauth_kit import ServiceKit, data_request

if TYPE_CHECKING:
    from litestar.testing import AsyncTestClient

    from pds.db import Database

UNKNOWN_SUBJECT = "nobody-" + "x" * 20


async def push_as(
    client: AsyncTestClient[Any], db: Database, **registration: Any
) -> dict[str, Any]:
    """Register a client with ``registration``, and push the standard request as it."""
    kit = ServiceKit()
    await kit.register(db, **registration)
    token = await client_token(client, kit)
    pushed = await connect_post(
        client,
        kit,
        token,
        "/consent-requests",
        {"subject": UNKNOWN_SUBJECT, "authorization_details": data_request()},
    )
    body: dict[str, Any] = pushed.json()
    body["status"] = pushed.status_code
    return body


async def test_a_registered_client_gets_as_far_as_the_subject(
    client: AsyncTestClient[Any], db: Database
) -> None:
    answer = await push_as(client, db)

    assert (answer["status"], answer["code"]) == (404, "subject_not_found")


@pytest.mark.parametrize(
    ("registration", "field"),
    [
        # The standard request is for housing, about an address (proof_of_address).
        ({"purposes": ["dpv:ServiceProvision"]}, "authorization_details[0].purpose.term"),
        ({"categories": ["residency", "household"]}, "authorization_details[0].items[0].category"),
    ],
)
async def test_a_push_outside_the_clients_registration_is_refused(
    client: AsyncTestClient[Any], db: Database, registration: dict[str, Any], field: str
) -> None:
    answer = await push_as(client, db, **registration)

    assert answer["status"] == 422, answer
    assert (answer["code"], answer["field"]) == ("invalid_authorization_details", field)
