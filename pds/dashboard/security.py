"""Who is looking at a dashboard page, and whether a submitted form came from us.

Pages are for signed-in people; a request without a live session is sent to the
sign-in page rather than answered 401, because a browser cannot do anything with a
401. Each form's ``csrf_token`` is checked before anything in it is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from consent.keys import server_keys
from pds.accounts.models import Account  # noqa: TC001 - Litestar reads Viewer's fields at run time
from pds.accounts.service import Role, SessionInvalid, resolve_session
from pds.web.csrf import (
    CSRF_COOKIE,
    FIELD,
    browser_binding,
    form_token,
    new_browser_cookie,
    token_matches,
)
from pds.web.deps import SESSION_COOKIE, released_on_refusal

if TYPE_CHECKING:
    from litestar import Request
    from litestar.datastructures import Cookie, FormMultiDict
    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.keys.provider import KeyProvider

SIGNED_IN_FORMS: Final = "dashboard"
SIGN_IN_FORMS: Final = "sign-in"  # also the /oauth/authorize sign-in form's purpose
SIGN_IN_PATH: Final = "/dashboard/sign-in"
CITIZEN_HOME: Final = "/dashboard"
AUDITOR_HOME: Final = "/dashboard/audit"


class SignInNeeded(Exception):
    """No live session: the page answers with a redirect to sign in."""


class WrongPlace(Exception):
    """A signed-in account asked for the other role's pages: send it to its own home."""

    def __init__(self, home: str) -> None:
        super().__init__(home)
        self.home = home


class FormExpired(Exception):
    """The form's token is missing or not this browser's: nothing in it is used."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in account and the token its forms must carry."""

    account: Account
    csrf_token: str

    @property
    def is_citizen(self) -> bool:
        return self.account.role == Role.CITIZEN.value


def home_for(account: Account) -> str:
    return AUDITOR_HOME if account.role == Role.AUDITOR.value else CITIZEN_HOME


async def csrf_secret(db_session: AsyncSession, keys: KeyProvider) -> bytes:
    return (await server_keys(db_session, keys)).csrf_secret


async def current_viewer(
    request: Request[Any, Any, Any], db_session: AsyncSession, keys: KeyProvider
) -> Viewer:
    """The viewer behind the session cookie, or ``SignInNeeded``."""
    token = request.cookies.get(SESSION_COOKIE)
    async with released_on_refusal(db_session):
        try:
            account = await resolve_session(db_session, token)
        except SessionInvalid as exc:
            raise SignInNeeded from exc
        secret = await csrf_secret(db_session, keys)
    return Viewer(account, form_token(secret, SIGNED_IN_FORMS, str(token)))


async def optional_viewer(
    request: Request[Any, Any, Any], db_session: AsyncSession, keys: KeyProvider
) -> Viewer | None:
    """The viewer if signed in, else None (sign-in pages send signed-in people home)."""
    try:
        return await current_viewer(request, db_session, keys)
    except SignInNeeded:
        return None


def require(viewer: Viewer, role: Role) -> Viewer:
    if viewer.account.role != role.value:
        raise WrongPlace(home_for(viewer.account))
    return viewer


async def checked_form(request: Request[Any, Any, Any], viewer: Viewer) -> FormMultiDict:
    """The submitted form, once its token proves it came from this signed-in browser."""
    form = await request.form()
    if not token_matches(form.get(FIELD), viewer.csrf_token):
        raise FormExpired
    return form


async def sign_in_token(
    request: Request[Any, Any, Any], db_session: AsyncSession, keys: KeyProvider, *, secure: bool
) -> tuple[str, Cookie | None]:
    """The token for a form shown before sign-in, and the cookie to set if there is none."""
    binding = browser_binding(request.cookies.get(CSRF_COOKIE))
    cookie = None
    if binding is None:
        cookie = new_browser_cookie(secure=secure)
        binding = str(cookie.value)
    return form_token(await csrf_secret(db_session, keys), SIGN_IN_FORMS, binding), cookie


async def checked_sign_in_form(
    request: Request[Any, Any, Any], db_session: AsyncSession, keys: KeyProvider
) -> FormMultiDict:
    """A pre-sign-in form, once its token matches this browser's ``pds_csrf`` cookie."""
    form = await request.form()
    binding = browser_binding(request.cookies.get(CSRF_COOKIE))
    if binding is None:
        raise FormExpired
    expected = form_token(await csrf_secret(db_session, keys), SIGN_IN_FORMS, binding)
    if not token_matches(form.get(FIELD), expected):
        raise FormExpired
    return form
