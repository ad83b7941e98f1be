"""The keys tokens and receipts are signed with, loaded from the shared signing-key table.

Every process signs with the newest ``tokens`` key and verifies against all of them
(retired keys stay until what they signed has expired). The DPoP nonce secret is
derived from the current signing key with HKDF, so every process agrees on nonces
without another stored secret, and rotating the key rotates the nonces too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.exc import DBAPIError

from consent.token_keys import TokenSigner, signer_from_private_bytes
from pds.keys.signing import TOKENS, active_private_bytes, key_rows, public_keys, unwrap_private

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.db import Database
    from pds.keys.provider import KeyProvider

log = logging.getLogger("pds.keys")

_NONCE_INFO: Final = b"pds/dpop-nonce-secret/v1"
_CSRF_INFO: Final = b"pds/authorize-csrf-secret/v1"


@dataclass(frozen=True, slots=True)
class ServerKeys:
    """The current signer, every published verification key, and derived secrets."""

    signer: TokenSigner
    verification_keys: Mapping[str, Mapping[str, Any]]
    nonce_secret: bytes = field(repr=False)
    csrf_secret: bytes = field(repr=False)


def _derive(raw: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(raw)


@lru_cache(maxsize=8)
def _from_private(kid: str, raw: bytes) -> tuple[TokenSigner, bytes, bytes]:
    """Rebuilt once per key per process: importing and checking the key costs more than
    the database read that finds it."""
    return (
        signer_from_private_bytes(kid, raw),
        _derive(raw, _NONCE_INFO),
        _derive(raw, _CSRF_INFO),
    )


async def server_keys(session: AsyncSession, keys: KeyProvider) -> ServerKeys:
    """The token keys, in one read; on a fresh install make the first and commit it at once.

    The DPoP nonce secret derives from the key, so a key made inside a request that is
    then refused (and rolled back) would take the nonce just sent with it: the client's
    retry would meet another key and another nonce, for ever.
    """
    rows = await key_rows(session, TOKENS)
    current = [row for row in rows if row.retired_at is None]
    if not current:
        await active_private_bytes(session, keys, TOKENS)
        await session.commit()
        rows = await key_rows(session, TOKENS)
        current = [row for row in rows if row.retired_at is None]
    newest = current[-1]
    signer, nonce_secret, csrf_secret = _from_private(newest.kid, unwrap_private(keys, newest))
    return ServerKeys(
        signer=signer,
        verification_keys={row.kid: dict(row.public_jwk) for row in rows},
        nonce_secret=nonce_secret,
        csrf_secret=csrf_secret,
    )


async def ensure_token_key(db: Database, keys: KeyProvider) -> None:
    """Make the first token key at start-up, in a write transaction of its own.

    Left to the first request that needs it, it would be made inside that request's
    transaction: on SQLite a read (the consent page) then has to upgrade to a write and
    can lose to the audit sequencer. A server whose database is not migrated yet starts
    anyway (``/readyz`` says so) and makes the key on first use.
    """
    try:
        async with db.sessions() as session:
            if not await public_keys(session, TOKENS):
                await active_private_bytes(session, keys, TOKENS)
                await session.commit()
    except (DBAPIError, OSError) as exc:
        log.warning("token signing key not made at start-up: %s", type(exc).__name__)
