"""Password policy and Argon2id hashing for citizen accounts.

One module, so sign-up, password change and reset cannot drift apart. The policy follows
NIST SP 800-63B: length and a list of known-bad passwords, not composition rules, and
messages that tell the citizen what to do. Passwords are NFKC-normalised before hashing,
so the same password typed on another keyboard or device still matches. Pure: no
database, no web framework.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from importlib import resources
from typing import Final

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from pds.errors import InvalidInput

MIN_PASSWORD_LENGTH: Final = 12
MAX_PASSWORD_LENGTH: Final = 1024
"""Longer passwords are refused, not hashed: hashing cost grows with input length."""

_MIN_EMAIL_PART: Final = 3  # shorter local parts ("jo@") would refuse half of all passwords
_COMMON_PASSWORDS_FILE: Final = "common_passwords.txt"


class WeakPassword(InvalidInput):
    """The password breaks the policy; the detail says how to choose a better one."""

    code = "weak_password"
    title = "Choose a stronger password"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, field="password")
        self.field = "password"


# --- policy ----------------------------------------------------------------------------------


def check_password_policy(password: str, *, email: str | None = None) -> None:
    """Refuse passwords an attacker would try early; raise ``WeakPassword`` with the fix."""
    normal = _normalise(password)
    if len(normal) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(
            f"Use at least {MIN_PASSWORD_LENGTH} characters. A few unrelated words "
            "together are long and easy to remember."
        )
    folded = normal.casefold()
    if folded in common_passwords() or len(set(folded)) == 1:
        raise WeakPassword(
            "This password is too common: attackers try it first. Choose something "
            "less predictable, such as three or four unrelated words."
        )
    if email and any(part in folded for part in _email_parts(email)):
        raise WeakPassword("Do not use your email address, or part of it, in your password.")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of known-bad passwords, folded the way candidates are compared."""
    text = resources.files("pds.accounts").joinpath(_COMMON_PASSWORDS_FILE).read_text("utf-8")
    lines = (line.strip() for line in text.splitlines())
    return frozenset(_normalise(line).casefold() for line in lines if line and line[0] != "#")


def _email_parts(email: str) -> set[str]:
    """The local part, without any ``+tag``, with and without its punctuation."""
    local = _normalise(email.rpartition("@")[0] or email).casefold()
    untagged = local.partition("+")[0]
    parts = {local, untagged, "".join(ch for ch in untagged if ch.isalnum())}
    return {part for part in parts if len(part) >= _MIN_EMAIL_PART}


def _normalise(password: str) -> str:
    """NFKC, after refusing oversized input before doing any work on it."""
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"Use at most {MAX_PASSWORD_LENGTH} characters.")
    return unicodedata.normalize("NFKC", password)


# --- hashing ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HashingParams:
    """Argon2id cost settings; passed in rather than global, so tests never patch state."""

    time_cost: int
    memory_cost_kib: int
    parallelism: int
    hash_len: int = 32
    salt_len: int = 16

    @classmethod
    def production(cls) -> HashingParams:
        """RFC 9106's second recommended option (t=3, 64 MiB) with one lane instead of four.

        One lane keeps a sign-in on one core: about 160 ms per hash on the 2-core
        reference machine, leaving the other core to serve requests. The memory cost,
        which is what makes GPU guessing expensive, is unchanged.
        """
        return cls(time_cost=3, memory_cost_kib=64 * 1024, parallelism=1)

    @classmethod
    def fast_for_tests(cls) -> HashingParams:
        """TEST ONLY: Argon2's minimum costs, so suites stay fast.

        Never use outside tests: hashes made with these make offline guessing cheap, and
        ``needs_rehash`` against production parameters will report them as outdated.
        """
        return cls(time_cost=1, memory_cost_kib=8, parallelism=1)


_PRODUCTION: Final = HashingParams.production()
_DUMMY_PASSWORD: Final = "pds: not the password of any account"  # noqa: S105 - a decoy, not a secret


@functools.cache
def _hasher(params: HashingParams) -> PasswordHasher:
    return PasswordHasher(
        time_cost=params.time_cost,
        memory_cost=params.memory_cost_kib,
        parallelism=params.parallelism,
        hash_len=params.hash_len,
        salt_len=params.salt_len,
        type=Type.ID,
    )


def hash_password(password: str, params: HashingParams = _PRODUCTION) -> str:
    """An Argon2id PHC string (parameters and salt included) for the normalised password."""
    return _hasher(params).hash(_normalise(password))


def verify_password(stored_hash: str, password: str, params: HashingParams = _PRODUCTION) -> bool:
    """True only on a match; a mismatch, malformed hash or oversized password is False.

    The cost comes from ``stored_hash`` itself, not ``params`` (taken for symmetry), so
    old hashes still verify after the production parameters change; ``needs_rehash``
    then says to upgrade them.
    """
    if len(password) > MAX_PASSWORD_LENGTH or not stored_hash.isascii():
        return False
    try:
        return _hasher(params).verify(stored_hash, unicodedata.normalize("NFKC", password))
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str, params: HashingParams = _PRODUCTION) -> bool:
    """Whether to re-hash at the next successful sign-in; True for a malformed hash too."""
    try:
        return _hasher(params).check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def dummy_verify(password: str, params: HashingParams = _PRODUCTION) -> None:
    """Spend what a real verification costs, for sign-in with an unknown email.

    Without it, "no such account" answers faster than "wrong password", and timing
    alone would reveal who has an account.
    """
    verify_password(_dummy_hash(params), password, params)


@functools.cache
def _dummy_hash(params: HashingParams) -> str:
    """Made once per process with the live parameters, so its cost can never drift."""
    return _hasher(params).hash(_DUMMY_PASSWORD)
