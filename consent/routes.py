"""The citizen's grants over HTTP: list, read, withdraw in one step, download the receipt."""

from __future__ import annotations

import uuid

from litestar import Controller, Response, get, post
from litestar.params import FromPath

from consent.keys import server_keys
from consent.receipting import client_party, latest_receipt
from consent.revocation import revoke_by_citizen
from consent.schemas import GrantList, GrantOut, grant_out
from consent.service import GrantNotFound, citizens_grant, citizens_grants
from pds.db import utcnow
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
        now = utcnow()
        found = await citizens_grants(db_session, citizen.id)
        names = {g.client_id: (await client_party(db_session, g.client_id)).name for g, _ in found}
        return GrantList(
            grants=[grant_out(grant.id, names[grant.client_id], s, now) for grant, s in found]
        )

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
