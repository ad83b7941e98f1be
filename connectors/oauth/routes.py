"""The OAuth back channel: PAR, token, introspection, revocation, and the AS and
protected resource metadata.

Thin: each handler reads the form once (refusing repeated parameters, RFC 6749 §3.2),
authenticates the client, checks DPoP where the profile needs it, and calls one
service function. Every refusal is audited in its own transaction after the failed
one is rolled back, so the log shows attacks as well as successes.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import CacheControlHeader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.dpop import issue_nonce
from connectors.errors import InvalidRequest
from connectors.models import Client
from connectors.oauth.authenticate import (
    AUTHENTICATED,
    authenticate_client,
    check_dpop,
    optional_proof_key,
)
from connectors.oauth.authorization import push_authorization_request
from connectors.oauth.introspection import TokenAct, introspect, revoke
from connectors.oauth.metadata import (
    PROTECTED_RESOURCE_WELL_KNOWN,
    RESOURCE_PATH,
    authorization_server_metadata,
    protected_resource_metadata,
)
from connectors.oauth.replay import respend
from connectors.oauth.responses import (
    EXCEPTION_HANDLERS,
    oauth_error,
    oauth_error_responses,
    refusal_reason,
)
from connectors.oauth.token_endpoint import Exchange, exchange
from consent.keys import server_keys
from pds.audit.entry import Action, Actor, Entry, Outcome
from pds.audit.service import append
from pds.db import utcnow
from pds.errors import DomainError
from pds.web.deps import AppSettings, DbSession, Keys

FORM = "application/x-www-form-urlencoded"
NO_STORE = {"Cache-Control": "no-store"}
MAX_PARAMETER_LENGTH = 16 * 1024


async def read_form(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The urlencoded body as single values; a repeated or oversized parameter is refused."""
    declared = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if declared != FORM:
        raise InvalidRequest(f"Send the parameters as {FORM}.")
    form = await request.form()
    values: dict[str, str] = {}
    for name, value in form.multi_items():
        if not isinstance(value, str) or len(value) > MAX_PARAMETER_LENGTH:
            raise InvalidRequest(f"The parameter {name} is not a short text value.")
        if name in values:
            raise InvalidRequest(f"The parameter {name} is repeated.")
        values[name] = value
    return values


@asynccontextmanager
async def refusals_audited(
    session: AsyncSession, action: Action, form: dict[str, str]
) -> AsyncIterator[None]:
    """Record a refusal (after rolling back whatever the request half did), then re-raise."""
    try:
        yield
    except DomainError as exc:
        await session.rollback()
        await respend(session)
        claimed = form.get("client_id") or None
        known = await _registered(session, claimed)
        status, code, _ = oauth_error(exc)
        append(
            session,
            Entry(
                actor=Actor.CLIENT,
                action=action,
                outcome=Outcome.DENIED,
                client_id=known,
                detail={
                    "error": code,
                    "reason": refusal_reason(exc),
                    "status": status,
                    "authenticated": known is not None and session.info.get(AUTHENTICATED) == known,
                },
            ),
        )
        await session.commit()
        raise


async def _registered(session: AsyncSession, client_id: str | None) -> str | None:
    """The claimed client id if it is registered: the log never stores what an attacker typed."""
    if not client_id or len(client_id) > 64:
        return None
    return await session.scalar(select(Client.client_id).where(Client.client_id == client_id))


def _now() -> int:
    return int(time.time())


