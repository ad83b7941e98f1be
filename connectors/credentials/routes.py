"""``/connect/v1`` credential acts: an issuer issues, revokes, suspends and reinstates; a
service with a grant receives presentations that disclose only what the grant covers.

Issuing and status changes are client-level acts (a ``client_credentials`` token): they
are about the client's own credentials, not about a grant. A credential another client
issued is "not found". Presentations are reads under a grant, checked and audited exactly
like ``/data`` (``connectors.api.reads``: the grant held against change, a denial recorded
before it is raised); which claims a grant covers is ``consent.policy.decide``'s answer for
the evidence type and category the credential type stands for (``credentials.types``).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter

from connectors.api.unit import CONNECT_PATH, RESOURCE_SERVER_ERRORS, authenticated
from connectors.credentials.presentations import grant_credentials
from connectors.models import Client
from consent.service import citizen_for_subject
from credentials import service
from credentials.errors import SubjectUnknown
from credentials.schemas import (
    CredentialIssued,
    CredentialIssueIn,
    CredentialStatusOut,
    GrantCredentialsOut,
    StatusListReference,
)
from pds import errors
from pds.db import utcnow
from pds.web.problems import problem_responses

_NONCE = Annotated[
    str,
    QueryParameter(
        min_length=8,
        max_length=256,
        pattern=r"^[A-Za-z0-9._~-]+$",
        description="Your fresh nonce: each presentation's KB-JWT carries it.",
    ),
]


async def _change(
    request: Request[Any, Any, Any], state: State, credential_id: uuid.UUID, change: service.Change
) -> CredentialStatusOut:
    async with authenticated(request, state) as unit:
        unit.client_level("credential acts")
        shown = await service.change_status(
            unit.session,
            state.key_provider,
            client_id=unit.caller.client_id,
            credential_id=credential_id,
            change=change,
            base=state.settings.base_url,
            now=utcnow(),
            lock=not state.db.is_sqlite,
        )
        await unit.session.commit()
    return CredentialStatusOut(credential_id=credential_id, status=shown.value)


_CHANGE_RESPONSES = problem_responses(400, 401, 403, 404, 409, 429)


class CredentialIssuerController(Controller):
    path = CONNECT_PATH
    tags = ["connector", "credentials"]
    exception_handlers = RESOURCE_SERVER_ERRORS

    @post(
        "/credentials",
        operation_id="connectIssueCredential",
        summary="Issue an SD-JWT VC about a citizen (by pairwise subject) into their vault",
        status_code=201,
        responses=problem_responses(400, 401, 403, 404, 422, 429),
    )
    async def issue(
        self, request: Request[Any, Any, Any], state: State, data: JSONBody[CredentialIssueIn]
    ) -> CredentialIssued:
        if (data.vct is None) == (data.type is None):
            raise errors.InvalidInput("Name the credential type by vct or by type, not both.")
        async with authenticated(request, state) as unit:
            unit.client_level("credential acts")
            client = await unit.session.get(Client, unit.caller.client_id)
            assert client is not None  # authenticated callers are registered clients
            citizen = await citizen_for_subject(unit.session, client.client_id, data.subject)
            if citizen is None:
                raise SubjectUnknown("This client knows no citizen by this subject.")
            issued = await service.issue(
                unit.session,
                state.key_provider,
                service.IssueRequest(
                    client_id=client.client_id,
                    registered=tuple(client.credential_types),
                    citizen_id=citizen,
                    type_name=data.vct or data.type or "",
                    claims=data.claims,
                    evidence_id=data.evidence_id,
                    expires_in=data.expires_in,
                ),
                base=state.settings.base_url,
                now=utcnow(),
                lock=not state.db.is_sqlite,
            )
            await unit.session.commit()
        return CredentialIssued(
            credential_id=issued.credential_id,
            vct=issued.vct,
            status=StatusListReference(idx=issued.status.idx, uri=issued.status.uri),
            expires_at=issued.expires_at,
        )

    @post(
        "/credentials/{credential_id:uuid}/revoke",
        operation_id="connectRevokeCredential",
        summary="Revoke a credential this client issued (final); re-signs its status list",
        status_code=200,
        responses=_CHANGE_RESPONSES,
    )
    async def revoke(
        self, request: Request[Any, Any, Any], state: State, credential_id: FromPath[uuid.UUID]
    ) -> CredentialStatusOut:
        return await _change(request, state, credential_id, service.Change.REVOKE)

    @post(
        "/credentials/{credential_id:uuid}/suspend",
        operation_id="connectSuspendCredential",
        summary="Suspend a valid credential this client issued",
        status_code=200,
        responses=_CHANGE_RESPONSES,
    )
    async def suspend(
        self, request: Request[Any, Any, Any], state: State, credential_id: FromPath[uuid.UUID]
    ) -> CredentialStatusOut:
        return await _change(request, state, credential_id, service.Change.SUSPEND)

    @post(
        "/credentials/{credential_id:uuid}/reinstate",
        operation_id="connectReinstateCredential",
        summary="Reinstate a suspended credential this client issued",
        status_code=200,
        responses=_CHANGE_RESPONSES,
    )
    async def reinstate(
        self, request: Request[Any, Any, Any], state: State, credential_id: FromPath[uuid.UUID]
    ) -> CredentialStatusOut:
        return await _change(request, state, credential_id, service.Change.REINSTATE)

    @get(
        "/grants/{grant_id:uuid}/credentials",
        operation_id="connectGetGrantCredentials",
        summary="SD-JWT VC presentations disclosing only the granted claims, key-bound to "
        "this client and your nonce",
        responses=problem_responses(400, 401, 403, 404, 429),
    )
    async def presentations(
        self,
        request: Request[Any, Any, Any],
        state: State,
        grant_id: FromPath[uuid.UUID],
        nonce: _NONCE,
    ) -> Response[GrantCredentialsOut]:
        async with authenticated(request, state) as unit:
            read = unit.read(grant_id)
            out = await grant_credentials(read, nonce, base=state.settings.base_url)
            await unit.session.commit()
        return Response(out, headers={"Cache-Control": "no-store"})
