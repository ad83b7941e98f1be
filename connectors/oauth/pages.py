"""The front channel: /oauth/authorize, where the citizen signs in, reads and decides.

Server-rendered and usable without JavaScript. The URL carries only ``client_id`` and
the opaque ``request_uri``; anything wrong with it is shown on a page here and never
sent back to a redirect URI we have not verified (RFC 6749 §4.1.2.1). The decision
form carries a token bound to the signed-in session, so another site cannot submit it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from litestar import Request, Response, get, post
from litestar.enums import MediaType
from litestar.response import Redirect, Template

from connectors.oauth.authorization import PendingRequest, decide, pending_request
from connectors.oauth.consent_screen import screen
from connectors.oauth.routes import read_form
from consent.grants import ImpossibleTransition, InvalidNarrowing
from consent.keys import server_keys
from consent.receipting import issue_receipt
from pds.accounts.routes import client_address, session_cookie
from pds.accounts.service import Role, SessionInvalid, resolve_session, sign_in
from pds.db import utcnow
from pds.errors import DomainError, RateLimited
from pds.web.context import CONTENT_SECURITY_POLICY
from pds.web.csrf import (
    CSRF_COOKIE,
    browser_binding,
    form_token,
    new_browser_cookie,
    token_matches,
)
from pds.web.deps import SESSION_COOKIE, AppSettings, DbSession, Keys, Policy

if TYPE_CHECKING:
    from litestar.datastructures import Cookie
    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.accounts.models import Account

AUTHORIZE = "/oauth/authorize"
_FRONT_CHANNEL = frozenset({"client_id", "request_uri"})


def _page(
    template: str,
    status: int = 200,
    *,
    form_target: str | None = None,
    cookies: list[Cookie] | None = None,
    **context: Any,
) -> Template:
    headers = {"Cache-Control": "no-store"}
    if form_target is not None:
        headers["Content-Security-Policy"] = csp_allowing_redirect_to(form_target)
    return Template(
        template_name=template,
        context=context,
        status_code=status,
        media_type=MediaType.HTML,
        headers=headers,
        cookies=cookies or [],
    )


def csp_allowing_redirect_to(redirect_uri: str) -> str:
    """The site-wide policy, but with the client's origin in ``form-action``: browsers apply
    ``form-action`` to the redirect that follows the decision, too."""
    parts = urlsplit(redirect_uri)
    origin = f"{parts.scheme}://{parts.netloc}"
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'", f"form-action 'self' {origin}")


def _problem_page(title: str, message: str, status: int = 400) -> Template:
    return _page("oauth/problem.html", status, title=title, message=message)


def csrf_token(secret: bytes, session_token: str, request_uri: str) -> str:
    """Bound to this browser's session and this request: useless anywhere else."""
    material = f"{session_token}\x1f{request_uri}".encode()
    digest = hmac.new(secret, material, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


SIGN_IN_FORMS = "sign-in"  # the same purpose as the dashboard's sign-in form


def _sign_in_page(
    pending: PendingRequest,
    request_uri: str,
    csrf_secret: bytes,
    binding: str | None,
    *,
    secure: bool,
    status: int = 200,
    email: str = "",
    error: str | None = None,
) -> Template:
    """The sign-in form, with a token bound to this browser's pre-sign-in cookie (set
    here when it has none), so another site cannot sign the browser in (login CSRF)."""
    cookie = None
    if binding is None:
        cookie = new_browser_cookie(secure=secure)
        binding = str(cookie.value)
    return _page(
        "oauth/sign_in.html",
        status,
        cookies=[cookie] if cookie else None,
        title="Sign in to your personal data store",
        client_name=pending.client.name,
        client_id=pending.client.client_id,
        request_uri=request_uri,
        csrf_token=form_token(csrf_secret, SIGN_IN_FORMS, binding),
        email=email,
        error_summary=[{"field": "email", "message": error}] if error else None,
    )


async def _citizen(db_session: AsyncSession, token: str | None) -> Account | None:
    try:
        account = await resolve_session(db_session, token)
    except SessionInvalid:
        return None
    return account


def _consent_page(
    pending: PendingRequest,
    request_uri: str,
    csrf: str,
    *,
    ticked: frozenset[int] = frozenset(),
    error: str | None = None,
) -> Template:
    client = pending.client
    view = screen(
        pending.state.request,
        client_name=client.name,
        organisation=client.organisation,
        kind=client.kind,
        privacy_notice_url=client.privacy_notice_url,
    )
    return _page(
        "oauth/consent.html",
        422 if error else 200,
        form_target=pending.row.redirect_uri,
        title=f"{client.name} is asking to see some of your information",
        s=view,
        client_id=client.client_id,
        request_uri=request_uri,
        csrf_token=csrf,
        ticked=ticked,
        error_summary=[{"field": "items", "message": error}] if error else None,
    )


@get(
    AUTHORIZE,
    operation_id="authorize",
    tags=["oauth"],
    include_in_schema=True,
    summary="The consent page (front channel): sign in, read the request, decide",
)
async def authorize(
    request: Request[Any, Any, Any], db_session: DbSession, keys: Keys, settings: AppSettings
) -> Template:
    params = dict(request.query_params.items())
    if set(request.query_params.keys()) != _FRONT_CHANNEL or any(
        len(request.query_params.getall(name)) != 1 for name in _FRONT_CHANNEL
    ):
        return _problem_page(
            "This link is not valid",
            "The service sent you here with a link this service cannot use.",
        )
    try:
        pending = await pending_request(
            db_session, params["client_id"], params["request_uri"], utcnow()
        )
    except DomainError as exc:
        return _problem_page("This request cannot be answered", exc.detail, 404)
    token = request.cookies.get(SESSION_COOKIE)
    account = await _citizen(db_session, token)
    secrets_ = await server_keys(db_session, keys)
    if account is None or token is None:
        return _sign_in_page(
            pending,
            params["request_uri"],
            secrets_.csrf_secret,
            browser_binding(request.cookies.get(CSRF_COOKIE)),
            secure=settings.secure_cookies,
        )
    if account.role != Role.CITIZEN.value:
        return _problem_page("Sign in as a citizen", "Only citizens can answer requests.", 403)
    return _consent_page(
        pending,
        params["request_uri"],
        csrf_token(secrets_.csrf_secret, token, params["request_uri"]),
    )


@post(
    f"{AUTHORIZE}/sign-in", operation_id="authorizeSignIn", tags=["oauth"], include_in_schema=False
)
async def authorize_sign_in(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    keys: Keys,
    policy: Policy,
    settings: AppSettings,
) -> Response[Any]:
    form = await read_form(request)
    client_id, request_uri = form.get("client_id", ""), form.get("request_uri", "")
    try:
        pending = await pending_request(db_session, client_id, request_uri, utcnow())
    except DomainError as exc:
        return _problem_page("This request cannot be answered", exc.detail, 404)
    secret = (await server_keys(db_session, keys)).csrf_secret
    binding = browser_binding(request.cookies.get(CSRF_COOKIE))
    if binding is None or not token_matches(
        form.get("csrf_token"), form_token(secret, SIGN_IN_FORMS, binding)
    ):
        return _sign_in_page(
            pending,
            request_uri,
            secret,
            binding,
            secure=settings.secure_cookies,
            status=403,
            email=form.get("email", ""),
            error="This page had expired, so you were not signed in. Enter your details again.",
        )
    try:
        signed_in = await sign_in(
            db_session,
            email=form.get("email", ""),
            password=form.get("password", ""),
            address=client_address(request),
            policy=policy,
        )
    except DomainError as exc:
        status = 429 if isinstance(exc, RateLimited) else 401
        return _sign_in_page(
            pending,
            request_uri,
            secret,
            binding,
            secure=settings.secure_cookies,
            status=status,
            email=form.get("email", ""),
            error=exc.detail,
        )
    lifetime = int(policy.session_lifetime.total_seconds())
    return Redirect(
        _authorize_url(client_id, request_uri),
        status_code=303,
        cookies=[session_cookie(settings, signed_in.token, lifetime)],
    )


def _authorize_url(client_id: str, request_uri: str) -> str:
    return f"{AUTHORIZE}?{urlencode({'client_id': client_id, 'request_uri': request_uri})}"


class _Shown(Exception):
    """A page (or redirect) that ends the decision early; raised so each step stays small."""

    def __init__(self, response: Response[Any]) -> None:
        super().__init__("page")
        self.response = response


@post(AUTHORIZE, operation_id="authorizeDecision", tags=["oauth"], include_in_schema=False)
async def authorize_decision(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    keys: Keys,
    settings: AppSettings,
) -> Response[Any]:
    try:
        return await _answer(request, db_session, keys, settings)
    except _Shown as shown:
        await db_session.rollback()
        return shown.response


async def _answer(
    request: Request[Any, Any, Any], db_session: AsyncSession, keys: Keys, settings: AppSettings
) -> Response[Any]:
    form = await request.form()
    client_id, request_uri = str(form.get("client_id", "")), str(form.get("request_uri", ""))
    pending = await _pending_or_page(db_session, client_id, request_uri)
    token, account = await _signed_in_citizen(request, db_session, client_id, request_uri)
    loaded = await server_keys(db_session, keys)
    expected = csrf_token(loaded.csrf_secret, token, request_uri)
    if not hmac.compare_digest(str(form.get("csrf_token", "")), expected):
        raise _Shown(
            _problem_page(
                "This page has expired", "Open the link from the service again to answer.", 403
            )
        )
    decision = str(form.get("decision", ""))
    if decision not in {"approve", "refuse"}:
        raise _Shown(_consent_page(pending, request_uri, expected, error="Choose yes or no."))
    ticked = _ticked(form.getall("items") if "items" in form else [])
    optional = {i for i, item in enumerate(pending.state.request.items) if not item.required}
    try:
        result, _code = await decide(
            db_session,
            pending,
            citizen_id=str(account.id),
            approve=decision == "approve",
            declined=tuple(sorted(optional - ticked)),
            issuer=settings.base_url,
            now=utcnow(),
        )
    except InvalidNarrowing as exc:
        message = "Tick at least one item to share, or choose “No, do not share”."
        page = _consent_page(
            pending, request_uri, expected, ticked=frozenset(ticked), error=message
        )
        raise _Shown(page) from exc
    except ImpossibleTransition as exc:
        raise _Shown(_problem_page("This request cannot be answered", exc.detail, 409)) from exc
    if decision == "approve":
        await issue_receipt(
            db_session,
            loaded.signer,
            pending.grant,
            result.state,
            issuer=settings.base_url,
            now=utcnow(),
        )
    await db_session.commit()
    return Redirect(result.redirect_to, status_code=303)


async def _pending_or_page(
    db_session: AsyncSession, client_id: str, request_uri: str
) -> PendingRequest:
    try:
        return await pending_request(db_session, client_id, request_uri, utcnow())
    except DomainError as exc:
        raise _Shown(_problem_page("This request cannot be answered", exc.detail, 404)) from exc


async def _signed_in_citizen(
    request: Request[Any, Any, Any], db_session: AsyncSession, client_id: str, request_uri: str
) -> tuple[str, Account]:
    token = request.cookies.get(SESSION_COOKIE)
    account = await _citizen(db_session, token)
    if account is None or token is None:
        raise _Shown(Redirect(_authorize_url(client_id, request_uri), status_code=303))
    if account.role != Role.CITIZEN.value:
        raise _Shown(
            _problem_page("Sign in as a citizen", "Only citizens can answer requests.", 403)
        )
    return token, account


def _ticked(values: list[Any]) -> set[int]:
    ticked: set[int] = set()
    for value in values:
        text = str(value)
        if text.isdigit() and len(text) < 4:
            ticked.add(int(text))
    return ticked


PAGE_HANDLERS = [authorize, authorize_sign_in, authorize_decision]
