"""Pushed authorization requests (RFC 9126) and the citizen's answer at /oauth/authorize.

Everything the service asks for arrives on the back channel, authenticated, and is
checked before a citizen ever sees it; the front channel carries only ``client_id``
and the opaque ``request_uri``. The grant exists from the push on (``requested``), so
the history shows every request, answered or not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import urlencode, urlsplit

from sqlalchemy import select

from connectors.errors import InvalidRequest, RequestNotSupported
from connectors.models import AuthorizationCode, AuthorizationRequest, Client
from connectors.oauth import pkce
from connectors.registry import is_active
from consent.grants import Approved, GrantState, GrantStatus, Refused
from consent.requests import check_allowed, parse_authorization_details
from consent.service import load_grant, open_request, record
from pds.audit.entry import Action, Actor, Entry, Outcome
from pds.audit.service import append
from pds.errors import NotFound

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.ext.asyncio import AsyncSession

    from consent.models import Grant

REQUEST_URI_PREFIX: Final = "urn:ietf:params:oauth:request_uri:"
REQUEST_URI_LIFETIME: Final = dt.timedelta(minutes=10)
"""Long enough for a citizen to sign in and read the request, short enough to go stale."""
CODE_LIFETIME: Final = dt.timedelta(seconds=60)
MAX_STATE: Final = 512


class AuthorizationRequestNotFound(NotFound):
    """Unknown, expired, already answered, or another client's: the page says only that."""

    code = "authorization_request_not_found"
    title = "This request cannot be answered"


def secret_hash(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True, slots=True)
class Pushed:
    request_uri: str
    expires_in: int
    grant_id: str


async def push_authorization_request(
    session: AsyncSession,
    client: Client,
    form: Mapping[str, str],
    *,
    proof_jkt: str | None,
    now: dt.datetime,
) -> Pushed:
    """Check and store a pushed request; the grant starts as ``requested``. Commits."""
    _refuse_front_channel_forms(form)
    if form.get("response_type") != "code":
        raise InvalidRequest("response_type must be code.", reason="response_type")
    redirect_uri = form.get("redirect_uri", "")
    if redirect_uri not in client.redirect_uris:
        raise InvalidRequest(
            "redirect_uri is not one this client registered.", reason="redirect_uri_not_registered"
        )
    challenge = _checked_challenge(form)
    state = _checked_state(form.get("state"))
    dpop_jkt = _checked_dpop_jkt(form.get("dpop_jkt"), proof_jkt)
    if "authorization_details" not in form:
        raise InvalidRequest(
            "authorization_details is required.", reason="missing_authorization_details"
        )
    request = parse_authorization_details(form["authorization_details"])
    check_allowed(request, purposes=client.purposes, categories=client.categories)
    grant, _ = await open_request(session, client_id=client.client_id, request=request, now=now)
    token = secrets.token_urlsafe(32)
    session.add(
        AuthorizationRequest(
            request_uri_hash=secret_hash(token),
            client_id=client.client_id,
            grant_id=grant.id,
            redirect_uri=redirect_uri,
            state=state,
            code_challenge=challenge,
            dpop_jkt=dpop_jkt,
            created_at=now,
            expires_at=now + REQUEST_URI_LIFETIME,
        )
    )
    append(session, _client_entry(Action.CONSENT_REQUESTED, client, grant, request.purpose.term))
    await session.commit()
    return Pushed(
        request_uri=REQUEST_URI_PREFIX + token,
        expires_in=int(REQUEST_URI_LIFETIME.total_seconds()),
        grant_id=str(grant.id),
    )


def _refuse_front_channel_forms(form: Mapping[str, str]) -> None:
    """Unknown parameters are ignored (RFC 6749 §3.1; ``scope`` too: this server has no
    scopes), but a request object or a request URI inside a push are refused outright
    (RFC 9126 §2.1): either would let what the citizen sees differ from what was checked."""
    if "request_uri" in form:
        raise InvalidRequest(
            "request_uri cannot be pushed; it is what a push returns.", reason="pushed_request_uri"
        )
    if "request" in form:
        raise RequestNotSupported(
            "Request objects are not supported; send the parameters.", reason="request_object"
        )


def _checked_challenge(form: Mapping[str, str]) -> str:
    if form.get("code_challenge_method") != pkce.METHOD:
        raise InvalidRequest(
            "code_challenge_method must be S256 (PKCE is required).", reason="pkce_method"
        )
    challenge = form.get("code_challenge", "")
    if not pkce.is_challenge(challenge):
        raise InvalidRequest(
            "code_challenge must be an S256 challenge.", reason="pkce_code_challenge"
        )
    return challenge


def _checked_state(state: str | None) -> str | None:
    if state is None:
        return None
    if not 0 < len(state) <= MAX_STATE or not state.isprintable():
        raise InvalidRequest(
            f"state must be 1 to {MAX_STATE} printable characters.", reason="bad_state"
        )
    return state


