"""Credentials over HTTP for citizens and the public: my credentials, issuer metadata,
type metadata, status lists and the verifier. (Issuing and presenting under a grant are
connector acts: ``connectors.credential_routes``.)
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import CacheControlHeader, State
from litestar.params import FromPath, JSONBody
from litestar.types import ControllerRouterHandler

from credentials import lists, service, verification
from credentials.errors import IssuerUnknown, VctUnknown
from credentials.keys import issuer_id, issuer_public_keys
from credentials.schemas import (
    CheckOut,
    ClaimOut,
    IssuerOut,
    MyCredential,
    MyCredentialList,
    VerifyIn,
    VerifyOut,
)
from credentials.types import BY_SLUG, type_metadata
from pds.db import utcnow
from pds.keys.routes import JWKS_MAX_AGE, JwkSet
from pds.keys.signing import TOKENS, public_keys
from pds.web.deps import AppSettings, DbSession, Keys, SignedInAccount, session_cookie_present
from pds.web.problems import problem_responses

STATUS_LIST_MEDIA_TYPE = "application/statuslist+jwt"
ISSUER_METADATA = "/.well-known/jwt-vc-issuer"


class IssuerMetadata(msgspec.Struct):
    """JWT VC Issuer Metadata (SD-JWT VC draft): ``issuer`` equals the credentials' ``iss``."""

    issuer: str
    jwks: JwkSet


_PUBLIC = CacheControlHeader(public=True, max_age=JWKS_MAX_AGE)


@get(
    ISSUER_METADATA,
    operation_id="getPlatformIssuerMetadata",
    tags=["credentials"],
    summary="The PDS's own JWT VC issuer metadata (issuer id and its ES256 keys)",
    cache_control=_PUBLIC,
)
async def platform_issuer(db_session: DbSession, settings: AppSettings) -> IssuerMetadata:
    keys = await public_keys(db_session, TOKENS)
    jwks = msgspec.convert({"keys": list(keys.values())}, JwkSet)
    return IssuerMetadata(issuer=settings.base_url, jwks=jwks)


@get(
    ISSUER_METADATA + "/issuers/{client_id:str}",
    operation_id="getIssuerMetadata",
    tags=["credentials"],
    summary="An issuing service's JWT VC issuer metadata: the keys its credentials verify with",
    cache_control=_PUBLIC,
    responses=problem_responses(400, 404),
)
async def client_issuer(
    db_session: DbSession, settings: AppSettings, client_id: FromPath[str]
) -> IssuerMetadata:
    keys = await issuer_public_keys(db_session, client_id[:64])
    if not keys:
        raise IssuerUnknown("No credential issuer has this id here.")
    jwks = msgspec.convert({"keys": keys}, JwkSet)
    return IssuerMetadata(issuer=issuer_id(settings.base_url, client_id), jwks=jwks)


@get(
    "/vct/{slug:str}/{version:int}",
    operation_id="getCredentialTypeMetadata",
    tags=["credentials"],
    summary="SD-JWT VC Type Metadata for one of the council's credential types",
    cache_control=_PUBLIC,
    responses=problem_responses(400, 404),
)
async def vct_metadata(
    settings: AppSettings, slug: FromPath[str], version: FromPath[int]
) -> dict[str, Any]:
    kind = BY_SLUG.get(slug)
    if kind is None or kind.version != version:
        raise VctUnknown("There is no credential type at this URL.")
    return type_metadata(kind, settings.base_url)


@get(
    "/status-lists/{list_id:uuid}",
    operation_id="getStatusList",
    tags=["credentials"],
    summary="An issuer's Token Status List token (application/statuslist+jwt)",
    media_type=STATUS_LIST_MEDIA_TYPE,
    responses=problem_responses(400, 404),
)
async def status_list(
    state: State, keys: Keys, settings: AppSettings, list_id: FromPath[uuid.UUID]
) -> Response[str]:
    token = await lists.served_token(state.db, keys, list_id, base=settings.base_url, now=utcnow())
    return Response(
        token,
        media_type=STATUS_LIST_MEDIA_TYPE,
        headers={
            "Cache-Control": f"public, max-age={lists.TTL}",
            "Access-Control-Allow-Origin": "*",
        },
    )


@post(
    "/api/v1/credentials/verify",
    operation_id="verifyCredential",
    tags=["credentials"],
    summary="Verify an SD-JWT VC or presentation: signature, disclosures, key binding, "
    "expiry, status",
    status_code=200,
    responses=problem_responses(400, 422),
)
async def verify(
    db_session: DbSession, keys: Keys, settings: AppSettings, data: JSONBody[VerifyIn]
) -> VerifyOut:
    verdict = await verification.verify_presentation(
        db_session,
        keys,
        data.presentation,
        nonce=data.nonce,
        audience=data.audience,
        base=settings.base_url,
        now=utcnow(),
    )
    await db_session.commit()
    return VerifyOut(
        valid=verdict.valid,
        checks=[CheckOut(c.name, c.ok, c.detail) for c in verdict.checks],
        claims=verdict.claims,
        failed=verdict.failed,
    )


class MyCredentialController(Controller):
    path = "/api/v1/me/credentials"
    tags = ["credentials"]
    guards = [session_cookie_present]

    @get(
        "/",
        operation_id="listMyCredentials",
        summary="My credentials: what each says, who issued it, whether it still counts",
        responses=problem_responses(401),
    )
    async def list_mine(
        self, db_session: DbSession, keys: Keys, settings: AppSettings, citizen: SignedInAccount
    ) -> MyCredentialList:
        held = await service.held_credentials(
            db_session, keys, citizen.id, base=settings.base_url, now=utcnow()
        )
        return MyCredentialList(items=[_mine(item) for item in held])

    @get(
        "/{credential_id:uuid}",
        operation_id="getMyCredential",
        summary="One of my credentials",
        responses=problem_responses(400, 401, 404),
    )
    async def get_mine(
        self,
        db_session: DbSession,
        keys: Keys,
        settings: AppSettings,
        citizen: SignedInAccount,
        credential_id: FromPath[uuid.UUID],
    ) -> MyCredential:
        [held] = await service.held_credentials(
            db_session,
            keys,
            citizen.id,
            base=settings.base_url,
            now=utcnow(),
            credential_id=credential_id,
        )
        return _mine(held)


def _mine(held: service.Held) -> MyCredential:
    kind = held.kind
    labels = {claim.name: claim.label for claim in kind.claims} if kind else {}
    order = [claim.name for claim in kind.claims] if kind else sorted(held.claims)
    return MyCredential(
        id=held.id,
        vct=held.vct,
        type=kind.slug if kind else None,
        name=kind.display_name if kind else held.vct,
        description=kind.description if kind else "",
        issuer=IssuerOut(client_id=held.issuer_client_id, name=held.issuer_name),
        issued_at=held.issued_at,
        expires_at=held.expires_at,
        status=held.status.value,
        claims=[
            ClaimOut(name, labels.get(name, name), held.claims[name])
            for name in order
            if name in held.claims
        ],
        evidence_id=held.evidence_id,
    )


ROUTES: list[ControllerRouterHandler] = [
    platform_issuer,
    client_issuer,
    vct_metadata,
    status_list,
    verify,
    MyCredentialController,
]
"""Every handler here, for ``pds.app`` to register in one line."""
