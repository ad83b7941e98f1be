"""A grant to test with: a citizen signs up, files their address and approves a request
through the SDK's redirect flow; a tally of the token requests a test made; and a
registered service whose answers pass through that tally."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import httpx
from e2e.oauth_kit import REDIRECT_URI, data_request

from connectors.sdk import PdsClient, generate_signing_key
from sdk import citizen
from sdk.test_client_live import register

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from connectors.sdk import Grant
    from pds.db import Database

TIMEOUT = 10.0


async def approved_grant(
    pds: PdsClient,
    browser: httpx.AsyncClient,
    email: str,
    details: list[dict[str, Any]] | None = None,
) -> Grant:
    """A new citizen's approved grant (default: the ongoing ``data_request()``)."""
    await citizen.sign_up_and_in(browser, email)
    await citizen.file_evidence(browser, "proof_of_address")
    start = await pds.start_authorization(details or data_request(), REDIRECT_URI)
    return await pds.finish_authorization(start, await citizen.answer(browser, start.url))


class TokenTally:
    """An httpx response hook: every answer from the token endpoint, by grant type."""

    def __init__(self) -> None:
        self.answers: list[tuple[str, int, str]] = []
        """(grant_type, status, RFC 6749 error or "") for each POST /oauth/token."""

    async def __call__(self, response: httpx.Response) -> None:
        if response.url.path != "/oauth/token":
            return
        form = parse_qs(response.request.content.decode())
        await response.aread()
        error = response.json().get("error", "") if response.status_code >= 400 else ""
        self.answers.append((form["grant_type"][0], response.status_code, error))

    def issued(self, grant_type: str) -> int:
        """How many tokens of ``grant_type`` the server issued."""
        return sum(1 for kind, status, _ in self.answers if kind == grant_type and status == 200)

    def refused(self, error: str) -> int:
        return sum(1 for _, _, said in self.answers if said == error)


@dataclass(frozen=True, slots=True)
class Watched:
    pds: PdsClient
    browser: httpx.AsyncClient
    """The citizen's."""
    tally: TokenTally


@contextlib.asynccontextmanager
async def watched_service(db: Database, live: str, *hooks: Any) -> AsyncIterator[Watched]:
    """A newly registered service talking to ``live``, every answer it gets passed to a
    ``TokenTally`` (and to ``hooks``), and a citizen's browser."""
    signing = generate_signing_key()
    client_id = await register(db, signing)
    tally = TokenTally()
    async with (
        httpx.AsyncClient(base_url=live, timeout=TIMEOUT) as browser,
        httpx.AsyncClient(timeout=TIMEOUT, event_hooks={"response": [tally, *hooks]}) as http,
        PdsClient(live, client_id, signing, http=http) as pds,
    ):
        yield Watched(pds, browser, tally)
