"""The PDS's public signing keys, for anyone checking what it signed."""

from __future__ import annotations

import msgspec
from litestar import get
from litestar.datastructures import CacheControlHeader

from pds.keys.signing import published_jwks
from pds.web.deps import DbSession

JWKS_MAX_AGE = 300


class PublicJwk(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """A public JWK (RFC 7517); members a key type does not use are left out.

    Unknown members are refused rather than dropped, so a new key type fails loudly
    here instead of being published without the members verifiers need.
    """

    kty: str
    kid: str
    use: str | None = None
    alg: str | None = None
    crv: str | None = None
    x: str | None = None
    y: str | None = None


class JwkSet(msgspec.Struct):
    keys: list[PublicJwk]


@get(
    "/.well-known/jwks.json",
    operation_id="getJwks",
    tags=["keys"],
    summary="Public signing keys, current and retired (tokens: ES256; checkpoints: Ed25519)",
    cache_control=CacheControlHeader(public=True, max_age=JWKS_MAX_AGE),
)
async def jwks(db_session: DbSession) -> JwkSet:
    return msgspec.convert(await published_jwks(db_session), JwkSet)
