"""Account use cases: sign-up, sign-in with limits, sessions, re-authentication.

Every path that decides about a person appends an audit entry in the same
transaction. Failed sign-ins are committed (attempt and audit entry) before the
refusal is raised, because a refusal that leaves no trace defeats both the
rate limit and the audit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from pds.accounts.models import Account, Session, SignInAttempt
from pds.accounts.passwords import (
    HashingParams,
    check_password_policy,
    dummy_verify,
    hash_password,
    verify_password,
)
from pds.audit.entry import Action, Actor, Entry, Outcome
from pds.audit.service import append
from pds.db import utcnow
from pds.errors import Conflict, Forbidden, InvalidInput, RateLimited, Unauthenticated
from pds.vault.datakeys import create_data_key

if TYPE_CHECKING:
    import uuid

    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.keys.provider import KeyProvider


class Role(StrEnum):
    CITIZEN = "citizen"
    AUDITOR = "auditor"
    ADMIN = "admin"


_ROLE_ACTOR = {Role.CITIZEN: Actor.CITIZEN, Role.AUDITOR: Actor.AUDITOR, Role.ADMIN: Actor.ADMIN}
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")


@dataclass(frozen=True, slots=True)
class AccountPolicy:
    """Limits for sign-in and sessions; one object so tests can tighten or relax them."""

    session_lifetime: dt.timedelta = dt.timedelta(hours=8)
    window: dt.timedelta = dt.timedelta(minutes=15)
    max_failures_per_account: int = 5
    max_failures_per_address: int = 20
    reauth_window: dt.timedelta = dt.timedelta(minutes=5)
    hashing: HashingParams = field(default_factory=HashingParams.production)


class WrongCredentials(Unauthenticated):
    code = "invalid_credentials"


class EmailTaken(Conflict):
    code = "email_taken"


class SessionInvalid(Unauthenticated):
    code = "session_invalid"


class WrongRole(Forbidden):
    code = "wrong_role"


@dataclass(frozen=True, slots=True)
class SignedIn:
    account: Account
    token: str
    expires_at: dt.datetime


def normalise_email(email: str) -> str:
    """Trimmed and lower-cased, so one person cannot register twice by case."""
    value = email.strip().lower()
    if len(value) > 254 or not _EMAIL.match(value):
        raise InvalidInput("Enter an email address like name@example.com.", field="email")
    return value


async def create_account(
    session: AsyncSession,
    keys: KeyProvider,
    *,
    email: str,
    password: str,
    role: Role,
    policy: AccountPolicy,
    actor: Actor = Actor.CITIZEN,
) -> Account:
    """Create an account (and a data key for a citizen), audited, and commit."""
    address = normalise_email(email)
    check_password_policy(password, email=address)
    password_hash = await asyncio.to_thread(hash_password, password, policy.hashing)
    account = Account(email=address, role=role.value, password_hash=password_hash)
    session.add(account)
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise EmailTaken("An account with this email address already exists. Sign in.") from exc
    if role is Role.CITIZEN:
        create_data_key(session, keys, account.id)
    append(
        session,
        Entry(
            actor=actor,
            action=Action.ACCOUNT_CREATED,
            actor_id=account.id if actor is Actor.CITIZEN else None,
            citizen_id=account.id if role is Role.CITIZEN else None,
            detail={"role": role.value},
        ),
    )
    await session.commit()
    return account


def limit_key(kind: str, value: str) -> bytes:
    return hashlib.sha256(f"pds/sign-in/{kind}\0{value}".encode()).digest()


async def _failures(session: AsyncSession, key: bytes, since: dt.datetime) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(SignInAttempt)
        .where(SignInAttempt.key_hash == key, SignInAttempt.created_at >= since)
    )
    return int(count or 0)


async def _check_limits(
    session: AsyncSession, keys: tuple[bytes, bytes], policy: AccountPolicy, now: dt.datetime
) -> None:
    since = now - policy.window
    account_key, address_key = keys
    if (
        await _failures(session, account_key, since) >= policy.max_failures_per_account
        or await _failures(session, address_key, since) >= policy.max_failures_per_address
    ):
        append(
            session,
            Entry(
                actor=Actor.SYSTEM,
                action=Action.SIGN_IN,
                outcome=Outcome.DENIED,
                detail={"reason": "rate_limited"},
            ),
        )
        await session.commit()
        raise RateLimited(
            "Too many failed attempts. Wait 15 minutes, then try again.",
            retry_after=int(policy.window.total_seconds()),
        )


async def sign_in(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    address: str,
    policy: AccountPolicy,
) -> SignedIn:
    """Check credentials under the limits; on success open a server-side session."""
    now = utcnow()
    address_email = email.strip().lower()
    limit_keys = (limit_key("account", address_email), limit_key("address", address))
    await _check_limits(session, limit_keys, policy, now)
    account = await session.scalar(select(Account).where(Account.email == address_email))
    ok = False
    if account is None:
        await asyncio.to_thread(dummy_verify, password, policy.hashing)
    else:
        ok = await asyncio.to_thread(
            verify_password, account.password_hash, password, policy.hashing
        )
    if account is None or not ok:
        await _record_failure(session, limit_keys, account, now, policy)
        raise WrongCredentials("The email address or password is not right.")
    return await _open_session(session, account, now, policy)


async def _record_failure(
    session: AsyncSession,
    limit_keys: tuple[bytes, bytes],
    account: Account | None,
    now: dt.datetime,
    policy: AccountPolicy,
) -> None:
    await session.execute(
        delete(SignInAttempt).where(SignInAttempt.created_at < now - policy.window)
    )
    session.add_all([SignInAttempt(key_hash=key, created_at=now) for key in limit_keys])
    append(session, _sign_in_entry(account, Outcome.DENIED))
    await session.commit()


def _sign_in_entry(account: Account | None, outcome: Outcome) -> Entry:
    if account is None:
        return Entry(actor=Actor.SYSTEM, action=Action.SIGN_IN, outcome=outcome)
    role = Role(account.role)
    return Entry(
        actor=_ROLE_ACTOR[role],
        action=Action.SIGN_IN,
        outcome=outcome,
        actor_id=account.id,
        citizen_id=account.id if role is Role.CITIZEN else None,
    )


async def _open_session(
    session: AsyncSession, account: Account, now: dt.datetime, policy: AccountPolicy
) -> SignedIn:
    token = secrets.token_urlsafe(32)
    expires_at = now + policy.session_lifetime
    session.add(Session(token_hash=hash_token(token), account_id=account.id, expires_at=expires_at))
    append(session, _sign_in_entry(account, Outcome.ALLOWED))
    await session.commit()
    return SignedIn(account=account, token=token, expires_at=expires_at)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def resolve_session(session: AsyncSession, token: str | None) -> Account:
    """The account behind a session cookie, or 401 for a missing, unknown or expired one."""
    if not token or len(token) > 100:
        raise SessionInvalid("Sign in to continue.")
    row = await session.execute(
        select(Account, Session.expires_at)
        .join(Session, Session.account_id == Account.id)
        .where(Session.token_hash == hash_token(token))
    )
    found = row.one_or_none()
    if found is None or found[1] <= utcnow():
        raise SessionInvalid("Your session has ended. Sign in again.")
    return found[0]


async def sign_out(session: AsyncSession, token: str | None, account: Account) -> None:
    """End this browser's session (audited); other sessions stay."""
    if token:
        await session.execute(delete(Session).where(Session.token_hash == hash_token(token)))
    role = Role(account.role)
    append(
        session,
        Entry(
            actor=_ROLE_ACTOR[role],
            action=Action.SIGN_OUT,
            actor_id=account.id,
            citizen_id=account.id if role is Role.CITIZEN else None,
        ),
    )
    await session.commit()


async def confirm_password(
    session: AsyncSession,
    account: Account,
    password: str,
    *,
    address: str,
    policy: AccountPolicy,
) -> None:
    """Re-authentication before a destructive act, under the same limits and audit as
    sign-in, so a stolen session cookie is no licence to guess the password."""
    now = utcnow()
    limit_keys = (limit_key("account", account.email), limit_key("address", address))
    await _check_limits(session, limit_keys, policy, now)
    ok = await asyncio.to_thread(verify_password, account.password_hash, password, policy.hashing)
    if not ok:
        await _record_failure(session, limit_keys, account, now, policy)
        raise WrongCredentials("The password is not right.")


def require_role(account: Account, role: Role) -> None:
    if account.role != role.value:
        raise WrongRole(f"This needs a {role.value} account.")


async def account_id_for(session: AsyncSession, email: str) -> uuid.UUID | None:
    """Used by the demo loader to stay idempotent."""
    return await session.scalar(select(Account.id).where(Account.email == normalise_email(email)))
