"""The dashboard's request dependencies: the viewer, by role.

Litestar reads these signatures at run time, so their annotations are real imports.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from litestar import Request
from litestar.di import NamedDependency, Provide

from pds.accounts.service import Role
from pds.dashboard.security import Viewer, current_viewer, require
from pds.web.deps import DbSession, Keys, released_on_refusal

AnyViewer: TypeAlias = NamedDependency[Viewer]
CitizenViewer: TypeAlias = NamedDependency[Viewer]
AuditorViewer: TypeAlias = NamedDependency[Viewer]


async def provide_viewer(
    request: Request[Any, Any, Any], db_session: DbSession, keys: Keys
) -> Viewer:
    return await current_viewer(request, db_session, keys)


async def provide_citizen_viewer(viewer: AnyViewer, db_session: DbSession) -> Viewer:
    async with released_on_refusal(db_session):
        return require(viewer, Role.CITIZEN)


async def provide_auditor_viewer(viewer: AnyViewer, db_session: DbSession) -> Viewer:
    async with released_on_refusal(db_session):
        return require(viewer, Role.AUDITOR)


DEPENDENCIES = {
    "viewer": Provide(provide_viewer),
    "me": Provide(provide_citizen_viewer),
    "auditor": Provide(provide_auditor_viewer),
}