def _checked_dpop_jkt(given: str | None, proof_jkt: str | None) -> str | None:
    """The key the code will be bound to: from ``dpop_jkt`` or the PAR's own DPoP proof."""
    if given is not None and (len(given) != 43 or not pkce.is_challenge(given)):
        raise InvalidRequest("dpop_jkt must be a JWK SHA-256 thumbprint.", reason="bad_dpop_jkt")
    if given is not None and proof_jkt is not None and given != proof_jkt:
        raise InvalidRequest(
            "dpop_jkt does not match the DPoP proof's key.", reason="dpop_jkt_mismatch"
        )
    return given or proof_jkt


def _client_entry(
    action: Action, client: Client, grant: Grant, purpose: str, **detail: str | int | bool | None
) -> Entry:
    return Entry(
        actor=Actor.CLIENT,
        action=action,
        client_id=client.client_id,
        grant_id=grant.id,
        citizen_id=grant.citizen_id,
        purpose=purpose,
        resource=f"grants/{grant.id}",
        detail=dict(detail),
    )


# --- the front channel ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PendingRequest:
    """A pushed request as the consent page needs it."""

    row: AuthorizationRequest
    client: Client
    grant: Grant
    state: GrantState


async def pending_request(
    session: AsyncSession, client_id: str, request_uri: str, now: dt.datetime
) -> PendingRequest:
    """The request behind ``request_uri``, if it is still waiting for an answer."""
    if not request_uri.startswith(REQUEST_URI_PREFIX) or len(request_uri) > 200:
        raise AuthorizationRequestNotFound("This request is not known.")
    token = request_uri.removeprefix(REQUEST_URI_PREFIX)
    row = await session.scalar(
        select(AuthorizationRequest).where(
            AuthorizationRequest.request_uri_hash == secret_hash(token)
        )
    )
    if row is None or row.client_id != client_id:
        raise AuthorizationRequestNotFound("This request is not known.")
    if row.decided_at is not None:
        raise AuthorizationRequestNotFound("This request has already been answered.")
    if row.expires_at <= now:
        raise AuthorizationRequestNotFound("This request has expired.")
    client = await session.get(Client, client_id)
    if client is None or not is_active(client):
        raise AuthorizationRequestNotFound("This service cannot ask for your data at the moment.")
    loaded = await load_grant(session, row.grant_id)
    if client is None or loaded is None or loaded[1].status is not GrantStatus.REQUESTED:
        raise AuthorizationRequestNotFound("This request cannot be answered any more.")
    return PendingRequest(row=row, client=client, grant=loaded[0], state=loaded[1])


@dataclass(frozen=True, slots=True)
class Decision:
    """What the citizen decided and where their browser goes next."""

    redirect_to: str
    state: GrantState


async def decide(
    session: AsyncSession,
    pending: PendingRequest,
    *,
    citizen_id: str,
    approve: bool,
    declined: tuple[int, ...],
    issuer: str,
    now: dt.datetime,
) -> tuple[Decision, str | None]:
    """Record the answer (approve, narrowed or not, or refuse); returns the redirect and,
    on approval, the one-use code. The caller issues the receipt and commits."""
    event = (
        Approved(at=now, citizen_id=citizen_id, declined=declined)
        if approve
        else Refused(at=now, citizen_id=citizen_id)
    )
    state = await record(session, pending.grant, pending.state, event)
    pending.row.decided_at = now
    row = pending.row
    purpose = state.request.purpose.term
    if not approve:
        append(session, _citizen_entry(Action.CONSENT_REFUSED, pending, purpose))
        params = {"error": "access_denied", "state": row.state, "iss": issuer}
        return Decision(redirect_with(row.redirect_uri, params), state), None
    code = secrets.token_urlsafe(32)
    session.add(
        AuthorizationCode(
            code_hash=secret_hash(code),
            client_id=row.client_id,
            grant_id=row.grant_id,
            redirect_uri=row.redirect_uri,
            code_challenge=row.code_challenge,
            dpop_jkt=row.dpop_jkt,
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
    )
    action = Action.CONSENT_NARROWED if declined else Action.CONSENT_GIVEN
    append(session, _citizen_entry(action, pending, purpose, declined=len(declined)))
    params = {"code": code, "state": row.state, "iss": issuer}
    return Decision(redirect_with(row.redirect_uri, params), state), code


def _citizen_entry(
    action: Action, pending: PendingRequest, purpose: str, **detail: str | int | bool | None
) -> Entry:
    citizen = pending.grant.citizen_id
    return Entry(
        actor=Actor.CITIZEN,
        action=action,
        outcome=Outcome.ALLOWED,
        actor_id=citizen,
        citizen_id=citizen,
        client_id=pending.client.client_id,
        grant_id=pending.grant.id,
        purpose=purpose,
        resource=f"grants/{pending.grant.id}",
        detail=dict(detail),
    )


def redirect_with(redirect_uri: str, params: Mapping[str, str | None]) -> str:
    """The registered URI with the response parameters added to its query (RFC 6749 §4.1.2)."""
    query = urlencode({name: value for name, value in params.items() if value is not None})
    separator = "&" if urlsplit(redirect_uri).query else "?"
    return f"{redirect_uri}{separator}{query}"
