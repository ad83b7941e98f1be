"""Asking for the password again before an act that cannot be undone.

It goes through the accounts service's ``confirm_password``, so it is rate limited
and audited like a sign-in: a stolen session cookie is no licence to guess.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pds.accounts.routes import client_address
from pds.accounts.service import AccountPolicy, confirm_password
from pds.dashboard.pages import FieldError
from pds.errors import RateLimited, Unauthenticated

if TYPE_CHECKING:
    from litestar import Request
    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.accounts.models import Account


async def reauthenticate(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    account: Account,
    password: str,
    policy: AccountPolicy,
) -> FieldError | None:
    """None when the password is right, else the error to show against the field."""
    if not password:
        return FieldError("password", "Enter your password")
    try:
        await confirm_password(
            db_session, account, password, address=client_address(request), policy=policy
        )
    except RateLimited as exc:
        return FieldError("password", exc.detail)
    except Unauthenticated:
        return FieldError(
            "password", "The password is not right. Enter the password you sign in with"
        )
    return None
