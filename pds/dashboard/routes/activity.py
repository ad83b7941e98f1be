"""Activity: who did what with my data, when and why; each line can show its proof."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath

from pds.audit import search
from pds.audit.lookup import entry_for, proven_entry
from pds.dashboard.deps import CitizenViewer
from pds.dashboard.log_views import b64, client_names, log_line
from pds.dashboard.pages import page
from pds.errors import InvalidInput
from pds.web.deps import DbSession

SECTION = "activity"
PAGE_SIZE = 25


@get("/activity", operation_id="dashboardActivity", include_in_schema=False)
async def activity(
    request: Request[Any, Any, Any], me: CitizenViewer, db_session: DbSession
) -> Response[Any]:
    cursor = request.query_params.get("after")  # an opaque entry id, nothing personal
    try:
        found = await search.search_page(
            db_session,
            search.EntryFilter(citizen_id=me.account.id),
            cursor=cursor,
            limit=PAGE_SIZE,
            newest_first=True,
        )
    except InvalidInput:
        found = await search.search_page(
            db_session,
            search.EntryFilter(citizen_id=me.account.id),
            limit=PAGE_SIZE,
            newest_first=True,
        )
    names = await client_names(db_session, found.entries)
    return page(
        "activity.html",
        title="Activity",
        viewer=me,
        section=SECTION,
        lines=[log_line(entry, me.account.id, names) for entry in found.entries],
        next_cursor=found.next_cursor,
    )


@get("/activity/{entry_id:uuid}", operation_id="dashboardActivityEntry", include_in_schema=False)
async def activity_entry(
    entry_id: FromPath[uuid.UUID], me: CitizenViewer, db_session: DbSession
) -> Response[Any]:
    entry = await entry_for(db_session, entry_id, citizen_id=me.account.id)
    proven = await proven_entry(db_session, entry)
    return page(
        "proof.html",
        title="Check this entry is in the log",
        viewer=me,
        section=SECTION,
        line=log_line(entry, me.account.id, await client_names(db_session, [entry])),
        proven=proven,
        b64=b64,
        back="/dashboard/activity",
    )


HANDLERS = [activity, activity_entry]
