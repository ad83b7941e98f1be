"""Answers the real PDS never gives, from a fake one (``httpx.MockTransport``).

A service must get a typed ``PdsError`` however wrong an answer is, not a loop and not
a library's own exception: an event feed that says there is more but does not move its
cursor, a JWE sealed other than as agreed (ECDH-ES + A256GCM to our key, uncompressed)
or not a JWE at all, and a body that is not the type the API promises.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from joserfc import jwe
from joserfc.jwk import ECKey

from connectors.sdk import (
    Grant,
    PdsClient,
    PdsError,
    generate_encryption_key,
    generate_signing_key,
    public_jwk,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

ISSUER = "https://pds.example.gov.uk"
METADATA = {
    "issuer": ISSUER,
    "authorization_endpoint": ISSUER + "/oauth/authorize",
    "pushed_authorization_request_endpoint": ISSUER + "/oauth/par",
    "token_endpoint": ISSUER + "/oauth/token",
    "jwks_uri": ISSUER + "/.well-known/jwks.json",
}
GRANT_ID = "grant-1"
GRANT_DATA = {
    "grant_id": GRANT_ID,
    "subject": "pairwise-subject",
    "purpose": "sector-publicservices:HousingWelfareManagement",
    "retrieved_at": "2026-01-01T00:00:00Z",
    "items": [],
}
PAGE_LIMIT = 5
"""Event pages the fake serves before it answers 500: a client that loops stops here."""


def event(seq: int) -> dict[str, Any]:
    return {
        "id": f"event-{seq}",
        "seq": seq,
        "type": "grant.approved",
        "grant_id": GRANT_ID,
        "occurred_at": "2026-01-01T00:00:00Z",
        "data": {},
    }


class FakePds:
    """Discovery, a client token for anyone, event pages, and one grant's data answer."""

    def __init__(self, *, stuck_at: int = 0, data: httpx.Response | None = None) -> None:
        self.stuck_at = stuck_at
        self.data = data or httpx.Response(200, json=GRANT_DATA)
        self.cursors: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/.well-known/oauth-authorization-server":
            return httpx.Response(200, json=METADATA)
        if path == "/oauth/token":
            token = {"access_token": "client-token", "token_type": "DPoP", "expires_in": 300}
            return httpx.Response(200, json=token)
        if path == "/connect/v1/events":
            return self.page(int(request.url.params["cursor"]))
        if path == f"/connect/v1/grants/{GRANT_ID}/data":
            return self.data
        return httpx.Response(404, json={"code": "not_found"})

    def page(self, cursor: int) -> httpx.Response:
        """Events 1 and 2 from cursor 0; from there on, "more" but no way past ``stuck_at``."""
        self.cursors.append(cursor)
        if len(self.cursors) > PAGE_LIMIT:
            return httpx.Response(500, json={"code": "fake_pds_gave_up"})
        if cursor == 0:
            page = {"events": [event(1), event(2)], "next_cursor": 2, "more": True}
        else:
            page = {"events": [], "next_cursor": self.stuck_at, "more": True}
        return httpx.Response(200, json=page)


@contextlib.asynccontextmanager
async def connected(fake: FakePds, encryption_key: ECKey | None = None) -> AsyncIterator[PdsClient]:
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http,
        PdsClient(
            ISSUER, "client-1", generate_signing_key(), encryption_key=encryption_key, http=http
        ) as pds,
    ):
        yield pds


def a_grant() -> Grant:
    """A grant whose access token has minutes left: reads need no token request."""
    return Grant(GRANT_ID, "access-token", time.time() + 300)


@pytest.mark.parametrize("stuck_at", [2, 1], ids=["same_cursor", "cursor_goes_back"])
async def test_the_feed_stops_when_its_cursor_does_not_move(stuck_at: int) -> None:
    fake = FakePds(stuck_at=stuck_at)
    seen: list[int] = []

    async def read_feed(pds: PdsClient) -> None:
        async for found in pds.events():
            seen.append(found.seq)

    async with connected(fake) as pds:
        with pytest.raises(PdsError) as stuck:
            await read_feed(pds)
    assert stuck.value.code == "stuck_cursor"
    assert seen == [1, 2]  # what came before the stuck page was handed out
    assert fake.cursors == [0, 2]  # and the stuck page was not asked for again


def sealed(key: ECKey, header: dict[str, str], plaintext: bytes) -> httpx.Response:
    recipient = ECKey.import_key(public_jwk(key))
    algorithms = [header["alg"], header["enc"], *([header["zip"]] if "zip" in header else [])]
    content = jwe.encrypt_compact(header, plaintext, recipient, algorithms=algorithms)
    return httpx.Response(200, content=content, headers={"content-type": "application/jose"})


async def test_an_answer_sealed_as_agreed_opens() -> None:
    key = generate_encryption_key()
    answer = sealed(key, {"alg": "ECDH-ES", "enc": "A256GCM"}, json.dumps(GRANT_DATA).encode())
    async with connected(FakePds(data=answer), key) as pds:
        data = await pds.get_data(a_grant(), encrypted=True)
    assert data.grant_id == GRANT_ID
    assert data.subject == GRANT_DATA["subject"]


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "ECDH-ES+A256KW", "enc": "A256GCM"},
        {"alg": "ECDH-ES", "enc": "A128GCM"},
        {"alg": "ECDH-ES", "enc": "A256GCM", "zip": "DEF"},
    ],
    ids=["key_wrapping", "a128gcm", "compressed"],
)
async def test_an_answer_sealed_otherwise_is_undecryptable(header: dict[str, str]) -> None:
    key = generate_encryption_key()
    answer = sealed(key, header, json.dumps(GRANT_DATA).encode())
    async with connected(FakePds(data=answer), key) as pds:
        with pytest.raises(PdsError) as refused:
            await pds.get_data(a_grant(), encrypted=True)
    assert refused.value.code == "undecryptable"
    assert refused.value.status == 200


@pytest.mark.parametrize(
    "content", [b"garbage", b"a.b.c.d.e", b""], ids=["garbage", "five_bad_parts", "empty"]
)
async def test_an_answer_that_is_no_jwe_is_undecryptable(content: bytes) -> None:
    answer = httpx.Response(200, content=content, headers={"content-type": "application/jose"})
    async with connected(FakePds(data=answer), generate_encryption_key()) as pds:
        with pytest.raises(PdsError) as refused:
            await pds.get_data(a_grant(), encrypted=True)
    assert refused.value.code == "undecryptable"


@pytest.mark.parametrize(
    "content",
    [b"<html>Bad gateway</html>", b"{}", json.dumps({**GRANT_DATA, "items": "none"}).encode()],
    ids=["not_json", "empty_object", "wrong_member_type"],
)
async def test_a_body_of_the_wrong_type_is_a_bad_answer(content: bytes) -> None:
    answer = httpx.Response(200, content=content, headers={"content-type": "application/json"})
    async with connected(FakePds(data=answer)) as pds:
        with pytest.raises(PdsError) as refused:
            await pds.get_data(a_grant())
    assert refused.value.code == "bad_answer"
    assert refused.value.status == 200
