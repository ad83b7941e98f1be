"""The keys credentials are signed with: one ES256 key per issuer client, one holder key
per citizen.

Issuer keys. Each issuing council service signs as itself, under its own issuer
identifier ``{base}/issuers/{client_id}``, so a verifier trusts "Council Tax" and not the
whole platform. The PDS holds the key for it (the service need not run any key
infrastructure): an ordinary ``signing_keys`` row of purpose ``credential-issuer``, wrapped
by the KEK and rewrapped by KEK rotation like every signing key, linked to its client in
``credential_issuer_keys``. Retired keys stay published, so what they signed still checks.

Holder keys. The vault holds each citizen's P-256 key and signs KB-JWTs for them when a
grant allows a presentation; its private scalar is sealed under the citizen's data key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey
from sqlalchemy import select

from credentials import sdjwt
from credentials.models import HolderKey, IssuerKey
from pds.keys.models import SigningKey
from pds.keys.signing import ec_private_key, ec_public_jwk, thumbprint, unwrap_private, wrap_owner
from pds.vault.envelope import SealContext

if TYPE_CHECKING:
    import uuid

    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.keys.provider import KeyProvider
    from pds.vault.envelope import DataKey

ISSUER_PURPOSE: Final = "credential-issuer"
ALG: Final = "ES256"
HOLDER_KEY_FIELD: Final = "credential.holder_key"
_SCALAR: Final = 32


def issuer_id(base: str, client_id: str) -> str:
    """The ``iss`` of credentials ``client_id`` issues."""
    return f"{base.rstrip('/')}/issuers/{client_id}"


def client_of_issuer(base: str, issuer: str) -> str | None:
    """The client an issuer identifier names, if it is one of this PDS's; else None."""
    prefix = f"{base.rstrip('/')}/issuers/"
    if not issuer.startswith(prefix):
        return None
    client_id = issuer.removeprefix(prefix)
    return client_id if client_id and "/" not in client_id and len(client_id) <= 64 else None


def _jose_key(raw: bytes) -> ECKey:
    private = ec_private_key(raw)
    jwk = ec_public_jwk(private)
    d = sdjwt.b64url(raw)
    return ECKey.import_key({**jwk, "d": d})


def _scalar(private: ec.EllipticCurvePrivateKey) -> bytes:
    return private.private_numbers().private_value.to_bytes(_SCALAR, "big")


async def issuer_signer(
    session: AsyncSession, keys: KeyProvider, client_id: str
) -> sdjwt.SigningKey:
    """The client's current issuer key, made (in the caller's transaction) on first need."""
    row = await session.scalar(
        select(SigningKey)
        .join(IssuerKey, IssuerKey.kid == SigningKey.kid)
        .where(IssuerKey.client_id == client_id, SigningKey.retired_at.is_(None))
        .order_by(SigningKey.created_at.desc())
        .limit(1)
    )
    if row is not None:
        return sdjwt.SigningKey(_jose_key(unwrap_private(keys, row)), alg=ALG, kid=row.kid)
    private = ec.generate_private_key(ec.SECP256R1())
    raw, public = _scalar(private), ec_public_jwk(private)
    kid = thumbprint(public)
    wrapped = keys.wrap(raw, wrap_owner(kid))
    session.add(
        SigningKey(
            kid=kid,
            purpose=ISSUER_PURPOSE,
            alg=ALG,
            public_jwk={**public, "kid": kid, "alg": ALG, "use": "sig"},
            kek_version=wrapped.kek_version,
            private_wrapped=wrapped.ciphertext,
        )
    )
    await session.flush()
    session.add(IssuerKey(kid=kid, client_id=client_id))
    await session.flush()
    return sdjwt.SigningKey(_jose_key(raw), alg=ALG, kid=kid)


async def issuer_public_keys(session: AsyncSession, client_id: str) -> list[dict[str, Any]]:
    """Every public key the client has issued with, current and retired, oldest first."""
    rows = await session.scalars(
        select(SigningKey.public_jwk)
        .join(IssuerKey, IssuerKey.kid == SigningKey.kid)
        .where(IssuerKey.client_id == client_id)
        .order_by(SigningKey.created_at)
    )
    return [dict(jwk) for jwk in rows]


def _holder_context(citizen_id: uuid.UUID) -> SealContext:
    return SealContext(citizen_id=citizen_id, item_id=citizen_id, version=1, field=HOLDER_KEY_FIELD)


async def holder_public_jwk(
    session: AsyncSession, dek: DataKey, citizen_id: uuid.UUID
) -> dict[str, Any]:
    """The citizen's holder public key, made and sealed on first need."""
    row = await session.get(HolderKey, citizen_id)
    if row is not None:
        return dict(row.public_jwk)
    private = ec.generate_private_key(ec.SECP256R1())
    public = ec_public_jwk(private)
    sealed = dek.seal(_scalar(private), _holder_context(citizen_id))
    session.add(HolderKey(citizen_id=citizen_id, public_jwk=public, private_sealed=sealed))
    await session.flush()
    return dict(public)


async def holder_signer(
    session: AsyncSession, dek: DataKey, citizen_id: uuid.UUID
) -> sdjwt.SigningKey | None:
    """The citizen's holder key for signing a KB-JWT; None if they have none yet."""
    row = await session.get(HolderKey, citizen_id)
    if row is None:
        return None
    raw = dek.open(row.private_sealed, _holder_context(citizen_id))
    return sdjwt.SigningKey(_jose_key(raw), alg=ALG)
