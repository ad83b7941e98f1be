"""The dashboard's routes, one module per area, under one router at /dashboard.

The router carries the dashboard's own dependencies (the viewer by role) and its own
error pages, so nothing here changes how the JSON API answers.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Router

from pds.dashboard.deps import DEPENDENCIES
from pds.dashboard.errors import EXCEPTION_HANDLERS
from pds.dashboard.routes import (
    account,
    activity,
    auditor,
    credentials,
    documents,
    evidence,
    home,
    requests,
    services,
    session,
    signposts,
)

TEMPLATES = Path(__file__).parent.parent / "templates"


def dashboard_router() -> Router:
    return Router(
        path="/dashboard",
        route_handlers=[
            *session.HANDLERS,
            *home.HANDLERS,
            *signposts.HANDLERS,
            *evidence.HANDLERS,
            *documents.HANDLERS,
            *services.HANDLERS,
            *requests.HANDLERS,
            *credentials.HANDLERS,
            *activity.HANDLERS,
            *account.HANDLERS,
            *auditor.HANDLERS,
        ],
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        include_in_schema=False,
        tags=["dashboard"],
    )
