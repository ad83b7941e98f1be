"""Where the PDS cannot help: sign-posting to the services that can (public, no sign-in)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from pds.dashboard.pages import page


@get("/help", operation_id="dashboardHelp", include_in_schema=False)
async def help_page() -> Response[Any]:
    return page("help.html", title="Help and other services")


HANDLERS = [help_page]
