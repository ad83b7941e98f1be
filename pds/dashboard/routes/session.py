"""Sign up, sign in and sign out: the only dashboard pages open to anyone."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

from pds.accounts.routes import client_address, session_cookie
from pds.accounts.service import EmailTaken, Role, create_account, sign_in, sign_out
from pds.audit.entry import Actor
from pds.dashboard.deps import AnyViewer
from pds.dashboard.forms import text
from pds.dashboard.pages import FieldError, page, see_other
from pds.dashboard.security import (
    checked_form,
    checked_sign_in_form,
    home_for,
    optional_viewer,
    sign_in_token,
)
from pds.errors import InvalidInput, RateLimited, Unauthenticated
from pds.web.deps import SESSION_COOKIE, AppSettings, DbSession, Keys, Policy


async def _anonymous_page(
    *,
    request: Request[Any, Any, Any],
    db_session: DbSession,
    keys: Keys,
    settings: AppSettings,
    template: str,
    title: str,
    status: int = 200,
    errors: tuple[FieldError, ...] = (),
    **context: Any,
) -> Response[Any]:
    token, cookie = await sign_in_token(request, db_session, keys, secure=settings.secure_cookies)
    return page(
        template,
        title=title,
        status=status,
        errors=errors,
        csrf_token=token,
        cookies=[cookie] if cookie else [],
        **context,
    )


async def _entry_page(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    keys: Keys,
    settings: AppSettings,
    *,
    template: str,
    title: str,
) -> Response[Any]:
    """Sign-in or sign-up: someone already signed in goes to their home page instead."""
    viewer = await optional_viewer(request, db_session, keys)
    if viewer is not None:
        return see_other(home_for(viewer.account))
    return await _anonymous_page(
        request=request,
        db_session=db_session,
        keys=keys,
        settings=settings,
        template=template,
        title=title,
        email="",
    )


@get("/sign-in", operation_id="dashboardSignInPage", include_in_schema=False)
async def sign_in_page(
    request: Request[Any, Any, Any], db_session: DbSession, keys: Keys, settings: AppSettings
) -> Response[Any]:
    return await _entry_page(
        request, db_session, keys, settings, template="sign_in.html", title="Sign in"
    )


@post("/sign-in", operation_id="dashboardSignIn", include_in_schema=False)
async def sign_in_submit(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    keys: Keys,
    policy: Policy,
    settings: AppSettings,
) -> Response[Any]:
    form = await checked_sign_in_form(request, db_session, keys)
    email, password = text(form, "email"), text(form, "password", strip=False)
    errors = []
    status = 400
    if not email:
        errors.append(FieldError("email", "Enter your email address"))
    if not password:
        errors.append(FieldError("password", "Enter your password"))
    if not errors:
        try:
            signed_in = await sign_in(
                db_session,
                email=email,
                password=password,
                address=client_address(request),
                policy=policy,
            )
        except (Unauthenticated, RateLimited) as exc:
            status = 429 if isinstance(exc, RateLimited) else 401
            errors.append(FieldError("email", _sign_in_fix(exc)))
        else:
            lifetime = int(policy.session_lifetime.total_seconds())
            cookie = session_cookie(settings, signed_in.token, lifetime)
            return see_other(home_for(signed_in.account), [cookie])
    return await _anonymous_page(
        request=request,
        db_session=db_session,
        keys=keys,
        settings=settings,
        template="sign_in.html",
        title="Sign in",
        status=status,
        errors=tuple(errors),
        email=email,
    )


def _sign_in_fix(exc: Exception) -> str:
    if isinstance(exc, RateLimited):
        return str(exc.detail)
    return "The email address or password is not right. Check both and try again."


@get("/sign-up", operation_id="dashboardSignUpPage", include_in_schema=False)
async def sign_up_page(
    request: Request[Any, Any, Any], db_session: DbSession, keys: Keys, settings: AppSettings
) -> Response[Any]:
    return await _entry_page(
        request, db_session, keys, settings, template="sign_up.html", title="Create your account"
    )


@post("/sign-up", operation_id="dashboardSignUp", include_in_schema=False)
async def sign_up_submit(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    keys: Keys,
    policy: Policy,
    settings: AppSettings,
) -> Response[Any]:
    form = await checked_sign_in_form(request, db_session, keys)
    email = text(form, "email")
    password, again = text(form, "password", strip=False), text(form, "confirm", strip=False)
    errors = _sign_up_errors(email, password, again)
    if not errors:
        try:
            await create_account(
                db_session,
                keys,
                email=email,
                password=password,
                role=Role.CITIZEN,
                policy=policy,
                actor=Actor.CITIZEN,
            )
        except EmailTaken:
            errors.append(
                FieldError(
                    "email",
                    "An account with this email address already exists. Sign in instead, "
                    "or use a different email address.",
                )
            )
        except InvalidInput as exc:
            field = "email" if exc.extra.get("field") == "email" else "password"
            errors.append(FieldError(field, exc.detail))
    if errors:
        return await _anonymous_page(
            request=request,
            db_session=db_session,
            keys=keys,
            settings=settings,
            template="sign_up.html",
            title="Create your account",
            status=400,
            errors=tuple(errors),
            email=email,
        )
    signed_in = await sign_in(
        db_session, email=email, password=password, address=client_address(request), policy=policy
    )
    lifetime = int(policy.session_lifetime.total_seconds())
    return see_other("/dashboard", [session_cookie(settings, signed_in.token, lifetime)])


def _sign_up_errors(email: str, password: str, again: str) -> list[FieldError]:
    errors = []
    if not email:
        errors.append(FieldError("email", "Enter your email address"))
    if not password:
        errors.append(FieldError("password", "Enter a password"))
    elif password != again:
        errors.append(FieldError("confirm", "The passwords do not match. Type the same one twice"))
    return errors


@get("/sign-out", operation_id="dashboardSignOutPage", include_in_schema=False)
async def sign_out_page(viewer: AnyViewer) -> Response[Any]:
    return page("sign_out.html", title="Sign out", viewer=viewer, section="sign-out")


@post("/sign-out", operation_id="dashboardSignOut", include_in_schema=False)
async def sign_out_submit(
    request: Request[Any, Any, Any], db_session: DbSession, viewer: AnyViewer, settings: AppSettings
) -> Response[Any]:
    await checked_form(request, viewer)
    await sign_out(db_session, request.cookies.get(SESSION_COOKIE), viewer.account)
    ended = session_cookie(settings, "", 0)
    return page("signed_out.html", title="You have signed out", cookies=[ended])


HANDLERS = [
    sign_in_page,
    sign_in_submit,
    sign_up_page,
    sign_up_submit,
    sign_out_page,
    sign_out_submit,
]
