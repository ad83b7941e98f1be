"""The token endpoint's three grants (RFC 6749 §4.1.3, RFC 7523 §2.1, RFC 6749 §4.4).

Every answer is a DPoP-bound access token (RFC 9068, ``cnf.jkt`` from the request's
proof); there are no refresh tokens. A service with an ongoing grant comes back with
its consent token instead, and every exchange checks the live grant, so a revoked or
expired grant yields nothing however valid the consent token still looks.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, NoReturn

from sqlalchemy import update

from connectors.errors import InvalidRequest, UnsupportedGrantType
from connectors.models import AuthorizationCode
from connectors.oauth import pkce
from connectors.oauth.authorization import secret_hash
from connectors.oauth.metadata import GRANT_JWT_BEARER, resource_identifier
from consent.errors import InvalidGrant, InvalidToken
from consent.expiry import record_expiry
from consent.grants import GrantState, GrantStatus, Revoked, RevokedBy, state_at
from consent.receipting import issue_receipt, latest_receipt
from consent.requests import to_authorization_details
from consent.service import load_grant, pairwise_subject, record
from consent.tokens import (
    ACCESS_TOKEN_LIFETIME,
    CONSENT_TOKEN_TYP,
    issue_access_token,
    issue_consent_token,
    verify_token,
)
from consent.vocabulary import Access
from pds.audit.entry import Action, Actor, Entry
from pds.audit.service import append

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Mapping

    from sqlalchemy.ext.asyncio import AsyncSession

    from connectors.dpop import DPoPProof
    from connectors.models import Client
    from consent.keys import ServerKeys
    from consent.models import Grant

TOKEN_TYPE: Final = "DPoP"  # noqa: S105 - the RFC 9449 token type, not a secret


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """The RFC 6749 §5.1 answer, plus this profile's consent token, the signed consent
    receipt (the client's copy, the same bytes the citizen downloads) and the grant id."""

    access_token: str
    expires_in: int
    token_type: str = TOKEN_TYPE
    consent_token: str | None = None
    consent_receipt: str | None = None
    grant_id: str | None = None
    authorization_details: list[dict[str, Any]] | None = None

    def as_dict(self) -> dict[str, Any]:
        body = {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "consent_token": self.consent_token,
            "consent_receipt": self.consent_receipt,
            "grant_id": self.grant_id,
            "authorization_details": self.authorization_details,
        }
        return {name: value for name, value in body.items() if value is not None}


@dataclass(frozen=True, slots=True)
class Exchange:
    """One token request, already authenticated (client) and proven (DPoP)."""

    session: AsyncSession
    client: Client
    form: Mapping[str, str]
    proof: DPoPProof
    keys: ServerKeys
    issuer: str
    now: dt.datetime

    @property
    def unix_now(self) -> int:
        return int(self.now.timestamp())


async def exchange(request: Exchange) -> TokenResponse:
    """Dispatch on ``grant_type``; each branch commits its tokens with their audit entry."""
    grant_type = request.form.get("grant_type")
    if grant_type == "authorization_code":
        return await _authorization_code(request)
    if grant_type == GRANT_JWT_BEARER:
        return await _consent_token(request)
    if grant_type == "client_credentials":
        return await _client_credentials(request)
    if grant_type is None:
        raise InvalidRequest("grant_type is required.")
    raise UnsupportedGrantType(
        "This server supports authorization_code, jwt-bearer and client_credentials."
    )


# --- authorization_code ---------------------------------------------------------------------


async def _authorization_code(request: Exchange) -> TokenResponse:
    session, form = request.session, request.form
    code = form.get("code")
    if not code:
        raise InvalidRequest("code is required.")
    row = await session.get(AuthorizationCode, secret_hash(code))
    if row is None or row.client_id != request.client.client_id:
        raise InvalidGrant("unknown_code")
    if row.used_at is not None or not await _spend(session, row, request.now):
        await _code_reused(request, row)
    if row.expires_at <= request.now:
        raise InvalidGrant("code_expired")
    if form.get("redirect_uri") != row.redirect_uri:
        raise InvalidGrant("redirect_uri_mismatch")
    if not pkce.verifier_matches(form.get("code_verifier", ""), row.code_challenge):
        raise InvalidGrant("pkce_mismatch")
    if row.dpop_jkt is not None and row.dpop_jkt != request.proof.jkt:
        raise InvalidGrant("dpop_key_mismatch")
    grant, state = await _live_grant(request, row.grant_id)
    return await _grant_tokens(request, grant, state, with_consent_token=True)


async def _spend(session: AsyncSession, row: AuthorizationCode, now: dt.datetime) -> bool:
    """Mark the code used unless another request already did: one use, even under a race."""
    result = await session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.code_hash == row.code_hash, AuthorizationCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def _code_reused(request: Exchange, row: AuthorizationCode) -> NoReturn:
    """A second use means the code leaked: end the grant its first use made (RFC 6749
    §4.1.2), so the tokens already issued are worthless at their next use. Commits."""
    session = request.session
    loaded = await load_grant(session, row.grant_id)
    if loaded is not None and state_at(loaded[1], request.now).status is GrantStatus.ACTIVE:
        grant, state = loaded
        state = await record(session, grant, state, Revoked(at=request.now, by=RevokedBy.SECURITY))
        append(session, _entry(Action.CONSENT_REVOKED, request, grant, state, reason="code_reused"))
        await issue_receipt(
            session, request.keys.signer, grant, state, issuer=request.issuer, now=request.now
        )
        await session.commit()
    raise InvalidGrant("code_reused")


# --- the consent token (JWT bearer grant) ----------------------------------------------------


async def _consent_token(request: Exchange) -> TokenResponse:
    assertion = request.form.get("assertion")
    if not assertion:
        raise InvalidRequest("assertion is required.")
    try:
        claims = verify_token(
            assertion,
            typ=CONSENT_TOKEN_TYP,
            issuer=request.issuer,
            audience=request.issuer,
            public_keys=request.keys.verification_keys,
            now=request.unix_now,
        )
    except InvalidToken as exc:
        raise InvalidGrant(exc.reason) from exc
    if claims.get("client_id") != request.client.client_id:
        raise InvalidGrant("wrong_client")
    try:
        grant_id = uuid.UUID(str(claims.get("grant_id")))
    except ValueError as exc:
        raise InvalidGrant("malformed") from exc
    grant, state = await _live_grant(request, grant_id)
    # A redirect-flow one-off grant got its one access token with the code. A pushed
    # request has no code: its consent token (from /connect/v1/grants/{id}) is the only
    # way in, one-off or not.
    if state.scope.access is not Access.ONGOING and not grant.pushed:
        raise InvalidGrant("one_off_grant")
    subject = await _subject(request, grant)
    if claims.get("sub") != subject:
        raise InvalidGrant("wrong_subject")
    return await _grant_tokens(request, grant, state, with_consent_token=False, subject=subject)


# --- shared ------------------------------------------------------------------------------------


async def _live_grant(request: Exchange, grant_id: uuid.UUID) -> tuple[Grant, GrantState]:
    """The client's own grant, active now; an expiry noticed here is recorded first."""
    session = request.session
    loaded = await load_grant(session, grant_id)
    if loaded is None or loaded[0].client_id != request.client.client_id:
        raise InvalidGrant("unknown_grant")
    grant, state = loaded
    state, expired_now = await record_expiry(
        session, request.keys.signer, grant, state, issuer=request.issuer, now=request.now
    )
    if expired_now:
        await session.commit()
    if state_at(state, request.now).status is not GrantStatus.ACTIVE:
        raise InvalidGrant("grant_not_active")
    return grant, state


async def _subject(request: Exchange, grant: Grant) -> str:
    if grant.citizen_id is None:  # pragma: no cover - an active grant always has its citizen
        raise InvalidGrant("no_citizen")
    return await pairwise_subject(request.session, request.client.client_id, grant.citizen_id)


async def _grant_tokens(
    request: Exchange,
    grant: Grant,
    state: GrantState,
    *,
    with_consent_token: bool,
    subject: str | None = None,
) -> TokenResponse:
    subject = subject or await _subject(request, grant)
    details = to_authorization_details(state.scope)
    access_token = issue_access_token(
        request.keys.signer,
        issuer=request.issuer,
        audience=resource_identifier(request.issuer),
        client_id=request.client.client_id,
        subject=subject,
        jkt=request.proof.jkt,
        now=request.unix_now,
        jti=secrets.token_urlsafe(16),
        grant_id=str(grant.id),
        authorization_details=details,
        lifetime=_lifetime(state, request.now),
    )
    consent_token = receipt = None
    if with_consent_token and state.expires_at is not None:
        stored = await latest_receipt(request.session, grant.id)
        receipt = stored.jws if stored is not None else None
        consent_token = issue_consent_token(
            request.keys.signer,
            issuer=request.issuer,
            client_id=request.client.client_id,
            subject=subject,
            grant_id=str(grant.id),
            authorization_details=details,
            now=request.unix_now,
            expires_at=int(state.expires_at.timestamp()),
            jti=secrets.token_urlsafe(16),
        )
    kind = "authorization_code" if with_consent_token else "jwt_bearer"
    append(request.session, _entry(Action.TOKEN_ISSUED, request, grant, state, grant_type=kind))
    await request.session.commit()
    return TokenResponse(
        access_token=access_token,
        expires_in=_lifetime(state, request.now),
        consent_token=consent_token,
        consent_receipt=receipt,
        grant_id=str(grant.id),
        authorization_details=details,
    )


def _lifetime(state: GrantState, now: dt.datetime) -> int:
    """Five minutes, or less when the grant ends sooner: no token outlives its grant."""
    if state.expires_at is None:  # pragma: no cover - active grants have an expiry
        return ACCESS_TOKEN_LIFETIME
    left = int((state.expires_at - now).total_seconds())
    return max(1, min(ACCESS_TOKEN_LIFETIME, left))


def _entry(
    action: Action,
    request: Exchange,
    grant: Grant,
    state: GrantState,
    **detail: str | int | bool | None,
) -> Entry:
    return Entry(
        actor=Actor.CLIENT,
        action=action,
        client_id=request.client.client_id,
        citizen_id=grant.citizen_id,
        grant_id=grant.id,
        purpose=state.scope.purpose.term,
        resource=f"grants/{grant.id}",
        detail=dict(detail),
    )


# --- client_credentials ---------------------------------------------------------------------


async def _client_credentials(request: Exchange) -> TokenResponse:
    """A token for acts of the client itself (pushing a request, issuing a credential):
    its subject is the client, and it reaches no citizen's data."""
    access_token = issue_access_token(
        request.keys.signer,
        issuer=request.issuer,
        audience=resource_identifier(request.issuer),
        client_id=request.client.client_id,
        subject=request.client.client_id,
        jkt=request.proof.jkt,
        now=request.unix_now,
        jti=secrets.token_urlsafe(16),
    )
    append(
        request.session,
        Entry(
            actor=Actor.CLIENT,
            action=Action.TOKEN_ISSUED,
            client_id=request.client.client_id,
            detail={"grant_type": "client_credentials"},
        ),
    )
    await request.session.commit()
    return TokenResponse(access_token=access_token, expires_in=ACCESS_TOKEN_LIFETIME)
