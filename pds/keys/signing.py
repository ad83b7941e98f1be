"""Signing keys: created on first use, sealed under the KEK, published as a JWKS.

Audit checkpoints are signed with Ed25519 (the C2SP signed-note format requires
it); tokens, consent tokens and receipts with ES256 (the common ground of OAuth and
wallet ecosystems). Retired keys stay published so what they signed can still be checked.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from pds.db import utcnow
from pds.keys.models import SigningKey
from pds.keys.provider import WrappedKey

if TYPE_CHECKING:
    from sqlalchemy import Connection, Select
    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.keys.provider import KeyProvider

AUDIT_CHECKPOINTS: Final = "audit-checkpoint"
TOKENS: Final = "tokens"
"""Access tokens, consent tokens and consent receipts (ES256)."""
PURPOSES: Final = (AUDIT_CHECKPOINTS, TOKENS)
_P256_SCALAR_BYTES: Final = 32
_WRAP_NAMESPACE: Final = uuid.UUID("6f1c2d1e-8a4b-5c3d-9e2f-0a1b2c3d4e5f")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def okp_public_jwk(private_key: Ed25519PrivateKey) -> dict[str, str]:
    raw = private_key.public_key().public_bytes_raw()
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}


def ec_public_jwk(private_key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    numbers = private_key.public_key().public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url(numbers.x.to_bytes(_P256_SCALAR_BYTES, "big")),
        "y": _b64url(numbers.y.to_bytes(_P256_SCALAR_BYTES, "big")),
    }


def ec_private_key(raw: bytes) -> ec.EllipticCurvePrivateKey:
    """A P-256 key from the 32-byte big-endian scalar it is stored as."""
    return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638: SHA-256 over the required members only, in lexicographic order."""
    members = ("crv", "kty", "x", "y") if jwk["kty"] == "EC" else ("crv", "kty", "x")
    required = {name: jwk[name] for name in members}
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":")).encode()
    return _b64url(hashlib.sha256(canonical).digest())


def wrap_owner(kid: str) -> uuid.UUID:
    """The owner id a signing key is wrapped under, so it cannot pass for another key."""
    return uuid.uuid5(_WRAP_NAMESPACE, kid)


@dataclass(frozen=True, slots=True)
class ActiveSigningKey:
    kid: str
    private_key: Ed25519PrivateKey


def _current(purpose: str) -> Select[SigningKey]:
    return (
        select(SigningKey)
        .where(SigningKey.purpose == purpose, SigningKey.retired_at.is_(None))
        .order_by(SigningKey.created_at.desc())
        .limit(1)
    )


async def _current_row(session: AsyncSession, purpose: str) -> SigningKey | None:
    return await session.scalar(_current(purpose))


def _generate(purpose: str) -> tuple[str, bytes, dict[str, str]]:
    """A new key for ``purpose``: its alg, raw private bytes and public JWK."""
    if purpose == TOKENS:
        ec_key = ec.generate_private_key(ec.SECP256R1())
        raw = ec_key.private_numbers().private_value.to_bytes(_P256_SCALAR_BYTES, "big")
        return "ES256", raw, ec_public_jwk(ec_key)
    if purpose != AUDIT_CHECKPOINTS:
        raise ValueError(f"unknown signing key purpose {purpose!r}")
    ed_key = Ed25519PrivateKey.generate()
    return "Ed25519", ed_key.private_bytes_raw(), okp_public_jwk(ed_key)


def _new_row(keys: KeyProvider, purpose: str) -> tuple[SigningKey, bytes]:
    alg, raw, public = _generate(purpose)
    kid = thumbprint(public)
    wrapped = keys.wrap(raw, wrap_owner(kid))
    row = SigningKey(
        kid=kid,
        purpose=purpose,
        alg=alg,
        public_jwk={**public, "kid": kid, "alg": alg, "use": "sig"},
        kek_version=wrapped.kek_version,
        private_wrapped=wrapped.ciphertext,
    )
    return row, raw


async def active_private_bytes(
    session: AsyncSession, keys: KeyProvider, purpose: str
) -> tuple[str, bytes]:
    """The current key for ``purpose`` as (kid, raw private bytes), made (in the caller's
    transaction) when there is none. ES256 keys are the 32-byte P-256 scalar."""
    row = await _current_row(session, purpose)
    if row is None:
        row, raw = _new_row(keys, purpose)
        session.add(row)
        await session.flush()
        return row.kid, raw
    return row.kid, unwrap_private(keys, row)


async def active_signing_key(
    session: AsyncSession, keys: KeyProvider, purpose: str = AUDIT_CHECKPOINTS
) -> ActiveSigningKey:
    """The current Ed25519 checkpoint key, made when there is none."""
    kid, raw = await active_private_bytes(session, keys, purpose)
    return ActiveSigningKey(kid, Ed25519PrivateKey.from_private_bytes(raw))


def active_signing_key_on(
    connection: Connection, keys: KeyProvider, purpose: str = AUDIT_CHECKPOINTS
) -> ActiveSigningKey:
    """``active_signing_key`` in the transaction of a blocking ``Connection`` (work run by
    ``Database.run_write``, such as the audit sequencer's batch)."""
    with Session(connection) as session:
        row = session.scalar(_current(purpose))
        if row is None:
            row, raw = _new_row(keys, purpose)
            session.add(row)
            session.flush()
        else:
            raw = unwrap_private(keys, row)
    return ActiveSigningKey(row.kid, Ed25519PrivateKey.from_private_bytes(raw))


async def rotate_signing_key(session: AsyncSession, keys: KeyProvider, purpose: str) -> str:
    """Retire the current key (it stays published) and make a new one; returns its kid."""
    current = await _current_row(session, purpose)
    if current is not None:
        current.retired_at = utcnow()
    row, _ = _new_row(keys, purpose)
    session.add(row)
    await session.flush()
    return row.kid


async def published_jwks(session: AsyncSession) -> dict[str, Any]:
    """Every signing key's public half, current and retired."""
    rows = await session.scalars(select(SigningKey).order_by(SigningKey.created_at))
    return {"keys": [dict(row.public_jwk) for row in rows]}


async def key_rows(session: AsyncSession, purpose: str) -> list[SigningKey]:
    """Every key of ``purpose``, oldest first: one read for signer and verifiers alike."""
    rows = await session.scalars(
        select(SigningKey).where(SigningKey.purpose == purpose).order_by(SigningKey.created_at)
    )
    return list(rows)


def unwrap_private(keys: KeyProvider, row: SigningKey) -> bytes:
    return keys.unwrap(WrappedKey(row.kek_version, row.private_wrapped), wrap_owner(row.kid))


async def public_keys(session: AsyncSession, purpose: str) -> dict[str, Any]:
    """kid → public JWK for one purpose (verifiers of checkpoints use these)."""
    rows = await session.scalars(select(SigningKey).where(SigningKey.purpose == purpose))
    return {row.kid: dict(row.public_jwk) for row in rows}
