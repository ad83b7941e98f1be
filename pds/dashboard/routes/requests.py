"""Requests services pushed: what is waiting, the request as the consent page words it,
and the citizen's answer (recorded exactly as on the consent page, by ``consent.inbox``)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Final

from litestar import Request, Response, get, post
from litestar.params import FromPath

from consent.grants import InvalidNarrowing
from consent.inbox import AlreadyAnswered, answer
from consent.keys import server_keys
from pds.dashboard.deps import CitizenViewer
from pds.dashboard.grant_views import RequestCard, request_card, request_cards
from pds.dashboard.pages import FieldError, page, see_other
from pds.dashboard.security import checked_form
from pds.db import utcnow
from pds.web.deps import AppSettings, DbSession, Keys

if TYPE_CHECKING:
    from collections.abc import Collection

    from litestar.datastructures import FormMultiDict

    from pds.dashboard.security import Viewer

SECTION: Final = "requests"
DECISIONS: Final = frozenset({"approve", "refuse"})
CHOOSE: Final = FieldError(
    "decision", "Choose “Yes, share this information” or “No, do not share”."
)
TICK_ONE: Final = FieldError(
    "items", "Tick at least one item to share, or choose “No, do not share”."
)


@get("/requests", operation_id="dashboardRequests", include_in_schema=False)
async def requests(
    request: Request[Any, Any, Any], me: CitizenViewer, db_session: DbSession
) -> Response[Any]:
    return page(
        "requests.html",
        title="Requests waiting for your answer",
        viewer=me,
        section=SECTION,
        cards=await request_cards(db_session, me.account.id),
        refused=request.query_params.get("refused") == "1",
    )


@get("/requests/{grant_id:uuid}", operation_id="dashboardRequest", include_in_schema=False)
async def request_detail(
    grant_id: FromPath[uuid.UUID], me: CitizenViewer, db_session: DbSession
) -> Response[Any]:
    try:
        card = await request_card(db_session, me.account.id, grant_id)
    except AlreadyAnswered:
        return _answered(me)
    return _request_page(me, card)


@post("/requests/{grant_id:uuid}", operation_id="dashboardRequestAnswer", include_in_schema=False)
async def answer_request(
    *,
    request: Request[Any, Any, Any],
    grant_id: FromPath[uuid.UUID],
    me: CitizenViewer,
    db_session: DbSession,
    keys: Keys,
    settings: AppSettings,
) -> Response[Any]:
    form = await checked_form(request, me)
    try:
        card = await request_card(db_session, me.account.id, grant_id)
    except AlreadyAnswered:
        return _answered(me)
    ticked = _ticked(form)
    decision = form.get("decision")
    if decision not in DECISIONS:
        return _request_page(me, card, ticked=ticked, error=CHOOSE)
    approve = decision == "approve"
    try:
        await answer(
            db_session,
            await server_keys(db_session, keys),
            citizen_id=me.account.id,
            grant_id=grant_id,
            approve=approve,
            declined=tuple(sorted(card.optional - ticked)) if approve else (),
            issuer=settings.base_url,
            now=utcnow(),
        )
    except InvalidNarrowing:  # refused before anything was written
        return _request_page(me, card, ticked=ticked, error=TICK_ONE)
    except AlreadyAnswered:  # answered in another tab meanwhile; nothing written
        return _answered(me)
    if approve:
        return see_other(f"/dashboard/services?shared={grant_id}")
    return see_other("/dashboard/requests?refused=1")


def _request_page(
    me: Viewer,
    card: RequestCard,
    *,
    ticked: Collection[int] = (),
    error: FieldError | None = None,
) -> Response[Any]:
    return page(
        "request.html",
        title=f"{card.screen.client_name} is asking to see some of your information",
        viewer=me,
        section=SECTION,
        status=422 if error else 200,
        errors=[error] if error else [],
        card=card,
        s=card.screen,
        ticked=frozenset(ticked),
    )


def _answered(me: Viewer) -> Response[Any]:
    return page(
        "problem.html",
        title="You have already answered this request",
        viewer=me,
        section=SECTION,
        status=409,
        heading="You have already answered this request",
        message="Your answer has been recorded and cannot be changed here. "
        "To stop a service seeing your data, go to “Services with access”.",
    )


def _ticked(form: FormMultiDict) -> frozenset[int]:
    """The optional items left ticked; anything that is not a small index is ignored."""
    values = form.getall("items") if "items" in form else []
    return frozenset(
        int(value)
        for value in values
        if isinstance(value, str) and value.isdigit() and len(value) < 4
    )


HANDLERS = [requests, request_detail, answer_request]
