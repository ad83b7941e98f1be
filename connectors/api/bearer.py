"""Who is calling the connector API: a DPoP-bound access token and its proof (RFC 9449 §7).

Order matters for what a stranger can learn: the scheme and token come first, then the
proof (bound to this method and URL, to the token by ``ath`` and to its key by
``cnf.jkt``), and only then anything the database knows (the token given up, the
client suspended). The grant itself is checked by the read that needs it, through the
policy decision point.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from connectors.errors import InvalidDPoPProof
from connectors.models import Client
from connectors.oauth.authenticate import check_dpop
from connectors.oauth.introspection import is_revoked
from consent.errors import InvalidToken

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

    from connectors.api.tokens import LoadKeys, TokenCache
    from connectors.dpop import SeenJtiAsync

MAX_AUTHORIZATION_LENGTH = 8192


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated client, and the grant its token was issued for (None: a
    client-level token from ``client_credentials``)."""

    client_id: str
    subject: str
    jti: str
    exp: int
    grant_id: uuid.UUID | None
    purpose: str | None
    """The grant's purpose as the token states it: the purpose of every read it makes."""


@dataclass(frozen=True, slots=True)
class Presented:
    """What the request carried, as the web layer read it."""

    authorization: str | None
    dpop: Sequence[str]
    method: str
    url: str


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: DPoP <token>`` header; a ``Bearer`` token is
    refused, since a DPoP-bound token must not be accepted without its proof (§7.2)."""
    if not authorization or len(authorization) > MAX_AUTHORIZATION_LENGTH:
        raise InvalidToken("no_token")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "dpop" or not token.strip():
        raise InvalidToken("not_dpop_scheme")
    return token.strip()


async def authenticate_caller(
    presented: Presented,
    *,
    cache: TokenCache,
    load_keys: LoadKeys,
    issuer: str,
    audience: str,
    now: int,
    seen: SeenJtiAsync,
    admit: Callable[[str], None] = lambda _client_id: None,
    live_session: AsyncSession | None = None,
) -> Caller:
    """The caller, or ``InvalidToken`` / ``InvalidDPoPProof`` (both 401).

    ``load_keys`` gives the token-signing keys when a token is not yet in ``cache``.
    ``admit`` sees the client id once the proof shows the caller holds the token's key,
    and may refuse (the rate limit): a token leaked without its key cannot spend the
    client's allowance, and the database is not consulted for a refused caller. ``seen`` spends
    the proof's ``jti``: in a writing session, or (the read path) collected for its group
    commit, which then also checks the token and client (``connectors.api.commit``);
    ``live_session``, when given, checks them here.
    """
    token = bearer_token(presented.authorization)
    claims = await cache.claims(
        token, issuer=issuer, audience=audience, now=now, load_keys=load_keys
    )
    await check_dpop(
        None,
        presented.dpop,
        method=presented.method,
        url=presented.url,
        now=now,
        nonce_secret=None,
        access_token=token,
        expected_jkt=claims["cnf"]["jkt"],
        seen=seen,
    )
    admit(claims["client_id"])
    if live_session is not None:
        await _live_checks(live_session, claims)
    return _caller(claims)


async def _live_checks(session: AsyncSession, claims: Mapping[str, Any]) -> None:
    if await is_revoked(session, claims["jti"]):
        raise InvalidToken("token_revoked")
    status = await session.scalar(
        select(Client.status).where(Client.client_id == claims["client_id"])
    )
    if status != "active":
        raise InvalidToken("client_not_active")


def _caller(claims: Mapping[str, Any]) -> Caller:
    grant_id = claims.get("grant_id")
    try:
        details = claims.get("authorization_details") or [{}]
        purpose = details[0].get("purpose", {}).get("term")
        return Caller(
            client_id=claims["client_id"],
            subject=claims["sub"],
            jti=claims["jti"],
            exp=int(claims["exp"]),
            grant_id=uuid.UUID(grant_id) if grant_id else None,
            purpose=purpose if isinstance(purpose, str) else None,
        )
    except (ValueError, TypeError, AttributeError, IndexError) as exc:  # pragma: no cover
        raise InvalidToken("malformed_claims") from exc  # only if we signed nonsense


__all__ = ["Caller", "InvalidDPoPProof", "InvalidToken", "Presented", "authenticate_caller"]
