"""The connector API's cache of verified access tokens (``connectors.api.tokens``): what it
remembers, when it forgets, when it reads the key set, and that requests bringing the
same new token at once share one verification."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

from connectors.api.tokens import KEYS_TTL, RELOAD_COOLDOWN, TokenCache
from consent import tokens
from consent.errors import InvalidToken

if TYPE_CHECKING:
    from collections.abc import Mapping

ISSUER = "https://pds.example"
AUDIENCE = ISSUER + "/connect/v1"
NOW = 1_800_000_000
KEY = tokens.new_signing_key()
SIGNER = tokens.signer_from_private_bytes(KEY.kid, KEY.private_bytes)
ROTATED = tokens.new_signing_key()
ROTATED_SIGNER = tokens.signer_from_private_bytes(ROTATED.kid, ROTATED.private_bytes)


def access_token(jti: str, *, signer: tokens.TokenSigner = SIGNER, now: int = NOW) -> str:
    return tokens.issue_access_token(
        signer,
        issuer=ISSUER,
        audience=AUDIENCE,
        client_id="council-housing",
        subject="pairwise-subject",
        jkt="dpop-key-thumbprint",
        now=now,
        jti=jti,
    )


class KeySet:
    """The loader the cache is given: counts reads, can be slow, can gain a key."""

    def __init__(self, *keys: tokens.NewSigningKey, delay: float = 0) -> None:
        self.keys = list(keys)
        self.delay = delay
        self.reads = 0

    async def __call__(self) -> Mapping[str, Mapping[str, Any]]:
        self.reads += 1
        await asyncio.sleep(self.delay)
        return {key.kid: key.public_jwk for key in self.keys}


async def claims(cache: TokenCache, token: str, keys: KeySet, now: int = NOW) -> dict[str, Any]:
    return await cache.claims(token, issuer=ISSUER, audience=AUDIENCE, now=now, load_keys=keys)


async def test_a_verified_token_is_answered_from_memory_until_it_expires() -> None:
    cache, keys = TokenCache(), KeySet(KEY)
    token = access_token("a")

    first = await claims(cache, token, keys)
    again = await claims(cache, token, keys, now=NOW + 299)

    assert first["jti"] == "a"
    assert again is first
    assert keys.reads == 1
    with pytest.raises(InvalidToken) as expired:
        await claims(cache, token, keys, now=NOW + 300)
    assert expired.value.reason == "expired"
    assert len(cache) == 0


async def test_a_token_changed_by_one_character_is_not_the_cached_one() -> None:
    cache, keys = TokenCache(), KeySet(KEY)
    token = access_token("a")
    await claims(cache, token, keys)
    head, payload, signature = token.split(".")
    forged = ".".join((head, payload, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BA")))

    with pytest.raises(InvalidToken):
        await claims(cache, forged, keys)


async def test_the_least_recently_used_token_is_forgotten_first() -> None:
    cache, keys = TokenCache(max_entries=2), KeySet(KEY)
    a, b, c = access_token("a"), access_token("b"), access_token("c")
    seen = {token: await claims(cache, token, keys) for token in (a, b)}
    await claims(cache, a, keys)  # a is now the more recently used
    await claims(cache, c, keys)

    assert len(cache) == 2
    # A remembered token answers with the very claims verified before; a forgotten one
    # is verified afresh.
    assert await claims(cache, a, keys) is seen[a]
    assert await claims(cache, b, keys) is not seen[b]


async def test_the_key_set_is_read_again_once_its_ttl_has_passed() -> None:
    cache, keys = TokenCache(), KeySet(KEY)
    await claims(cache, access_token("a"), keys)
    await claims(cache, access_token("b"), keys, now=NOW + KEYS_TTL - 1)
    assert keys.reads == 1

    later = NOW + KEYS_TTL
    await claims(cache, access_token("c", now=later), keys, now=later)
    assert keys.reads == 2


async def test_a_rotated_key_is_fetched_once_per_cooldown() -> None:
    cache, keys = TokenCache(), KeySet(KEY)
    await claims(cache, access_token("old"), keys)
    keys.keys.append(ROTATED)

    with pytest.raises(InvalidToken) as too_soon:
        await claims(cache, access_token("new", signer=ROTATED_SIGNER), keys)
    assert too_soon.value.reason == "unknown_kid"
    assert keys.reads == 1

    later = NOW + RELOAD_COOLDOWN
    fresh = await claims(cache, access_token("new", signer=ROTATED_SIGNER, now=later), keys, later)
    assert fresh["jti"] == "new"
    assert keys.reads == 2


async def test_requests_bringing_one_new_token_together_share_one_verification() -> None:
    cache, keys = TokenCache(), KeySet(KEY, delay=0.01)
    token = access_token("burst")

    answers = await asyncio.gather(*(claims(cache, token, keys) for _ in range(32)))

    assert keys.reads == 1
    assert all(answer is answers[0] for answer in answers)
    assert answers[0]["jti"] == "burst"


async def test_a_bad_token_brought_together_is_refused_to_every_request() -> None:
    cache, keys = TokenCache(), KeySet(KEY, delay=0.01)
    foreign = access_token("x", signer=ROTATED_SIGNER)

    answers = await asyncio.gather(
        *(claims(cache, foreign, keys) for _ in range(8)), return_exceptions=True
    )

    assert all(isinstance(answer, InvalidToken) for answer in answers)
    assert keys.reads == 1
    assert len(cache) == 0


async def test_a_request_that_gives_up_does_not_fail_the_others() -> None:
    cache, keys = TokenCache(), KeySet(KEY, delay=0.05)
    token = access_token("shared")
    first = asyncio.ensure_future(claims(cache, token, keys))
    await asyncio.sleep(0.01)  # the first is now reading the key set
    second = asyncio.ensure_future(claims(cache, token, keys))
    await asyncio.sleep(0)

    first.cancel()
    answer = await second

    assert answer["jti"] == "shared"
    assert first.cancelled()
    assert keys.reads == 1
    assert len(cache) == 1
