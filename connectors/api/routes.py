"""``/connect/v1``: the one door service systems use, each request under a DPoP-bound token.

Thin: every handler authenticates the caller, counts it against its rate limit, calls
one service function and shapes the answer (JSON, or JWE when asked and possible). Most
open one writing unit of work and commit it; ``/data``, the hot path, opens none: its
audit entry and last live checks go through the group commit (``connectors.api.commit``).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Stream

from connectors.api.data_front import grant_data, raise_carried
from connectors.api.jwe import JOSE_MEDIA_TYPE, encrypt_for, wants_jwe
from connectors.api.reads import answer_key, grant_document, grant_for_client, live_grant
from connectors.api.schemas import (
    ConnectGrant,
    ConsentRequestIn,
    EventOut,
    EventPage,
    GrantDataOut,
    connect_grant,
)
from connectors.api.unit import (
    CONNECT_PATH,
    RESOURCE_SERVER_ERRORS,
    authenticated,
)
from consent.disclosure import MAX_ASKED, Asked
from consent.events import feed
from consent.inbox import push_request
from pds import errors
from pds.db import utcnow
from pds.vault.documents import DocumentDownload, stream_plaintext
from pds.web.answers import binary_answer
from pds.web.problems import problem_responses

_NAMES = Annotated[
    str | None,
    QueryParameter(
        max_length=MAX_ASKED * 65,
        pattern=r"^[A-Za-z0-9_.-]{1,64}(,[A-Za-z0-9_.-]{1,64})*$",
        description="Comma-separated names; leave out to ask for everything granted.",
    ),
]


_JWE_NOTE = (
    " With `Accept: application/jose`, and an encryption key registered for the client, the "
    "same content comes as one compact JWE (ECDH-ES, A256GCM) to that key, media type "
    "application/jose; without a registered key that is refused (406)."
)
# The handlers return Response (JSON, JWE or a stream), so the answers are described here.
_DATA_ANSWER = ResponseSpec(
    data_container=GrantDataOut,
    description="Exactly the granted claims of each item the grant reaches." + _JWE_NOTE,
    generate_examples=False,
)
_DOCUMENT_ANSWER = binary_answer(
    "The document's bytes under its own media type, with `Repr-Digest` (SHA-256) and "
    "`Content-Length`." + _JWE_NOTE
)


def _names(value: str | None) -> frozenset[str] | None:
    if value is None:
        return None
    names = frozenset(value.split(","))
    if len(names) > MAX_ASKED:
        raise errors.InvalidInput(f"Ask for at most {MAX_ASKED} names at a time.")
    return names


class ConnectorController(Controller):
    path = CONNECT_PATH
    tags = ["connector"]
    exception_handlers = RESOURCE_SERVER_ERRORS

    @get(
        "/grants/{grant_id:uuid}",
        operation_id="connectGetGrant",
        summary="The grant as this client may see it (status, scope, expiry, subject)",
        responses=problem_responses(400, 401, 403, 404, 429),
    )
    async def get_grant(
        self, request: Request[Any, Any, Any], state: State, grant_id: FromPath[uuid.UUID]
    ) -> ConnectGrant:
        async with authenticated(request, state) as unit:
            read = unit.read(grant_id)
            view = await grant_for_client(read, issuer=state.settings.base_url)
            await unit.session.commit()
        held = view.held
        return connect_grant(
            held.row.id,
            held.state,
            read.now,
            pushed=held.row.pushed,
            subject=view.subject,
            consent_token=view.consent_token,
        )

    @get(
        "/grants/{grant_id:uuid}/data",
        operation_id="connectGetGrantData",
        summary="The granted claims, current version, with provenance (JSON or JWE)",
        responses={200: _DATA_ANSWER, **problem_responses(400, 401, 403, 404, 406, 429)},
        before_request=raise_carried,  # a GET: the app's content-type check has nothing to do
    )
    async def get_data(
        self,
        request: Request[Any, Any, Any],
        state: State,
        grant_id: FromPath[uuid.UUID],
        evidence_type: _NAMES = None,
        claims: _NAMES = None,
    ) -> Response[Any]:
        asked = Asked(evidence_types=_names(evidence_type), claims=_names(claims))
        jwe = wants_jwe(", ".join(request.headers.getall("accept", [])))
        answer = await grant_data(request.scope, state, grant_id, asked, jwe=jwe)
        if answer.key is None:
            return Response(answer.body, headers={"Cache-Control": "no-store"})
        encrypted = encrypt_for(answer.key, msgspec.json.encode(answer.body), content_type="json")
        return Response(
            encrypted, media_type=JOSE_MEDIA_TYPE, headers={"Cache-Control": "no-store"}
        )

    @get(
        "/grants/{grant_id:uuid}/documents/{document_id:uuid}",
        operation_id="connectGetGrantDocument",
        summary="A granted document, streamed with its type and digest (or one JWE)",
        responses={200: _DOCUMENT_ANSWER, **problem_responses(400, 401, 403, 404, 406, 429)},
    )
    async def get_document(
        self,
        request: Request[Any, Any, Any],
        state: State,
        grant_id: FromPath[uuid.UUID],
        document_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        async with authenticated(request, state) as unit:
            wanted = wants_jwe(", ".join(request.headers.getall("accept", [])))
            key = await answer_key(unit.read(grant_id), wants_jwe=wanted)
            found = await grant_document(unit.read(grant_id), document_id)
            await unit.session.commit()
        download = DocumentDownload(
            meta=found.meta,
            citizen_id=found.citizen_id,
            chunk_count=found.chunk_count,
            dek=found.dek,
        )
        meta = found.meta
        headers = {"Cache-Control": "no-store"}
        if key is not None:
            content = b"".join(
                [chunk async for chunk in stream_plaintext(state.db.read_sessions, download)]
            )
            encrypted = encrypt_for(key, content, content_type=meta.media_type).encode("ascii")
            # RFC 9530: the digest of the representation sent, the JWE. The document's own
            # SHA-256 is in the /data listing, to check once it is opened.
            headers["Repr-Digest"] = _repr_digest(hashlib.sha256(encrypted).digest())
            return Response(encrypted, media_type=JOSE_MEDIA_TYPE, headers=headers)
        headers["Repr-Digest"] = _repr_digest(bytes.fromhex(meta.sha256))
        headers["Content-Length"] = str(meta.size)
        return Stream(
            stream_plaintext(state.db.read_sessions, download),
            media_type=meta.media_type,
            headers=headers,
        )

    @post(
        "/consent-requests",
        operation_id="connectPushConsentRequest",
        summary="Ask a citizen this client knows by pairwise subject; lands in their inbox",
        status_code=201,
        responses=problem_responses(400, 401, 403, 404, 422, 429),
    )
    async def push(
        self, request: Request[Any, Any, Any], state: State, data: JSONBody[ConsentRequestIn]
    ) -> ConnectGrant:
        async with authenticated(request, state) as unit:
            unit.client_level("pushing consent requests")
            now = utcnow()
            grant, grant_state = await push_request(
                unit.session,
                client_id=unit.caller.client_id,
                subject=data.subject,
                authorization_details=msgspec.json.encode(data.authorization_details).decode(),
                now=now,
            )
            return connect_grant(grant.id, grant_state, now, pushed=True, subject=data.subject)

    @get(
        "/events",
        operation_id="connectListEvents",
        summary="This client's events after a cursor (grant approved, narrowed, revoked, expired…)",
        responses=problem_responses(400, 401, 403, 429),
    )
    async def events(
        self,
        request: Request[Any, Any, Any],
        state: State,
        cursor: Annotated[int, QueryParameter(ge=0, le=2**62)] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> EventPage:
        async with authenticated(request, state) as unit:
            if unit.caller.grant_id is not None:  # a grant's token: only while it is live
                await live_grant(unit.read(unit.caller.grant_id))
            page = await feed(unit.session, unit.caller.client_id, after=cursor, limit=limit)
            await unit.session.commit()
        return EventPage(
            events=[
                EventOut(
                    id=row.id,
                    seq=row.seq,
                    type=row.type,
                    grant_id=row.grant_id,
                    occurred_at=row.occurred_at,
                    data=row.data,
                )
                for row in page.events
            ],
            next_cursor=page.next_cursor,
            more=page.more,
        )


def _repr_digest(sha256: bytes) -> str:
    return f"sha-256=:{base64.b64encode(sha256).decode('ascii')}:"
