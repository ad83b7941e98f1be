"""The auditor's pages: search the access log, open an entry with its proof, download
the results as CSV, see the current checkpoint and check the log against an older one.

Searches are POST forms so a citizen's id never lands in a URL, a browser history or
an access log; every search and download is itself recorded in the log.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Stream

from pds.audit import proofs, search
from pds.audit.lookup import check_consistency, entry_for, proven_entry
from pds.audit.schemas import csv_chunks
from pds.audit.sequencer import log_origin
from pds.dashboard.audit_filters import ACTION_CHOICES, OUTCOME_CHOICES, SearchForm, read_search
from pds.dashboard.deps import AuditorViewer
from pds.dashboard.forms import text
from pds.dashboard.log_views import b64, client_names, log_line
from pds.dashboard.pages import FieldError, page
from pds.dashboard.security import checked_form
from pds.errors import InvalidInput, NotFound
from pds.web.deps import AppSettings, DbSession

PAGE_SIZE = 50


def _search_page(
    auditor: Any, form: SearchForm, *, results: Any = None, status: int = 200
) -> Response[Any]:
    return page(
        "audit_search.html",
        title="Search the access log",
        viewer=auditor,
        section="audit",
        status=status,
        errors=form.errors,
        values=form.values,
        actions=ACTION_CHOICES,
        outcomes=OUTCOME_CHOICES,
        results=results,
        hidden=form.hidden(),
    )


@get("/audit", operation_id="dashboardAuditSearchPage", include_in_schema=False)
async def search_page(auditor: AuditorViewer) -> Response[Any]:
    return _search_page(auditor, SearchForm())


@post("/audit", operation_id="dashboardAuditSearch", include_in_schema=False)
async def run_search(
    request: Request[Any, Any, Any], auditor: AuditorViewer, db_session: DbSession
) -> Response[Any]:
    form = await checked_form(request, auditor)
    found = read_search(form)
    if found.errors:
        return _search_page(auditor, found, status=400)
    try:
        results = await search.auditor_search(
            db_session,
            auditor.account.id,
            found.filters,
            cursor=text(form, "cursor") or None,
            limit=PAGE_SIZE,
        )
    except InvalidInput as exc:
        found.errors.append(FieldError("citizen", exc.detail))
        return _search_page(auditor, found, status=400)
    return _search_page(auditor, found, results=results)


@post(
    "/audit/export",
    operation_id="dashboardAuditExport",
    include_in_schema=False,
    status_code=200,
)
async def export_csv(
    request: Request[Any, Any, Any], auditor: AuditorViewer, db_session: DbSession, state: State
) -> Response[Any]:
    form = await checked_form(request, auditor)
    found = read_search(form)
    if found.errors:
        return _search_page(auditor, found, status=400)
    upto = await search.start_export(
        db_session, auditor.account.id, found.filters, export_format="csv"
    )
    rows = search.iter_entries(state.db.read_sessions, found.filters, upto=upto)
    return Stream(
        csv_chunks(rows),
        media_type="text/csv",
        headers={"content-disposition": 'attachment; filename="audit-entries.csv"'},
    )


@get("/audit/entries/{entry_id:uuid}", operation_id="dashboardAuditEntry", include_in_schema=False)
async def audit_entry(
    entry_id: FromPath[uuid.UUID], auditor: AuditorViewer, db_session: DbSession
) -> Response[Any]:
    entry = await entry_for(db_session, entry_id)
    proven = await proven_entry(db_session, entry)
    extra = [
        ("Entry id", str(entry.id)),
        ("Actor", f"{entry.actor} {entry.actor_id or ''}".strip()),
        ("Citizen", str(entry.citizen_id or "Not recorded")),
        ("Client", entry.client_id or "Not recorded"),
        ("Grant", str(entry.grant_id or "Not recorded")),
        ("Resource", entry.resource or "Not recorded"),
    ]
    return page(
        "proof.html",
        title="Access log entry",
        viewer=auditor,
        section="audit",
        line=log_line(entry, auditor.account.id, await client_names(db_session, [entry])),
        proven=proven,
        b64=b64,
        extra_rows=extra,
        back="/dashboard/audit",
    )


@get("/audit/checkpoint", operation_id="dashboardAuditCheckpoint", include_in_schema=False)
async def checkpoint_page(auditor: AuditorViewer, db_session: DbSession) -> Response[Any]:
    return await _checkpoint(auditor, db_session)


async def _checkpoint(
    auditor: Any,
    db_session: DbSession,
    *,
    errors: list[FieldError] | None = None,
    pasted: str = "",
    result: Any = None,
) -> Response[Any]:
    try:
        latest = await proofs.latest_checkpoint(db_session)
    except NotFound:
        latest = None
    return page(
        "audit_checkpoint.html",
        title="The log's checkpoint",
        viewer=auditor,
        section="checkpoint",
        status=400 if errors else 200,
        errors=errors or [],
        latest=latest,
        b64=b64,
        pasted=pasted,
        result=result,
    )


@post("/audit/checkpoint", operation_id="dashboardAuditConsistency", include_in_schema=False)
async def check(
    request: Request[Any, Any, Any],
    auditor: AuditorViewer,
    db_session: DbSession,
    settings: AppSettings,
) -> Response[Any]:
    form = await checked_form(request, auditor)
    pasted = text(form, "checkpoint", strip=False)
    if not pasted.strip():
        errors = [FieldError("checkpoint", "Paste a checkpoint you kept earlier")]
        return await _checkpoint(auditor, db_session, errors=errors)
    try:
        result = await check_consistency(db_session, pasted, log_origin(settings.base_url))
    except InvalidInput as exc:
        errors = [FieldError("checkpoint", exc.detail)]
        return await _checkpoint(auditor, db_session, errors=errors, pasted=pasted)
    except NotFound:
        errors = [FieldError("checkpoint", "The log has no checkpoint yet. Try again later")]
        return await _checkpoint(auditor, db_session, errors=errors, pasted=pasted)
    return await _checkpoint(auditor, db_session, pasted=pasted, result=result)


HANDLERS = [search_page, run_search, export_csv, audit_entry, checkpoint_page, check]
