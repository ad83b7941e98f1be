"""Documents on a piece of evidence: add one more, download one."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Stream

from pds.dashboard.deps import CitizenViewer
from pds.dashboard.evidence_forms import describe_claims
from pds.dashboard.labels import category_label, type_label
from pds.dashboard.pages import FieldError, page, see_other
from pds.dashboard.security import checked_form
from pds.dashboard.uploads import MAX_FORM_BYTES, read_upload
from pds.vault import documents, service
from pds.vault.routes import content_disposition
from pds.web.deps import DbSession, Keys


@post(
    "/evidence/{item_id:uuid}/documents",
    operation_id="dashboardDocumentUpload",
    include_in_schema=False,
    request_max_body_size=MAX_FORM_BYTES,
)
async def upload(
    request: Request[Any, Any, Any],
    item_id: FromPath[uuid.UUID],
    me: CitizenViewer,
    db_session: DbSession,
    keys: Keys,
) -> Response[Any]:
    form = await checked_form(request, me)
    chosen = await read_upload(form, required=True)
    if isinstance(chosen, FieldError) or chosen is None:
        view = await service.read_evidence(db_session, keys, me.account.id, item_id)
        label = type_label(view.summary.evidence_type)
        return page(
            "evidence_item.html",
            title=label,
            viewer=me,
            section="evidence",
            status=400,
            errors=[chosen or FieldError("document", "Select a file")],
            view=view,
            label=label,
            category=category_label(view.summary.category),
            rows=describe_claims(view.summary.evidence_type, view.current.claims),
            saved=None,
        )
    await documents.add_document(
        db_session,
        keys,
        me.account.id,
        item_id,
        data=chosen.data,
        filename=chosen.filename,
        declared_type=chosen.content_type,
    )
    return see_other(f"/dashboard/evidence/{item_id}?saved=document")


@get(
    "/evidence/{item_id:uuid}/documents/{document_id:uuid}",
    operation_id="dashboardDocumentDownload",
    include_in_schema=False,
)
async def download(
    *,
    item_id: FromPath[uuid.UUID],
    document_id: FromPath[uuid.UUID],
    me: CitizenViewer,
    db_session: DbSession,
    keys: Keys,
    state: State,
) -> Stream:
    started = await documents.start_download(db_session, keys, me.account.id, item_id, document_id)
    meta = started.meta
    return Stream(
        documents.stream_plaintext(state.db.read_sessions, started),
        media_type=meta.media_type,
        headers={
            "content-length": str(meta.size),
            "content-disposition": content_disposition(meta.filename),
        },
    )


HANDLERS = [upload, download]
