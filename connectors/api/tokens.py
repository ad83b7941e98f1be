"""Verified access tokens, remembered by digest for as long as they are valid.

A token is immutable, so once its signature, issuer, audience, type and times have been
checked there is nothing to learn by checking them again on the next request: the cache
answers the claims from the SHA-256 of the token. What can change is checked live on
every request by the caller (the DPoP proof, revocation of the token, the client's
status, the grant). An entry is dropped at the token's ``exp``; the cache is bounded and
forgets the least recently used token first.

The verification keys are cached too, and re-read when a token names a ``kid`` not
seen yet (a rotation). Pure: the caller passes ``now`` and the loader.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from consent.errors import InvalidToken
from consent.tokens import ACCESS_TOKEN_TYP, verify_token

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    LoadKeys = Callable[[], Awaitable[Mapping[str, Mapping[str, Any]]]]
    """Reads the token-signing public keys (by kid) when the cache needs them."""

MAX_ENTRIES: Final = 20_000
KEYS_TTL: Final = 60
"""Seconds a cached key set is used before it is read again (a key removed from the
JWKS stops verifying new requests within this time)."""
RELOAD_COOLDOWN: Final = 5


@dataclass(slots=True)
class TokenCache:
    """Claims of verified access tokens, keyed by the token's digest."""

    max_entries: int = MAX_ENTRIES
    _entries: OrderedDict[bytes, tuple[int, dict[str, Any]]] = field(default_factory=OrderedDict)
    _keys: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    _keys_read_at: int | None = None
    _verifying: dict[bytes, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._entries)

    async def claims(
        self,
        token: str,
        *,
        issuer: str,
        audience: str,
        now: int,
        load_keys: LoadKeys,
    ) -> dict[str, Any]:
        """The token's claims if it is a valid access token at ``now``; else ``InvalidToken``."""
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        found = self._entries.get(digest)
        if found is not None:
            expires, claims = found
            if now < expires:
                self._entries.move_to_end(digest)
                return claims
            del self._entries[digest]
            raise InvalidToken("expired")
        # Requests that bring the same new token together (a client's burst right after
        # it renewed) share one verification, and at most one key-set read, instead of
        # each doing both while the others wait behind them.
        first = self._verifying.get(digest)
        if first is None:
            first = asyncio.ensure_future(
                self._first_use(
                    digest, token, issuer=issuer, audience=audience, now=now, load_keys=load_keys
                )
            )
            self._verifying[digest] = first
            first.add_done_callback(self._finished(digest))
        # Shielded: a request that gives up (its client went away) does not cancel the
        # verification the others are waiting on.
        return await asyncio.shield(first)

    def _finished(self, digest: bytes) -> Callable[[asyncio.Future[dict[str, Any]]], None]:
        def forget(first: asyncio.Future[dict[str, Any]]) -> None:
            self._verifying.pop(digest, None)
            if not first.cancelled():
                first.exception()  # seen here, even if every waiter has gone

        return forget

    async def _first_use(
        self,
        digest: bytes,
        token: str,
        *,
        issuer: str,
        audience: str,
        now: int,
        load_keys: LoadKeys,
    ) -> dict[str, Any]:
        if self._keys_read_at is None or now - self._keys_read_at >= KEYS_TTL:
            await self._reload(now, load_keys)
        try:
            claims = self._verify(token, issuer, audience, now)
        except InvalidToken as exc:
            # A kid we have not seen may be a key rotated in since we read the set; look
            # again, but not more than once per cooldown whatever an attacker sends.
            if exc.reason != "unknown_kid" or now - (self._keys_read_at or 0) < RELOAD_COOLDOWN:
                raise
            await self._reload(now, load_keys)
            claims = self._verify(token, issuer, audience, now)
        self._remember(digest, int(claims["exp"]), claims)
        return claims

    def _verify(self, token: str, issuer: str, audience: str, now: int) -> dict[str, Any]:
        return verify_token(
            token,
            typ=ACCESS_TOKEN_TYP,
            issuer=issuer,
            audience=audience,
            public_keys=self._keys,
            now=now,
            leeway=0,
        )

    async def _reload(self, now: int, load_keys: LoadKeys) -> None:
        self._keys = await load_keys()
        self._keys_read_at = now

    def _remember(self, digest: bytes, expires: int, claims: dict[str, Any]) -> None:
        self._entries[digest] = (expires, claims)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
