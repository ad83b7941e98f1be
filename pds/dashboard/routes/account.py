"""Your account: download everything, or delete the account (with the password again)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Stream

from pds.accounts.routes import session_cookie
from pds.dashboard.deps import CitizenViewer
from pds.dashboard.forms import text
from pds.dashboard.pages import FieldError, page
from pds.dashboard.reauth import reauthenticate
from pds.dashboard.security import checked_form
from pds.vault import lifecycle
from pds.vault.routes import EXPORT_CHUNK
from pds.web.deps import AppSettings, DbSession, Keys, Policy

SECTION = "account"


@get("/account", operation_id="dashboardAccount", include_in_schema=False)
async def account(me: CitizenViewer) -> Response[Any]:
    return page("account.html", title="Your account", viewer=me, section=SECTION)


@get("/account/download", operation_id="dashboardExport", include_in_schema=False)
async def download_all(me: CitizenViewer, db_session: DbSession, keys: Keys) -> Stream:
    """The same archive as the API's export (and audited the same way)."""
    archive = await lifecycle.export_archive(db_session, keys, me.account)

    async def chunks() -> Any:
        try:
            while block := archive.read(EXPORT_CHUNK):
                yield block
        finally:
            archive.close()

    return Stream(
        chunks(),
        media_type="application/zip",
        headers={"content-disposition": 'attachment; filename="pds-export.zip"'},
    )


@get("/account/delete", operation_id="dashboardDeleteAccountPage", include_in_schema=False)
async def delete_page(me: CitizenViewer) -> Response[Any]:
    return page("account_delete.html", title="Delete your account", viewer=me, section=SECTION)


@post("/account/delete", operation_id="dashboardDeleteAccount", include_in_schema=False)
async def delete_account(
    request: Request[Any, Any, Any],
    me: CitizenViewer,
    db_session: DbSession,
    policy: Policy,
    settings: AppSettings,
) -> Response[Any]:
    form = await checked_form(request, me)
    problems = []
    if text(form, "understood") != "yes":
        problems.append(
            ("understood", "Tick the box to confirm you understand that this cannot be undone")
        )
    error = await reauthenticate(
        request, db_session, me.account, text(form, "password", strip=False), policy
    )
    if error or problems:
        errors = [FieldError(field, message) for field, message in problems]
        errors += [error] if error else []
        return page(
            "account_delete.html",
            title="Delete your account",
            viewer=me,
            section=SECTION,
            status=400,
            errors=errors,
            understood=text(form, "understood") == "yes",
        )
    await lifecycle.erase_account(db_session, me.account)
    return page(
        "account_deleted.html",
        title="Your account has been deleted",
        cookies=[session_cookie(settings, "", 0)],
    )


HANDLERS = [account, download_all, delete_page, delete_account]
