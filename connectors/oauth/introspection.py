"""Token introspection (RFC 7662) and revocation (RFC 7009) for authenticated clients.

A client learns about its own tokens only: another client's token, an unknown one, an
expired one or one whose grant has ended all answer ``{"active": false}`` and nothing
more (RFC 7662 §2.2). Revoking a consent token gives the grant up; revoking an access
token ends that token; anything else is ignored with a 200, as RFC 7009 §2.2 asks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select

from connectors.errors import InvalidRequest
from connectors.models import RevokedToken
from connectors.oauth.metadata import resource_identifier
from consent.errors import InvalidToken
from consent.grants import GrantStatus, Revoked, RevokedBy, state_at
from consent.receipting import issue_receipt
from consent.service import load_grant, record
from consent.tokens import ACCESS_TOKEN_TYP, CONSENT_TOKEN_TYP, verify_token
from pds.audit.entry import Action, Actor, Entry
from pds.audit.service import append
from pds.db import insert_if_absent

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.ext.asyncio import AsyncSession

    from connectors.models import Client
    from consent.keys import ServerKeys

INACTIVE: Final[dict[str, Any]] = {"active": False}
_PUBLIC_CLAIMS: Final = (
    "iss", "sub", "aud", "exp", "iat", "jti", "client_id", "cnf", "grant_id",
    "authorization_details", "scope",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class TokenAct:
    """An authenticated client's introspection or revocation request."""

    session: AsyncSession
    client: Client
    form: Mapping[str, str]
    keys: ServerKeys
    issuer: str
    now: dt.datetime


def token_jti_hash(jti: str) -> bytes:
    """How a revoked access token is keyed in ``revoked_tokens``."""
    return hashlib.sha256(jti.encode("utf-8", "surrogatepass")).digest()


def _token(form: Mapping[str, str]) -> str:
    token = form.get("token")
    if not token:
        raise InvalidRequest("token is required.")
    return token


def _identify(act: TokenAct, token: str) -> tuple[str, dict[str, Any]] | None:
    """Which of our kinds ``token`` is, with its verified claims; None for anything else."""
    now = int(act.now.timestamp())
    for typ, audience in (
        (ACCESS_TOKEN_TYP, resource_identifier(act.issuer)),
        (CONSENT_TOKEN_TYP, act.issuer),
    ):
        try:
            claims = verify_token(
                token,
                typ=typ,
                issuer=act.issuer,
                audience=audience,
                public_keys=act.keys.verification_keys,
                now=now,
            )
        except InvalidToken:
            continue
        if claims.get("client_id") == act.client.client_id:
            return typ, claims
        return None
    return None


async def introspect(act: TokenAct) -> dict[str, Any]:
    """RFC 7662 §2.2: the token's claims while it is usable, else only ``active: false``."""
    found = _identify(act, _token(act.form))
    active = found is not None and await _still_live(act, *found)
    append(
        act.session,
        Entry(
            actor=Actor.CLIENT,
            action=Action.TOKEN_INTROSPECTED,
            client_id=act.client.client_id,
            grant_id=_grant_id(found[1]) if found else None,
            detail={"active": active},
        ),
    )
    await act.session.commit()
    if not active or found is None:
        return dict(INACTIVE)
    typ, claims = found
    body: dict[str, Any] = {name: claims[name] for name in _PUBLIC_CLAIMS if name in claims}
    token_type = "DPoP" if typ == ACCESS_TOKEN_TYP else "consent_token"
    return {"active": True, "token_type": token_type, **body}


async def _still_live(act: TokenAct, typ: str, claims: Mapping[str, Any]) -> bool:
    if typ == ACCESS_TOKEN_TYP and await is_revoked(act.session, str(claims["jti"])):
        return False
    grant_id = _grant_id(claims)
    if grant_id is None:
        return typ == ACCESS_TOKEN_TYP  # a client_credentials token has no grant
    loaded = await load_grant(act.session, grant_id)
    return loaded is not None and state_at(loaded[1], act.now).status is GrantStatus.ACTIVE


def _grant_id(claims: Mapping[str, Any]) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(claims["grant_id"])) if "grant_id" in claims else None
    except ValueError:
        return None


async def revoke(act: TokenAct) -> None:
    """RFC 7009: give up an access token, or (with a consent token) the whole grant."""
    found = _identify(act, _token(act.form))
    if found is None:
        await act.session.commit()
        return
    typ, claims = found
    if typ == ACCESS_TOKEN_TYP:
        await _revoke_access_token(act, claims)
    else:
        await _give_up_grant(act, claims)
    await act.session.commit()


async def _revoke_access_token(act: TokenAct, claims: Mapping[str, Any]) -> None:
    await insert_if_absent(
        act.session,
        RevokedToken.__table__,  # type: ignore[arg-type]
        {
            "jti_hash": token_jti_hash(str(claims["jti"])),
            "expires_at": dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC),
        },
    )
    append(
        act.session,
        Entry(
            actor=Actor.CLIENT,
            action=Action.TOKEN_REVOKED,
            client_id=act.client.client_id,
            grant_id=_grant_id(claims),
            detail={"token_type": "access_token"},
        ),
    )


async def _give_up_grant(act: TokenAct, claims: Mapping[str, Any]) -> None:
    grant_id = _grant_id(claims)
    loaded = await load_grant(act.session, grant_id) if grant_id else None
    if loaded is None or state_at(loaded[1], act.now).status is not GrantStatus.ACTIVE:
        return
    grant, state = loaded
    state = await record(act.session, grant, state, Revoked(at=act.now, by=RevokedBy.CLIENT))
    await issue_receipt(act.session, act.keys.signer, grant, state, issuer=act.issuer, now=act.now)
    append(
        act.session,
        Entry(
            actor=Actor.CLIENT,
            action=Action.CONSENT_REVOKED,
            client_id=act.client.client_id,
            citizen_id=grant.citizen_id,
            grant_id=grant.id,
            purpose=state.scope.purpose.term,
            resource=f"grants/{grant.id}",
            detail={"by": RevokedBy.CLIENT.value},
        ),
    )


async def is_revoked(session: AsyncSession, jti: str) -> bool:
    """For resource servers: whether the client gave this access token up."""
    found = await session.scalar(
        select(RevokedToken.jti_hash).where(RevokedToken.jti_hash == token_jti_hash(jti))
    )
    return found is not None
