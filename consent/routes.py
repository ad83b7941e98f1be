"""The citizen's grants over HTTP: list, read, withdraw in one step, download the receipt."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from consent.grants import GrantState
from consent.inbox import answer, pending_for
from consent.keys import server_keys
from consent.models import Grant
from consent.receipting import client_party, latest_receipt
from consent.revocation import revoke_by_citizen
from consent.schemas import GrantList, GrantOut, grant_out
from consent.service import GrantNotFound, citizens_grant, citizens_grants
from pds.db import utcnow
from pds.keys.provider import KeyProvider
from pds.settings import Settings
from pds.web.deps import AppSettings, DbSession, Keys, SignedInAccount
from pds.web.problems import problem_responses

RECEIPT_MEDIA_TYPE = "application/jose"


class GrantController(Controller):
    path = "/api/v1/me/grants"
    tags = ["consent"]

    @get(
        "/",
        operation_id="listMyGrants",
        summary="Every service I answered: what it may see, why, and until when",
        responses=problem_responses(401, 403),
    )
    async def list_grants(self, db_session: DbSession, citizen: SignedInAccount) -> GrantList:
        return await _grant_list(db_session, await citizens_grants(db_session, citizen.id))

    @get(
        "/{grant_id:uuid}",
        operation_id="getMyGrant",
        summary="One grant",
        responses=problem_responses(400, 401, 403, 404),
    )
    async def get_grant(
        self, grant_id: FromPath[uuid.UUID], db_session: DbSession, citizen: SignedInAccount
    ) -> GrantOut:
        grant, state = await citizens_grant(db_session, citizen.id, grant_id)
        party = await client_party(db_session, grant.client_id)
        return grant_out(grant.id, party.name, state, utcnow())

    @post(
        "/{grant_id:uuid}/revoke",
        operation_id="revokeMyGrant",
        summary="Stop sharing: the grant ends now, for every later request",
        status_code=200,
        responses=problem_responses(400, 401, 403, 404, 409),
    )
    async def revoke(
        self,
        grant_id: FromPath[uuid.UUID],
        db_session: DbSession,
        citizen: SignedInAccount,
        keys: Keys,
        settings: AppSettings,
    ) -> GrantOut:
        loaded = await server_keys(db_session, keys)
        now = utcnow()
        grant, state = await revoke_by_citizen(
            db_session,
            loaded,
            citizen_id=citizen.id,
            grant_id=grant_id,
            issuer=settings.base_url,
            now=now,
        )
        party = await client_party(db_session, grant.client_id)
        return grant_out(grant.id, party.name, state, now)

    @get(
        "/{grant_id:uuid}/receipt",
        operation_id="getMyGrantReceipt",
        summary="The latest signed consent receipt (compact JWS, ISO/IEC TS 27560 shape)",
        media_type=RECEIPT_MEDIA_TYPE,
        responses=problem_responses(400, 401, 403, 404),
    )
    async def receipt(
        self, grant_id: FromPath[uuid.UUID], db_session: DbSession, citizen: SignedInAccount
    ) -> Response[bytes]:
        grant, _ = await citizens_grant(db_session, citizen.id, grant_id)
        found = await latest_receipt(db_session, grant.id)
        if found is None:
            raise GrantNotFound("This grant has no receipt yet: it has not been answered.")
        return Response(
            found.jws.encode("ascii"),
            media_type=RECEIPT_MEDIA_TYPE,
            headers={
                "Content-Disposition": f'attachment; filename="consent-receipt-{grant.id}.jws"'
            },
        )


async def _grant_list(db_session: AsyncSession, found: list[tuple[Grant, GrantState]]) -> GrantList:
    """Grants as their citizen sees them, each service named once."""
    now = utcnow()
    names = {g.client_id: (await client_party(db_session, g.client_id)).name for g, _ in found}
    return GrantList(
        grants=[grant_out(grant.id, names[grant.client_id], s, now) for grant, s in found]
    )


class AnswerIn(msgspec.Struct, forbid_unknown_fields=True):
    """``declined``: indices of optional items the citizen unticks (empty: share all)."""

    declined: Annotated[
        list[Annotated[int, msgspec.Meta(ge=0, le=19)]], msgspec.Meta(max_length=20)
    ] = []


class ConsentRequestController(Controller):
    """Requests services pushed to this citizen (``/connect/v1/consent-requests``)."""

    path = "/api/v1/me/consent-requests"
    tags = ["consent"]

    @get(
        "/",
        operation_id="listMyConsentRequests",
        summary="Requests waiting for my answer",
        responses=problem_responses(401, 403),
    )
    async def list_requests(self, db_session: DbSession, citizen: SignedInAccount) -> GrantList:
        return await _grant_list(db_session, await pending_for(db_session, citizen.id))

    @post(
        "/{grant_id:uuid}/approve",
        operation_id="approveMyConsentRequest",
        summary="Say yes, optionally unticking optional items",
        status_code=200,
        responses=problem_responses(400, 401, 403, 404, 409),
    )
    async def approve(
        self,
        *,
        grant_id: FromPath[uuid.UUID],
        data: JSONBody[AnswerIn],
        db_session: DbSession,
        citizen: SignedInAccount,
        keys: Keys,
        settings: AppSettings,
    ) -> GrantOut:
        return await _answer(
            db_session,
            citizen_id=citizen.id,
            grant_id=grant_id,
            keys=keys,
            settings=settings,
            declined=data.declined,
        )

    @post(
        "/{grant_id:uuid}/refuse",
        operation_id="refuseMyConsentRequest",
        summary="Say no; the service is told and sees nothing",
        status_code=200,
        responses=problem_responses(400, 401, 403, 404, 409),
    )
    async def refuse(
        self,
        grant_id: FromPath[uuid.UUID],
        db_session: DbSession,
        citizen: SignedInAccount,
        keys: Keys,
        settings: AppSettings,
    ) -> GrantOut:
        return await _answer(
            db_session,
            citizen_id=citizen.id,
            grant_id=grant_id,
            keys=keys,
            settings=settings,
            declined=None,
        )


async def _answer(
    db_session: AsyncSession,
    *,
    citizen_id: uuid.UUID,
    grant_id: uuid.UUID,
    keys: KeyProvider,
    settings: Settings,
    declined: list[int] | None,
) -> GrantOut:
    loaded = await server_keys(db_session, keys)
    now = utcnow()
    grant, state = await answer(
        db_session,
        loaded,
        citizen_id=citizen_id,
        grant_id=grant_id,
        approve=declined is not None,
        declined=tuple(sorted(set(declined or ()))),
        issuer=settings.base_url,
        now=now,
    )
    party = await client_party(db_session, grant.client_id)
    return grant_out(grant.id, party.name, state, now)
