"""The citizen's home: what the vault holds, who can see it, what happened lately."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from pds.audit import search
from pds.dashboard.deps import CitizenViewer
from pds.dashboard.grant_views import grant_cards, waiting_count
from pds.dashboard.labels import type_label
from pds.dashboard.log_views import client_names, log_line
from pds.dashboard.pages import page
from pds.db import utcnow
from pds.vault import service
from pds.web.deps import DbSession

RECENT = 5


@get("/", operation_id="dashboardHome", include_in_schema=False)
async def home(me: CitizenViewer, db_session: DbSession) -> Response[Any]:
    items = await service.list_evidence(db_session, me.account.id)
    active = [c for c in await grant_cards(db_session, me.account.id, utcnow()) if c.active]
    recent = await search.search_page(
        db_session, search.EntryFilter(citizen_id=me.account.id), limit=RECENT, newest_first=True
    )
    names = await client_names(db_session, recent.entries)
    return page(
        "home.html",
        title="Your personal data store",
        viewer=me,
        section="home",
        items=items,
        type_label=type_label,
        active=active,
        waiting=await waiting_count(db_session, me.account.id),
        lines=[log_line(entry, me.account.id, names) for entry in recent.entries],
    )


HANDLERS = [home]
