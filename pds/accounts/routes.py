"""Sign-up, sign-in, sign-out, the account itself and its erasure."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.params import JSONBody

from pds.accounts import service
from pds.accounts.models import Account
from pds.accounts.schemas import (
    AccountOut,
    CitizenCreate,
    PasswordConfirmation,
    SessionCreate,
    SessionOut,
)
from pds.audit.entry import Actor
from pds.vault.lifecycle import erase_account
from pds.web.deps import SESSION_COOKIE, AppSettings, DbSession, Keys, Policy, SignedInAccount
from pds.web.problems import problem_responses


def client_address(request: Request[Any, Any, Any]) -> str:
    """The peer address the sign-in limits count against (see README on proxies)."""
    return request.client.host if request.client else "unknown"


def account_out(account: Account) -> AccountOut:
    return AccountOut(
        id=account.id, email=account.email, role=account.role, created_at=account.created_at
    )


def session_cookie(settings: AppSettings, value: str, max_age: int) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
    )


class AccountController(Controller):
    path = "/api/v1"
    tags = ["accounts"]

    @post(
        "/citizens",
        operation_id="createCitizen",
        summary="Sign up as a citizen",
        responses=problem_responses(400, 409, 415, 422),
    )
    async def sign_up(
        self,
        data: JSONBody[CitizenCreate],
        db_session: DbSession,
        keys: Keys,
        policy: Policy,
    ) -> AccountOut:
        account = await service.create_account(
            db_session,
            keys,
            email=data.email,
            password=data.password,
            role=service.Role.CITIZEN,
            policy=policy,
            actor=Actor.CITIZEN,
        )
        return account_out(account)

    @post(
        "/session",
        operation_id="signIn",
        summary="Sign in; sets the session cookie",
        responses=problem_responses(400, 401, 415, 429),
    )
    async def sign_in(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[SessionCreate],
        db_session: DbSession,
        policy: Policy,
        settings: AppSettings,
    ) -> Response[SessionOut]:
        signed_in = await service.sign_in(
            db_session,
            email=data.email,
            password=data.password,
            address=client_address(request),
            policy=policy,
        )
        body = SessionOut(account=account_out(signed_in.account), expires_at=signed_in.expires_at)
        lifetime = int(policy.session_lifetime.total_seconds())
        return Response(
            body, status_code=201, cookies=[session_cookie(settings, signed_in.token, lifetime)]
        )

    @delete(
        "/session",
        operation_id="signOut",
        summary="Sign out this browser",
        responses=problem_responses(401),
    )
    async def sign_out(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        account: SignedInAccount,
        settings: AppSettings,
    ) -> Response[None]:
        await service.sign_out(db_session, request.cookies.get(SESSION_COOKIE), account)
        return Response(None, status_code=204, cookies=[session_cookie(settings, "", 0)])

    @get(
        "/me",
        operation_id="getMe",
        summary="The signed-in account",
        responses=problem_responses(401),
    )
    async def me(self, account: SignedInAccount) -> AccountOut:
        return account_out(account)

    @delete(
        "/me",
        operation_id="eraseMe",
        summary="Delete my account and everything in my vault (needs my password)",
        responses=problem_responses(400, 401, 403, 415, 429),
    )
    async def erase(
        self,
        *,
        request: Request[Any, Any, Any],
        data: JSONBody[PasswordConfirmation],
        db_session: DbSession,
        citizen: SignedInAccount,
        policy: Policy,
        settings: AppSettings,
    ) -> Response[None]:
        await service.confirm_password(
            db_session, citizen, data.password, address=client_address(request), policy=policy
        )
        await erase_account(db_session, citizen)
        return Response(None, status_code=204, cookies=[session_cookie(settings, "", 0)])
