"""Request-scoped dependencies shared by every area's routes.

A request gets one database session; requests that can write (POST, PUT,
PATCH, DELETE) get one that takes SQLite's write lock up front. Services commit
explicitly, and closing the session rolls back whatever was not committed, so a
failure half-way leaves no partial write.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy.ext.asyncio import AsyncSession

from pds.accounts.models import Account
from pds.accounts.service import (
    AccountPolicy,
    Role,
    SessionInvalid,
    require_role,
    resolve_session,
)
from pds.keys.provider import KeyProvider
from pds.settings import Settings

SESSION_COOKIE = "pds_session"

# Handlers name what they need with these; the parameter name picks the provider.
DbSession: TypeAlias = NamedDependency[AsyncSession]
Keys: TypeAlias = NamedDependency[KeyProvider]
Policy: TypeAlias = NamedDependency[AccountPolicy]
AppSettings: TypeAlias = NamedDependency[Settings]
SignedInAccount: TypeAlias = NamedDependency[Account]
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def provide_db_session(
    state: State, request: Request[Any, Any, Any]
) -> AsyncIterator[AsyncSession]:
    factory = state.db.read_sessions if request.method in _READ_METHODS else state.db.sessions
    async with factory() as session:
        yield session


def provide_keys(state: State) -> KeyProvider:
    keys: KeyProvider = state.key_provider
    return keys


def provide_policy(state: State) -> AccountPolicy:
    policy: AccountPolicy = state.account_policy
    return policy


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


@asynccontextmanager
async def released_on_refusal(db_session: AsyncSession) -> AsyncIterator[None]:
    """Close the request's session when a dependency refuses the request.

    Litestar only cleans up generator dependencies (``provide_db_session``) once all
    dependencies resolved; when a later one raises, the session would keep its
    connection (and, on SQLite, a writer's lock) until the garbage collector found it.
    """
    try:
        yield
    except BaseException:
        await db_session.close()
        raise


def session_cookie_present(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Refuse a request with no session cookie before its body is read.

    Guards run before Litestar parses the body, so an anonymous 10 MiB upload
    is turned away without being read; the session itself is checked later.
    """
    if not connection.cookies.get(SESSION_COOKIE):
        raise SessionInvalid("Sign in to continue.")


async def provide_account(request: Request[Any, Any, Any], db_session: DbSession) -> Account:
    """The signed-in account (any role), or 401."""
    async with released_on_refusal(db_session):
        return await resolve_session(db_session, request.cookies.get(SESSION_COOKIE))


async def provide_citizen(account: SignedInAccount, db_session: DbSession) -> Account:
    """The signed-in account, which must be a citizen's (403 for auditors and admins)."""
    async with released_on_refusal(db_session):
        require_role(account, Role.CITIZEN)
    return account


DEPENDENCIES = {
    "db_session": Provide(provide_db_session),
    "keys": Provide(provide_keys, sync_to_thread=False),
    "policy": Provide(provide_policy, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "account": Provide(provide_account),
    "citizen": Provide(provide_citizen),
}
