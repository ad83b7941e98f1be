"""Signing keys: created on first use, sealed under the KEK, published as a JWKS.

Audit checkpoints are signed with Ed25519 (the C2SP signed-note format requires
it). Retired keys stay published so what they signed can still be checked.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from pds.db import utcnow
from pds.keys.models import SigningKey
from pds.keys.provider import WrappedKey

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.keys.provider import KeyProvider

AUDIT_CHECKPOINTS: Final = "audit-checkpoint"
_WRAP_NAMESPACE: Final = uuid.UUID("6f1c2d1e-8a4b-5c3d-9e2f-0a1b2c3d4e5f")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def okp_public_jwk(private_key: Ed25519PrivateKey) -> dict[str, str]:
    raw = private_key.public_key().public_bytes_raw()
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638: SHA-256 over the required members only, in lexicographic order."""
    required = {name: jwk[name] for name in ("crv", "kty", "x")}
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":")).encode()
    return _b64url(hashlib.sha256(canonical).digest())


def wrap_owner(kid: str) -> uuid.UUID:
    """The owner id a signing key is wrapped under, so it cannot pass for another key."""
    return uuid.uuid5(_WRAP_NAMESPACE, kid)


@dataclass(frozen=True, slots=True)
class ActiveSigningKey:
    kid: str
    private_key: Ed25519PrivateKey


async def _current_row(session: AsyncSession, purpose: str) -> SigningKey | None:
    return await session.scalar(
        select(SigningKey)
        .where(SigningKey.purpose == purpose, SigningKey.retired_at.is_(None))
        .order_by(SigningKey.created_at.desc())
        .limit(1)
    )


def _new_row(keys: KeyProvider, purpose: str) -> tuple[SigningKey, Ed25519PrivateKey]:
    private_key = Ed25519PrivateKey.generate()
    public = okp_public_jwk(private_key)
    kid = thumbprint(public)
    wrapped = keys.wrap(private_key.private_bytes_raw(), wrap_owner(kid))
    row = SigningKey(
        kid=kid,
        purpose=purpose,
        alg="Ed25519",
        public_jwk={**public, "kid": kid, "alg": "Ed25519", "use": "sig"},
        kek_version=wrapped.kek_version,
        private_wrapped=wrapped.ciphertext,
    )
    return row, private_key


async def active_signing_key(
    session: AsyncSession, keys: KeyProvider, purpose: str
) -> ActiveSigningKey:
    """The current key for ``purpose``, made (in the caller's transaction) when there is none."""
    row = await _current_row(session, purpose)
    if row is None:
        row, private_key = _new_row(keys, purpose)
        session.add(row)
        await session.flush()
        return ActiveSigningKey(row.kid, private_key)
    raw = keys.unwrap(WrappedKey(row.kek_version, row.private_wrapped), wrap_owner(row.kid))
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


async def public_keys(session: AsyncSession, purpose: str) -> dict[str, Any]:
    """kid → public JWK for one purpose (verifiers of checkpoints use these)."""
    rows = await session.scalars(select(SigningKey).where(SigningKey.purpose == purpose))
    return {row.kid: dict(row.public_jwk) for row in rows}
