"""Who is calling: ``private_key_jwt`` client authentication and the request's DPoP proof.

The pure verifiers (``connectors.client_auth``, ``connectors.dpop``) do the checking;
this module feeds them what only the server knows: the registered client and its keys,
the shared replay cache, the issuer identifier and the URL the proof must name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors.client_auth import (
    CLIENT_ASSERTION_TYPE,
    unverified_client_id,
    verify_client_assertion_async,
)
from connectors.dpop import DPoPProof, SeenJtiAsync, verify_proof_async
from connectors.errors import InvalidClient, InvalidDPoPProof
from connectors.oauth.replay import replay_check
from connectors.registry import JwksUnavailable, client_jwks, get_client, is_active

AUTHENTICATED = "pds.authenticated_client"
"""Session info key: the client this request proved to be (refusal audits say so)."""

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

    from connectors.models import Client


async def authenticate_client(
    session: AsyncSession, form: Mapping[str, str], *, issuer: str, now: int
) -> Client:
    """The registered, active client whose assertion in ``form`` verifies; else ``InvalidClient``.

    A suspended client is refused here, before anything it sent is looked at further.
    """
    if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
        raise InvalidClient("no_client_assertion")
    unverified_assertion = form.get("client_assertion", "")
    claimed = unverified_client_id(unverified_assertion)
    if claimed is None or len(claimed) > 64:
        raise InvalidClient("malformed")
    if form.get("client_id", claimed) != claimed:
        raise InvalidClient("client_id_mismatch")
    client = await get_client(session, claimed)
    if client is None:
        raise InvalidClient("unknown_client")
    if not is_active(client):
        raise InvalidClient("client_suspended")
    await _verify(session, client, unverified_assertion, issuer=issuer, now=now)
    session.info[AUTHENTICATED] = client.client_id
    return client


async def _verify(
    session: AsyncSession, client: Client, unverified_assertion: str, *, issuer: str, now: int
) -> None:
    seen = replay_check(session, "client_assertion")
    jwks = await _jwks(client)
    try:
        await verify_client_assertion_async(
            unverified_assertion,
            client_id=client.client_id,
            client_jwks=jwks,
            issuer=issuer,
            now=now,
            seen=seen,
        )
    except InvalidClient as exc:
        if exc.reason != "unknown_kid" or client.jwks_uri is None:
            raise
        # The client may have rotated its keys since we fetched its JWKS: look once more.
        await verify_client_assertion_async(
            unverified_assertion,
            client_id=client.client_id,
            client_jwks=await _jwks(client, refresh=True),
            issuer=issuer,
            now=now,
            seen=seen,
        )


async def _jwks(client: Client, *, refresh: bool = False) -> dict[str, Any]:
    """The client's keys; a ``jwks_uri`` we cannot read means we cannot authenticate it."""
    try:
        return await client_jwks(client, refresh=refresh)
    except JwksUnavailable as exc:
        raise InvalidClient(f"jwks_{exc.reason}") from exc


async def check_dpop(
    session: AsyncSession | None,
    header_values: Sequence[str],
    *,
    method: str,
    url: str,
    now: int,
    nonce_secret: bytes | None,
    access_token: str | None = None,
    expected_jkt: str | None = None,
    seen: SeenJtiAsync | None = None,
) -> DPoPProof:
    """The request's one DPoP proof, verified for ``method url`` (RFC 9449 §4.3).

    ``seen`` defaults to spending the ``jti`` in ``session`` now; the read path passes
    a collector (and no session) and spends it in its group commit."""
    if seen is None:
        if session is None:
            raise ValueError("check_dpop needs a session to spend the jti in, or a seen callback")
        seen = replay_check(session, "dpop")
    if len(header_values) != 1:
        raise InvalidDPoPProof("dpop_header_count")
    return await verify_proof_async(
        header_values[0],
        method=method,
        url=url,
        now=now,
        seen=seen,
        nonce_secret=nonce_secret,
        access_token=access_token,
        expected_jkt=expected_jkt,
    )


async def optional_proof_key(
    session: AsyncSession, header_values: Sequence[str], *, url: str, now: int
) -> str | None:
    """At PAR a DPoP proof is optional (RFC 9449 §10.1); when sent, it binds the code to its
    key, so it must verify like any other. The thumbprint, or None without a proof."""
    if not header_values:
        return None
    proof = await check_dpop(
        session, header_values, method="POST", url=url, now=now, nonce_secret=None
    )
    return proof.jkt
