"""Rendering a dashboard page: the template, the menu for the viewer, no caching.

Pages about a person's data must not sit in a shared cache or the browser's history
cache, so every page is ``no-store``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from litestar.enums import MediaType
from litestar.response import Redirect, Template

if TYPE_CHECKING:
    from collections.abc import Sequence

    from litestar.datastructures import Cookie

    from pds.dashboard.security import Viewer


@dataclass(frozen=True, slots=True)
class NavItem:
    href: str
    text: str
    current: bool = False


CITIZEN_MENU: Final = (
    ("home", "/dashboard", "Home"),
    ("evidence", "/dashboard/evidence", "Your evidence"),
    ("credentials", "/dashboard/credentials", "Your credentials"),
    ("services", "/dashboard/services", "Services with access"),
    ("requests", "/dashboard/requests", "Requests"),
    ("activity", "/dashboard/activity", "Activity"),
    ("account", "/dashboard/account", "Your account"),
    ("sign-out", "/dashboard/sign-out", "Sign out"),
)
AUDITOR_MENU: Final = (
    ("audit", "/dashboard/audit", "Search the access log"),
    ("checkpoint", "/dashboard/audit/checkpoint", "Checkpoint"),
    ("sign-out", "/dashboard/sign-out", "Sign out"),
)


def menu(viewer: Viewer | None, section: str | None) -> list[NavItem]:
    if viewer is None:
        return []
    entries = CITIZEN_MENU if viewer.is_citizen else AUDITOR_MENU
    return [NavItem(href, text, key == section) for key, href, text in entries]


@dataclass(frozen=True, slots=True)
class FieldError:
    """One entry of the GOV.UK error summary: the field's id and how to fix it."""

    field: str
    message: str


def page(
    template: str,
    *,
    title: str,
    viewer: Viewer | None = None,
    section: str | None = None,
    status: int = 200,
    errors: Sequence[FieldError] = (),
    cookies: Sequence[Cookie] = (),
    **context: Any,
) -> Template:
    """A dashboard page; ``errors`` fill the error summary and each field's message."""
    return Template(
        template_name=f"dashboard/{template}",
        context={
            "title": title,
            "viewer": viewer,
            "csrf_token": viewer.csrf_token if viewer else context.pop("csrf_token", ""),
            "nav": menu(viewer, section),
            "error_summary": list(errors) or None,
            "field_errors": {error.field: error.message for error in errors},
            **context,
        },
        status_code=status,
        media_type=MediaType.HTML,
        headers={"Cache-Control": "no-store"},
        cookies=list(cookies),
    )


def see_other(path: str, cookies: Sequence[Cookie] = ()) -> Redirect:
    """After a form that changed something: a GET of the result (post/redirect/get)."""
    return Redirect(path, status_code=303, cookies=list(cookies))
