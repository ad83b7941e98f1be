"""Services with access: what each can see, since and until when; stop one, or all."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath

from consent.keys import server_keys
from consent.receipting import latest_receipt
from consent.revocation import revoke_by_citizen
from consent.service import GrantNotFound
from pds.dashboard.deps import CitizenViewer
from pds.dashboard.forms import text
from pds.dashboard.grant_views import grant_card, grant_cards, waiting_count
from pds.dashboard.pages import page, see_other
from pds.dashboard.reauth import reauthenticate
from pds.dashboard.security import checked_form
from pds.db import utcnow
from pds.web.deps import AppSettings, DbSession, Keys, Policy

SECTION = "services"
RECEIPT_MEDIA_TYPE = "application/jose"


@get("/services", operation_id="dashboardServices", include_in_schema=False)
async def services(
    request: Request[Any, Any, Any], me: CitizenViewer, db_session: DbSession
) -> Response[Any]:
    cards = await grant_cards(db_session, me.account.id, utcnow())
    active = [card for card in cards if card.active]
    shared = request.query_params.get("shared")
    return page(
        "services.html",
        title="Services with access",
        viewer=me,
        section=SECTION,
        active=active,
        past=[card for card in cards if not card.active],
        stopped=request.query_params.get("stopped"),
        shared=next((card for card in active if str(card.id) == shared), None),
        waiting=await waiting_count(db_session, me.account.id),
    )


@get("/services/{grant_id:uuid}", operation_id="dashboardService", include_in_schema=False)
async def service_detail(
    grant_id: FromPath[uuid.UUID], me: CitizenViewer, db_session: DbSession
) -> Response[Any]:
    card = await grant_card(db_session, me.account.id, grant_id, utcnow())
    return page(
        "service.html", title=card.screen.client_name, viewer=me, section=SECTION, card=card
    )


@get(
    "/services/{grant_id:uuid}/stop",
    operation_id="dashboardServiceStopPage",
    include_in_schema=False,
)
async def stop_page(
    grant_id: FromPath[uuid.UUID], me: CitizenViewer, db_session: DbSession
) -> Response[Any]:
    card = await grant_card(db_session, me.account.id, grant_id, utcnow())
    if not card.active:
        return see_other(f"/dashboard/services/{grant_id}")
    return page(
        "service_stop.html",
        title=f"Stop sharing with {card.screen.client_name}?",
        viewer=me,
        section=SECTION,
        card=card,
    )


@post(
    "/services/{grant_id:uuid}/stop", operation_id="dashboardServiceStop", include_in_schema=False
)
async def stop(
    *,
    request: Request[Any, Any, Any],
    grant_id: FromPath[uuid.UUID],
    me: CitizenViewer,
    db_session: DbSession,
    keys: Keys,
    settings: AppSettings,
) -> Response[Any]:
    await checked_form(request, me)
    loaded = await server_keys(db_session, keys)
    await revoke_by_citizen(
        db_session,
        loaded,
        citizen_id=me.account.id,
        grant_id=grant_id,
        issuer=settings.base_url,
        now=utcnow(),
    )
    return see_other("/dashboard/services?stopped=1")


@get("/services/stop-all", operation_id="dashboardServicesStopAllPage", include_in_schema=False)
async def stop_all_page(me: CitizenViewer, db_session: DbSession) -> Response[Any]:
    cards = [c for c in await grant_cards(db_session, me.account.id, utcnow()) if c.active]
    return page(
        "services_stop_all.html",
        title="Stop sharing with every service",
        viewer=me,
        section=SECTION,
        active=cards,
    )


@post("/services/stop-all", operation_id="dashboardServicesStopAll", include_in_schema=False)
async def stop_all(
    *,
    request: Request[Any, Any, Any],
    me: CitizenViewer,
    db_session: DbSession,
    keys: Keys,
    policy: Policy,
    settings: AppSettings,
) -> Response[Any]:
    """Destructive for every service at once, so the password is asked for again."""
    form = await checked_form(request, me)
    password = text(form, "password", strip=False)
    error = await reauthenticate(request, db_session, me.account, password, policy)
    cards = [c for c in await grant_cards(db_session, me.account.id, utcnow()) if c.active]
    if error:
        return page(
            "services_stop_all.html",
            title="Stop sharing with every service",
            viewer=me,
            section=SECTION,
            status=400,
            errors=[error],
            active=cards,
        )
    loaded = await server_keys(db_session, keys)
    for card in cards:
        await revoke_by_citizen(
            db_session,
            loaded,
            citizen_id=me.account.id,
            grant_id=card.id,
            issuer=settings.base_url,
            now=utcnow(),
        )
    return see_other(f"/dashboard/services?stopped={len(cards)}")


@get(
    "/services/{grant_id:uuid}/receipt",
    operation_id="dashboardServiceReceipt",
    include_in_schema=False,
)
async def receipt(
    grant_id: FromPath[uuid.UUID], me: CitizenViewer, db_session: DbSession
) -> Response[bytes]:
    card = await grant_card(db_session, me.account.id, grant_id, utcnow())
    found = await latest_receipt(db_session, card.id)
    if found is None:
        raise GrantNotFound("This request has not been answered, so there is no receipt yet.")
    return Response(
        found.jws.encode("ascii"),
        media_type=RECEIPT_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="consent-receipt-{card.id}.jws"'},
    )


HANDLERS = [services, service_detail, stop_page, stop, stop_all_page, stop_all, receipt]
