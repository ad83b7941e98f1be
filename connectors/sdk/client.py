"""``PdsClient``: a service system's whole conversation with a PDS, async.

The authorization server (PAR, the code exchange, the consent token, client credentials)
and the connector API (``/connect/v1``), every request DPoP-bound. Access tokens are
renewed through the consent token when they are near expiry or the API says
``invalid_token``, once, so a long-running service never handles expiry itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

import httpx
import msgspec

from connectors.sdk.answers import JOSE, body, check_digest, decoded
from connectors.sdk.auth import ClientAuth, Pkce, callback_params, checked_code
from connectors.sdk.dpop import DPoPSigner, NonceCache
from connectors.sdk.errors import (
    DiscoveryError,
    GrantRevoked,
    IntegrityError,
    InvalidGrant,
    PdsError,
    error_from,
)
from connectors.sdk.flights import Flights
from connectors.sdk.keys import private_key
from connectors.sdk.models import (
    AuthorizationStart,
    ClientToken,
    DocumentRef,
    Event,
    EventPage,
    Grant,
    GrantData,
    GrantView,
    ServerMetadata,
    TokenAnswer,
)
from connectors.sdk.transport import Transport, invalid_token

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping, Sequence
    from types import TracebackType

    from connectors.sdk.keys import KeyInput

T = TypeVar("T")
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CONNECT_PATH = "/connect/v1"


class PdsClient:
    """One registered client talking to one PDS.

    ``base_url`` is the PDS's issuer identifier (its ``PDS_BASE_URL``). ``signing_key`` is
    the private half of a key in the registered manifest's ``jwks``, ``kid`` its key id
    (default: its RFC 7638 thumbprint). ``dpop_key`` binds tokens (generated when absent;
    keep one per process). ``encryption_key`` opens JWE answers (the private half of the
    manifest's ``encryption_jwk``). ``http`` lets you share an ``httpx.AsyncClient``.
    """

    def __init__(
        self,
        base_url: str,
        client_id: str,
        signing_key: KeyInput,
        kid: str | None = None,
        *,
        dpop_key: KeyInput | None = None,
        encryption_key: KeyInput | None = None,
        http: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.issuer = base_url.rstrip("/")
        key = private_key(signing_key)
        self._auth = ClientAuth(client_id, key, kid or key.thumbprint())
        self._signer = DPoPSigner(dpop_key)
        self._encryption_key = private_key(encryption_key) if encryption_key else None
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._transport = Transport(self._http, self._signer, NonceCache())
        self._metadata: ServerMetadata | None = None
        self._client_token: ClientToken | None = None
        self._renewals = Flights()
        self._kept_early: dict[str, str] = {}
        """Grant id -> the access token an early refresh could not replace (see
        ``_access_token``): not tried again for that token."""

    @property
    def client_id(self) -> str:
        return self._auth.client_id

    @property
    def dpop_jkt(self) -> str:
        """The thumbprint every token this client gets is bound to."""
        return self._signer.jkt

    async def __aenter__(self) -> PdsClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # --- discovery ------------------------------------------------------------------------

    async def discover(self) -> ServerMetadata:
        """The RFC 8414 metadata (fetched once); its ``issuer`` must be ``base_url``."""
        if self._metadata is None:
            response = await self._http.get(self.issuer + "/.well-known/oauth-authorization-server")
            if response.status_code != 200:
                raise error_from(response)
            try:
                found = msgspec.json.decode(response.content, type=ServerMetadata)
            except msgspec.ValidationError as exc:
                raise DiscoveryError(str(exc), code="bad_metadata") from exc
            if found.issuer != self.issuer:
                raise DiscoveryError(
                    f"The metadata names issuer {found.issuer!r}, not {self.issuer!r}.",
                    code="issuer_mismatch",
                )
            self._metadata = found
        return self._metadata

    # --- authorization: the citizen's consent -----------------------------------------------

    async def start_authorization(
        self,
        authorization_details: Sequence[Mapping[str, Any]],
        redirect_uri: str,
        *,
        state: str | None = None,
    ) -> AuthorizationStart:
        """Push the request (PAR, PKCE S256, the code bound to our DPoP key); the answer
        holds the URL to send the citizen to."""
        meta = await self.discover()
        pkce, state = Pkce(), state or secrets.token_urlsafe(24)
        params = {
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "code_challenge": pkce.challenge,
            "code_challenge_method": "S256",
            "state": state,
            "dpop_jkt": self._signer.jkt,
            "authorization_details": json.dumps(list(authorization_details)),
        }
        url = meta.pushed_authorization_request_endpoint
        response = await self._transport.send(
            "POST", url, form=lambda: self._auth.form(self.issuer, **params), proof=False
        )
        if response.status_code != 201:
            raise error_from(response)
        pushed = response.json()
        query = urlencode({"client_id": self.client_id, "request_uri": pushed["request_uri"]})
        return AuthorizationStart(
            url=f"{meta.authorization_endpoint}?{query}",
            state=state,
            code_verifier=pkce.verifier,
            request_uri=pushed["request_uri"],
            redirect_uri=redirect_uri,
            expires_at=time.time() + int(pushed.get("expires_in", 0)),
        )

    async def finish_authorization(
        self, start: AuthorizationStart, callback: str | Mapping[str, str]
    ) -> Grant:
        """Check the callback (``iss``, then ``state``; ``AccessDenied`` if the citizen
        said no) and exchange the code: the grant with its tokens."""
        code = checked_code(callback_params(callback), state=start.state, issuer=self.issuer)
        answer = await self._token(
            grant_type="authorization_code",
            code=code,
            redirect_uri=start.redirect_uri,
            code_verifier=start.code_verifier,
        )
        if answer.grant_id is None:
            raise PdsError("The token answer names no grant.", code="bad_token_answer")
        return Grant(
            grant_id=answer.grant_id,
            access_token=answer.access_token,
            expires_at=time.time() + answer.expires_in,
            consent_token=answer.consent_token,
            consent_receipt=answer.consent_receipt,
            authorization_details=answer.authorization_details,
        )

    async def refresh(self, grant: Grant) -> Grant:
        """A fresh access token through the consent token (RFC 7523 jwt-bearer grant);
        updates ``grant`` in place and returns it. ``InvalidGrant`` once the grant ended."""
        if grant.consent_token is None:
            raise InvalidGrant(
                "This grant has no consent token: a one-off grant cannot be refreshed.",
                code="invalid_grant",
            )
        answer = await self._token(grant_type=JWT_BEARER, assertion=grant.consent_token)
        grant.access_token = answer.access_token
        grant.expires_at = time.time() + answer.expires_in
        grant.authorization_details = answer.authorization_details or grant.authorization_details
        return grant

    async def redeem(self, view: GrantView) -> Grant:
        """A usable grant from an approved pushed request (its view carries the consent
        token): the way in to a grant the citizen approved from their inbox."""
        if view.consent_token is None:
            raise InvalidGrant(f"Grant {view.grant_id} is {view.status}.", code="invalid_grant")
        grant = Grant(view.grant_id, "", 0.0, consent_token=view.consent_token)
        return await self.refresh(grant)

    async def client_credentials(self) -> ClientToken:
        """A client-level token (pushing requests, reading events); cached until near expiry."""
        return await self._client_credentials(stale=None)

    async def _client_credentials(self, *, stale: str | None) -> ClientToken:
        """The cached client token, renewed once (for all concurrent callers) when near
        expiry or when ``stale``, a token the API just refused, is still the cached one."""

        def spent(token: ClientToken | None) -> bool:
            return token is None or token.access_token == stale or token.needs_refresh()

        if spent(self._client_token):
            async with self._renewals.hold("client"):
                if spent(self._client_token):
                    answer = await self._token(grant_type="client_credentials")
                    expires_at = time.time() + answer.expires_in
                    self._client_token = ClientToken(answer.access_token, expires_at)
        assert self._client_token is not None
        return self._client_token

    async def give_up(self, grant: Grant) -> None:
        """End the grant from our side (RFC 7009 with the consent token): we need no more."""
        meta = await self.discover()
        if meta.revocation_endpoint is None or grant.consent_token is None:
            raise PdsError("This grant cannot be given up here.", code="not_supported")
        token = grant.consent_token
        response = await self._transport.send(
            "POST",
            meta.revocation_endpoint,
            form=lambda: self._auth.form(self.issuer, token=token),
            proof=False,
        )
        if response.status_code != 200:
            raise error_from(response)

    async def _token(self, **params: str) -> TokenAnswer:
        meta = await self.discover()
        response = await self._transport.send(
            "POST", meta.token_endpoint, form=lambda: self._auth.form(self.issuer, **params)
        )
        if response.status_code != 200:
            raise error_from(response)
        return decoded(response, TokenAnswer)

    # --- the connector API ------------------------------------------------------------------

    async def get_grant(self, grant_id: str) -> GrantView:
        """The grant as this client may see it: status, scope, expiry, pairwise subject."""
        response = await self._call("GET", f"/grants/{grant_id}")
        return decoded(response, GrantView)

    async def get_data(
        self,
        grant: Grant,
        *,
        claims: Sequence[str] | None = None,
        evidence_types: Sequence[str] | None = None,
        encrypted: bool = False,
    ) -> GrantData:
        """The granted claims, current versions, with provenance; ask for less with
        ``claims`` / ``evidence_types``. ``encrypted``: as a JWE only our key opens."""
        params = {}
        if claims is not None:
            params["claims"] = ",".join(claims)
        if evidence_types is not None:
            params["evidence_type"] = ",".join(evidence_types)
        headers = {"Accept": JOSE} if encrypted else {}
        path = f"/grants/{grant.grant_id}/data"
        response = await self._call("GET", path, grant=grant, params=params, headers=headers)
        return decoded(
            response, GrantData, body(response, self._encryption_key, encrypted=encrypted)
        )

    async def get_document(
        self, grant: Grant, document: str | DocumentRef, *, encrypted: bool = False
    ) -> bytes:
        """A granted document's bytes: what arrived checked against the server's
        ``Repr-Digest`` (for a JWE, of the JWE), the opened bytes against the listing's
        SHA-256 when given a ``DocumentRef``."""
        document_id = document.id if isinstance(document, DocumentRef) else document
        headers = {"Accept": JOSE} if encrypted else {}
        path = f"/grants/{grant.grant_id}/documents/{document_id}"
        response = await self._call("GET", path, grant=grant, headers=headers)
        check_digest(response.content, response.headers.get("repr-digest"))  # what was sent
        content = body(response, self._encryption_key, encrypted=encrypted)
        if isinstance(document, DocumentRef) and not hmac.compare_digest(
            hashlib.sha256(content).hexdigest(), document.sha256.lower()
        ):
            raise IntegrityError("The document is not the one listed.", code="digest_mismatch")
        return content

    async def push_consent_request(
        self, subject: str, authorization_details: Sequence[Mapping[str, Any]]
    ) -> GrantView:
        """Ask a citizen we know by pairwise subject; it lands in their inbox. Watch the
        events (or ``get_grant``) for the answer, then ``redeem`` the grant."""
        body = {"subject": subject, "authorization_details": list(authorization_details)}
        response = await self._call("POST", "/consent-requests", json=body)
        return decoded(response, GrantView)

    async def events_page(self, cursor: int = 0, *, limit: int | None = None) -> EventPage:
        params = {"cursor": str(cursor)}
        if limit is not None:
            params["limit"] = str(limit)
        response = await self._call("GET", "/events", params=params)
        return decoded(response, EventPage)

    async def events(self, cursor: int = 0, *, limit: int | None = None) -> AsyncIterator[Event]:
        """Every event after ``cursor``, oldest first, page after page until the feed is
        drained. Store the last ``event.seq`` you handled and resume from it."""
        while True:
            page = await self.events_page(cursor, limit=limit)
            for event in page.events:
                yield event
            if not page.more:
                return
            if page.next_cursor <= cursor:
                raise PdsError(
                    f"The event feed says there is more but does not move past {cursor}.",
                    code="stuck_cursor",
                )
            cursor = page.next_cursor

    # --- plumbing ---------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        grant: Grant | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """A connector API request under ``grant``'s token (or the client token); a token
        the API calls invalid is renewed once and the request sent again."""
        url = self.issuer + CONNECT_PATH + path

        async def send(stale: str | None) -> tuple[httpx.Response, str]:
            token = await self._access_token(grant, stale=stale)
            response = await self._transport.send(
                method, url, access_token=token, params=params, headers=headers, json=json
            )
            return response, token

        response, token = await send(None)
        if invalid_token(response) and (grant is None or grant.consent_token is not None):
            response, _ = await send(token)  # renewable: once more with a fresh token
        if response.status_code >= 400:
            raise error_from(response)
        return response

    async def _access_token(self, grant: Grant | None, *, stale: str | None = None) -> str:
        """The token to send: renewed when near expiry, or when ``stale`` (a token the API
        just refused) is still the current one; concurrent callers share one renewal."""
        if grant is None:
            return (await self._client_credentials(stale=stale)).access_token
        if grant.consent_token is None or not self._due(grant, stale):
            return grant.access_token
        async with self._renewals.hold(f"grant:{grant.grant_id}"):
            if not self._due(grant, stale):  # renewed while we waited
                return grant.access_token
            try:
                await self.refresh(grant)
            except InvalidGrant as exc:
                if stale is None and time.time() < grant.expires_at:
                    # Renewing early failed, and the token still works: use it. A redirect
                    # one-off grant's consent token buys no second token; a revoked grant
                    # is refused by the API on this very request.
                    self._kept_early[grant.grant_id] = grant.access_token
                    return grant.access_token
                raise GrantRevoked(
                    exc.detail, status=exc.status, code=exc.code, problem=exc.problem
                ) from exc
        self._kept_early.pop(grant.grant_id, None)
        return grant.access_token

    def _due(self, grant: Grant, stale: str | None) -> bool:
        if grant.access_token == stale:
            return True
        if not grant.needs_refresh():
            return False
        kept = self._kept_early.get(grant.grant_id) == grant.access_token
        return not kept or time.time() >= grant.expires_at
