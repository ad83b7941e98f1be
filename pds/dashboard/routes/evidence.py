"""Your evidence: list, add (with a document), look at, change (a new version), delete."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath

from pds.dashboard.deps import CitizenViewer
from pds.dashboard.evidence_forms import (
    Parsed,
    describe_claims,
    form_fields,
    read_claims,
    values_from_claims,
    vault_error,
)
from pds.dashboard.forms import text
from pds.dashboard.labels import category_label, type_label
from pds.dashboard.pages import FieldError, page, see_other
from pds.dashboard.security import Viewer, checked_form
from pds.dashboard.uploads import MAX_FORM_BYTES, Upload, read_upload
from pds.errors import InvalidInput
from pds.vault import documents, service
from pds.vault.evidence_types import EVIDENCE_TYPES, ClaimsInvalid, get_evidence_type
from pds.web.deps import DbSession, Keys

SECTION = "evidence"


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def category_choices(evidence_type: str) -> list[tuple[str, str]]:
    return [(c.value, c.label) for c in get_evidence_type(evidence_type).categories]


@get("/evidence", operation_id="dashboardEvidence", include_in_schema=False)
async def evidence_list(
    request: Request[Any, Any, Any], me: CitizenViewer, db_session: DbSession
) -> Response[Any]:
    items = await service.list_evidence(db_session, me.account.id)
    return page(
        "evidence_list.html",
        title="Your evidence",
        viewer=me,
        section=SECTION,
        items=items,
        type_label=type_label,
        deleted=request.query_params.get("deleted") == "1",
    )


@get("/evidence/add", operation_id="dashboardEvidenceChoose", include_in_schema=False)
async def choose_type(request: Request[Any, Any, Any], me: CitizenViewer) -> Response[Any]:
    """Step one, a GET form: which kind of evidence. Step two is the form for that kind."""
    chosen = request.query_params.get("type")
    if chosen is not None and chosen in EVIDENCE_TYPES:
        return _evidence_form(me, chosen, action="/dashboard/evidence/add")
    errors = []
    if chosen is not None:
        errors.append(FieldError("type", "Choose the kind of evidence you want to add"))
    return page(
        "evidence_choose.html",
        title="What kind of evidence do you want to add?",
        viewer=me,
        section=SECTION,
        status=400 if errors else 200,
        errors=errors,
        choices=[(key, kind.label) for key, kind in EVIDENCE_TYPES.items()],
    )


def _evidence_form(
    me: Viewer,
    evidence_type: str,
    *,
    action: str,
    item_id: uuid.UUID | None = None,
    values: dict[str, Any] | None = None,
    category: str | None = None,
    errors: list[FieldError] | None = None,
) -> Response[Any]:
    kind = get_evidence_type(evidence_type)
    verb = "Change" if item_id else "Add"
    return page(
        "evidence_form.html",
        title=f"{verb} your {kind.label.lower()}"
        if verb == "Change"
        else f"Add a {kind.label.lower()}",
        viewer=me,
        section=SECTION,
        status=400 if errors else 200,
        errors=errors or [],
        kind=kind,
        item_id=item_id,
        action=action,
        fields=form_fields(evidence_type),
        values=values or {},
        category=category or kind.default_category.value,
        categories=category_choices(evidence_type),
        intro=kind.schema.__doc__ or "",
    )


async def _read(
    form: FormMultiDict, evidence_type: str
) -> tuple[Parsed, str | None, Upload | None]:
    parsed = read_claims(evidence_type, form)
    category = text(form, "category") or None
    if category is not None and category not in dict(category_choices(evidence_type)):
        parsed.errors.append(FieldError("category", "Choose where to file it from the list"))
    upload = await read_upload(form, required=False)
    if isinstance(upload, FieldError):
        parsed.errors.append(upload)
        upload = None
    return parsed, category, upload


@post(
    "/evidence/add",
    operation_id="dashboardEvidenceAdd",
    include_in_schema=False,
    request_max_body_size=MAX_FORM_BYTES,
)
async def add_evidence(
    request: Request[Any, Any, Any], me: CitizenViewer, db_session: DbSession, keys: Keys
) -> Response[Any]:
    form = await checked_form(request, me)
    evidence_type = text(form, "type")
    if evidence_type not in EVIDENCE_TYPES:
        return see_other("/dashboard/evidence/add")
    parsed, category, upload = await _read(form, evidence_type)
    if not parsed.errors:
        try:
            view = await service.create_evidence(
                db_session,
                keys,
                me.account.id,
                evidence_type=evidence_type,
                category=category,
                claims=parsed.claims,
                today=today(),
            )
        except InvalidInput as exc:
            parsed.errors.append(_vault_error(evidence_type, exc))
        else:
            await _attach(db_session, keys, me, view.summary.id, upload)
            return see_other(f"/dashboard/evidence/{view.summary.id}?saved=added")
    return _evidence_form(
        me,
        evidence_type,
        action="/dashboard/evidence/add",
        values=parsed.values,
        category=category,
        errors=parsed.errors,
    )


def _vault_error(evidence_type: str, exc: InvalidInput) -> FieldError:
    path = exc.field if isinstance(exc, ClaimsInvalid) else exc.extra.get("field")
    return vault_error(evidence_type, path, exc.detail)


async def _attach(
    db_session: DbSession, keys: Keys, me: Viewer, item_id: uuid.UUID, upload: Upload | None
) -> None:
    if upload is None:
        return
    await documents.add_document(
        db_session,
        keys,
        me.account.id,
        item_id,
        data=upload.data,
        filename=upload.filename,
        declared_type=upload.content_type,
    )


_SAVED = {
    "added": "Your evidence has been added",
    "changed": "Your evidence has been changed. The earlier version is kept in its history",
    "document": "Your document has been added",
}


@get("/evidence/{item_id:uuid}", operation_id="dashboardEvidenceItem", include_in_schema=False)
async def evidence_item(
    request: Request[Any, Any, Any],
    item_id: FromPath[uuid.UUID],
    me: CitizenViewer,
    db_session: DbSession,
    keys: Keys,
) -> Response[Any]:
    view = await service.read_evidence(db_session, keys, me.account.id, item_id)
    kind = view.summary.evidence_type
    return page(
        "evidence_item.html",
        title=type_label(kind),
        viewer=me,
        section=SECTION,
        view=view,
        label=type_label(kind),
        category=category_label(view.summary.category),
        rows=describe_claims(kind, view.current.claims),
        saved=_SAVED.get(request.query_params.get("saved", "")),
    )


@get(
    "/evidence/{item_id:uuid}/change",
    operation_id="dashboardEvidenceChangePage",
    include_in_schema=False,
)
async def change_page(
    item_id: FromPath[uuid.UUID], me: CitizenViewer, db_session: DbSession, keys: Keys
) -> Response[Any]:
    view = await service.read_evidence(db_session, keys, me.account.id, item_id)
    kind = view.summary.evidence_type
    return _evidence_form(
        me,
        kind,
        action=f"/dashboard/evidence/{item_id}/change",
        item_id=item_id,
        values=values_from_claims(kind, view.current.claims),
        category=view.summary.category,
    )


@post(
    "/evidence/{item_id:uuid}/change",
    operation_id="dashboardEvidenceChange",
    include_in_schema=False,
    request_max_body_size=MAX_FORM_BYTES,
)
async def change_evidence(
    request: Request[Any, Any, Any],
    item_id: FromPath[uuid.UUID],
    me: CitizenViewer,
    db_session: DbSession,
    keys: Keys,
) -> Response[Any]:
    form = await checked_form(request, me)
    item = await service.owned_item(db_session, me.account.id, item_id)
    kind = item.evidence_type
    parsed, category, upload = await _read(form, kind)
    if not parsed.errors:
        try:
            await service.update_evidence(
                db_session,
                keys,
                me.account.id,
                item_id,
                claims=parsed.claims,
                category=category,
                today=today(),
            )
        except InvalidInput as exc:
            parsed.errors.append(_vault_error(kind, exc))
        else:
            await _attach(db_session, keys, me, item_id, upload)
            return see_other(f"/dashboard/evidence/{item_id}?saved=changed")
    return _evidence_form(
        me,
        kind,
        action=f"/dashboard/evidence/{item_id}/change",
        item_id=item_id,
        values=parsed.values,
        category=category,
        errors=parsed.errors,
    )


@get(
    "/evidence/{item_id:uuid}/history",
    operation_id="dashboardEvidenceHistory",
    include_in_schema=False,
)
async def history(
    item_id: FromPath[uuid.UUID], me: CitizenViewer, db_session: DbSession, keys: Keys
) -> Response[Any]:
    item = await service.owned_item(db_session, me.account.id, item_id)
    versions = await service.list_versions(db_session, keys, me.account.id, item_id)
    kind = item.evidence_type
    return page(
        "evidence_history.html",
        title=f"Earlier versions of your {type_label(kind).lower()}",
        viewer=me,
        section=SECTION,
        item_id=item_id,
        label=type_label(kind),
        versions=[(v, describe_claims(kind, v.claims)) for v in versions],
    )


@get(
    "/evidence/{item_id:uuid}/delete",
    operation_id="dashboardEvidenceDeletePage",
    include_in_schema=False,
)
async def delete_page(
    item_id: FromPath[uuid.UUID], me: CitizenViewer, db_session: DbSession
) -> Response[Any]:
    item = await service.owned_item(db_session, me.account.id, item_id)
    label = type_label(item.evidence_type)
    return page(
        "evidence_delete.html",
        title=f"Are you sure you want to delete your {label.lower()}?",
        viewer=me,
        section=SECTION,
        item_id=item_id,
        label=label,
    )


@post(
    "/evidence/{item_id:uuid}/delete",
    operation_id="dashboardEvidenceDelete",
    include_in_schema=False,
)
async def delete_evidence(
    request: Request[Any, Any, Any],
    item_id: FromPath[uuid.UUID],
    me: CitizenViewer,
    db_session: DbSession,
) -> Response[Any]:
    await checked_form(request, me)
    await service.delete_evidence(db_session, me.account.id, item_id)
    return see_other("/dashboard/evidence?deleted=1")


HANDLERS = [
    evidence_list,
    choose_type,
    add_evidence,
    evidence_item,
    change_page,
    change_evidence,
    history,
    delete_page,
    delete_evidence,
]
