"""API structs for accounts and sessions (never ORM objects)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, examples=["sam@example.com"])]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class CitizenCreate(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password


class SessionCreate(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password


class PasswordConfirmation(msgspec.Struct, forbid_unknown_fields=True):
    """Re-authentication for a destructive act."""

    password: Password


class AccountOut(msgspec.Struct):
    id: uuid.UUID
    email: str
    role: str
    created_at: dt.datetime


class SessionOut(msgspec.Struct):
    account: AccountOut
    expires_at: dt.datetime