class OAuthController(Controller):
    path = "/oauth"
    tags = ["oauth"]
    exception_handlers = EXCEPTION_HANDLERS

    @post(
        "/par",
        operation_id="pushAuthorizationRequest",
        summary="Pushed authorization request (RFC 9126) with pds_data_request details",
        status_code=201,
        responses=oauth_error_responses(400, 401),
    )
    async def par(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settings: AppSettings,
        keys: Keys,
    ) -> Response[dict[str, Any]]:
        form: dict[str, str] = {}
        async with refusals_audited(db_session, Action.AUTHORIZATION_REFUSED, form):
            form.update(await read_form(request))
            now = _now()
            client = await authenticate_client(db_session, form, issuer=settings.base_url, now=now)
            proof_jkt = await optional_proof_key(
                db_session,
                request.headers.getall("dpop", []),
                url=settings.base_url + "/oauth/par",
                now=now,
            )
            pushed = await push_authorization_request(
                db_session, client, form, proof_jkt=proof_jkt, now=utcnow()
            )
            loaded = await server_keys(db_session, keys)
        # The nonce the token request will need (RFC 9449 §8), handed out now so that
        # request does not have to be refused once with use_dpop_nonce to learn it.
        return Response(
            {"request_uri": pushed.request_uri, "expires_in": pushed.expires_in},
            status_code=201,
            headers={**NO_STORE, "DPoP-Nonce": issue_nonce(loaded.nonce_secret, now)},
        )

    @post(
        "/token",
        operation_id="token",
        status_code=200,
        summary="Token endpoint (DPoP required)",
        responses=oauth_error_responses(400, 401),
    )
    async def token(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settings: AppSettings,
        keys: Keys,
    ) -> Response[dict[str, Any]]:
        form: dict[str, str] = {}
        async with refusals_audited(db_session, Action.TOKEN_REFUSED, form):
            form.update(await read_form(request))
            now = _now()
            client = await authenticate_client(db_session, form, issuer=settings.base_url, now=now)
            loaded = await server_keys(db_session, keys)
            proof = await check_dpop(
                db_session,
                request.headers.getall("dpop", []),
                method="POST",
                url=settings.base_url + "/oauth/token",
                now=now,
                nonce_secret=loaded.nonce_secret,
            )
            answer = await exchange(
                Exchange(db_session, client, form, proof, loaded, settings.base_url, utcnow())
            )
        # A fresh nonce with every answer (RFC 9449 §8.2) spares the client a refusal
        # when the current one goes stale.
        headers = {**NO_STORE, "DPoP-Nonce": issue_nonce(loaded.nonce_secret, now)}
        return Response(answer.as_dict(), status_code=200, headers=headers)

    @post(
        "/introspect",
        operation_id="introspect",
        status_code=200,
        summary="Token introspection (RFC 7662)",
        responses=oauth_error_responses(400, 401),
    )
    async def introspect(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settings: AppSettings,
        keys: Keys,
    ) -> Response[dict[str, Any]]:
        form: dict[str, str] = {}
        async with refusals_audited(db_session, Action.TOKEN_REFUSED, form):
            act = await self._token_act(request, db_session, settings, keys, form)
            body = await introspect(act)
        return Response(body, status_code=200, headers=NO_STORE)

    @post(
        "/revoke",
        operation_id="revoke",
        status_code=200,
        summary="Token revocation (RFC 7009)",
        responses=oauth_error_responses(400, 401),
    )
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settings: AppSettings,
        keys: Keys,
    ) -> Response[None]:
        form: dict[str, str] = {}
        async with refusals_audited(db_session, Action.TOKEN_REFUSED, form):
            act = await self._token_act(request, db_session, settings, keys, form)
            await revoke(act)
        return Response(None, status_code=200)

    @staticmethod
    async def _token_act(
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: AppSettings,
        keys: Keys,
        form: dict[str, str],
    ) -> TokenAct:
        form.update(await read_form(request))
        client = await authenticate_client(db_session, form, issuer=settings.base_url, now=_now())
        loaded = await server_keys(db_session, keys)
        return TokenAct(db_session, client, form, loaded, settings.base_url, utcnow())


@get(
    "/.well-known/oauth-authorization-server",
    operation_id="getAuthorizationServerMetadata",
    tags=["oauth"],
    summary="Authorization server metadata (RFC 8414)",
    cache_control=CacheControlHeader(public=True, max_age=3600),
)
async def authorization_server(settings: AppSettings) -> dict[str, Any]:
    return authorization_server_metadata(settings.base_url)


@get(
    PROTECTED_RESOURCE_WELL_KNOWN + RESOURCE_PATH,
    operation_id="getProtectedResourceMetadata",
    tags=["oauth"],
    summary="Protected resource metadata for /connect/v1 (RFC 9728)",
    cache_control=CacheControlHeader(public=True, max_age=3600),
)
async def protected_resource(settings: AppSettings) -> dict[str, Any]:
    return protected_resource_metadata(settings.base_url)
