"""A client's public signing keys: inline from its manifest, or fetched from its ``jwks_uri``.

Fetched sets are cached per URI for five minutes in the process (STANDARDS.md "JWKS and
key rotation"). A caller that meets an unknown ``kid`` asks again with ``refresh=True``,
which refetches at most once per 30 seconds, so a client rotating its keys is picked up
at once while a stream of bad ``kid``s cannot turn the PDS into a request amplifier.

The fetch is deliberately narrow: https (or http on a loopback host), no redirects, no
proxy or ``.netrc`` from the environment, a short timeout for the whole exchange and at
most 64 KiB of body. The fetched set passes the same key rules as an inline one, except
that keys the PDS cannot use for signatures (encryption keys, other curves) are skipped.
Any failure is one ``JwksUnavailable``; nothing stale beyond the five minutes is served,
because a client removing a key may be removing a compromised one.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

import httpx
import msgspec

from connectors.registry.manifest import InvalidManifest, check_signing_keys, check_url
from pds.errors import DomainError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

JWKS_TTL: Final = 300.0
REFRESH_COOLDOWN: Final = 30.0
FETCH_TIMEOUT: Final = 5.0
MAX_JWKS_BYTES: Final = 64 * 1024
MAX_CACHED_URIS: Final = 1024
_ACCEPT: Final = "application/jwk-set+json, application/json;q=0.9"


class JwksUnavailable(DomainError):
    """The client's keys could not be had, so nothing it signed can be checked.

    The token endpoint answers ``invalid_client`` for this (chaining it as the cause);
    ``reason`` is a short word for logs: ``not_registered``, ``bad_uri``, ``unreachable``,
    ``timeout``, ``http_status``, ``too_large``, ``not_json``, ``bad_jwks``.
    """

    code = "client_jwks_unavailable"
    title = "The client's keys could not be fetched"

    def __init__(self, detail: str, *, reason: str) -> None:
        super().__init__(detail)
        self.reason = reason


class HasKeys(Protocol):
    """What a registration must offer (``connectors.models.Client`` does)."""

    @property
    def jwks(self) -> dict[str, Any] | None: ...

    @property
    def jwks_uri(self) -> str | None: ...


async def fetch_jwks(
    uri: str, *, time_limit: float = FETCH_TIMEOUT, max_bytes: int = MAX_JWKS_BYTES
) -> dict[str, Any]:
    """GET one JWKS and return its checked signing keys as ``{"keys": [...]}``."""
    try:
        check_url(uri, "jwks_uri", fragment=False)
    except InvalidManifest as exc:
        raise JwksUnavailable(
            f"The JWKS URI is not allowed: {exc.detail}", reason="bad_uri"
        ) from exc
    try:
        async with asyncio.timeout(time_limit):
            body = await _get(uri, time_limit, max_bytes)
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise _failed(uri, f"no answer within {time_limit:g} s", "timeout") from exc
    except httpx.HTTPError as exc:
        raise _failed(uri, f"{type(exc).__name__}", "unreachable") from exc
    return _checked_jwks(uri, body)


async def _get(uri: str, time_limit: float, max_bytes: int) -> bytes:
    async with (
        httpx.AsyncClient(timeout=time_limit, follow_redirects=False, trust_env=False) as http,
        http.stream("GET", uri, headers={"Accept": _ACCEPT}) as response,
    ):
        if response.status_code != httpx.codes.OK:
            raise _failed(uri, f"HTTP {response.status_code}", "http_status")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise _too_large(uri, max_bytes)
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise _too_large(uri, max_bytes)
        return bytes(body)


def _checked_jwks(uri: str, body: bytes) -> dict[str, Any]:
    try:
        document = msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise _failed(uri, "the answer is not JSON", "not_json") from exc
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise _failed(uri, "the answer has no 'keys' array", "bad_jwks")
    try:
        return {"keys": check_signing_keys(keys, "jwks", skip_unusable=True)}
    except InvalidManifest as exc:
        raise _failed(uri, exc.detail, "bad_jwks") from exc


def _failed(uri: str, why: str, reason: str) -> JwksUnavailable:
    return JwksUnavailable(f"The client's JWKS at {uri} could not be used: {why}", reason=reason)


def _too_large(uri: str, max_bytes: int) -> JwksUnavailable:
    return _failed(uri, f"the answer is larger than {max_bytes // 1024} KiB", "too_large")


@dataclass(slots=True)
class _Entry:
    jwks: dict[str, Any] | None
    """The last set fetched, or ``None`` if no fetch has succeeded yet."""
    fetched_at: float
    attempted_at: float
    failure: JwksUnavailable | None = None


class JwksCache:
    """Fetched JWKS by URI: fresh for ``ttl`` seconds, refetched at most every ``cooldown``.

    A failed fetch is remembered for ``cooldown`` too, so a dead endpoint costs one
    request per 30 s rather than one per token request. ``clock`` is monotonic seconds.
    """

    def __init__(
        self,
        *,
        ttl: float = JWKS_TTL,
        cooldown: float = REFRESH_COOLDOWN,
        clock: Callable[[], float] = time.monotonic,
        fetch: Callable[[str], Awaitable[dict[str, Any]]] = fetch_jwks,
        max_entries: int = MAX_CACHED_URIS,
    ) -> None:
        self.ttl, self.cooldown, self.max_entries = ttl, cooldown, max_entries
        self._clock, self._fetch = clock, fetch
        self._entries: dict[str, _Entry] = {}

    async def get(self, uri: str, *, refresh: bool = False) -> dict[str, Any]:
        """The set at ``uri``; ``refresh`` asks for a refetch (an unknown ``kid`` was seen)."""
        now = self._clock()
        entry = self._entries.get(uri)
        fresh = entry is not None and entry.jwks is not None and now - entry.fetched_at < self.ttl
        may_fetch = entry is None or now - entry.attempted_at >= self.cooldown
        if entry is not None and entry.jwks is not None and fresh and not (refresh and may_fetch):
            return entry.jwks
        if entry is not None and not may_fetch:
            raise _repeat(entry.failure, uri)
        try:
            jwks = await self._fetch(uri)
        except JwksUnavailable as exc:
            self._remember_failure(uri, entry, now, exc)
            if entry is not None and entry.jwks is not None and fresh:
                return entry.jwks  # a failed refresh keeps keys still within their TTL
            raise
        self._store(uri, _Entry(jwks=jwks, fetched_at=now, attempted_at=now))
        return jwks

    def clear(self) -> None:
        """Forget everything (tests; an operator who knows a client rotated its keys)."""
        self._entries.clear()

    def _remember_failure(
        self, uri: str, entry: _Entry | None, now: float, failure: JwksUnavailable
    ) -> None:
        kept = entry.jwks if entry is not None else None
        fetched_at = entry.fetched_at if entry is not None else now
        self._store(uri, _Entry(kept, fetched_at, attempted_at=now, failure=failure))

    def _store(self, uri: str, entry: _Entry) -> None:
        self._entries.pop(uri, None)
        while len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]  # the least recently stored
        self._entries[uri] = entry


def _repeat(failure: JwksUnavailable | None, uri: str) -> JwksUnavailable:
    """A fresh error saying the last one still holds (re-raising one object grows its trace)."""
    if failure is None:
        return _failed(uri, "fetched too recently to try again", "cooldown")
    return JwksUnavailable(failure.detail, reason=failure.reason)


_PROCESS_CACHE: Final = JwksCache()


async def client_jwks(
    client: HasKeys, *, refresh: bool = False, cache: JwksCache | None = None
) -> dict[str, Any]:
    """The client's JWKS, ready for ``verify_client_assertion``.

    Inline keys are returned as registered; a ``jwks_uri`` goes through ``cache``
    (default: the process-wide one).
    """
    if client.jwks is not None:
        return client.jwks
    if client.jwks_uri is None:
        raise JwksUnavailable("The client has no keys registered.", reason="not_registered")
    return await (cache or _PROCESS_CACHE).get(client.jwks_uri, refresh=refresh)


def process_cache() -> JwksCache:
    """The cache ``client_jwks`` uses by default (to clear it, or inspect it in tests)."""
    return _PROCESS_CACHE


__all__ = [
    "FETCH_TIMEOUT",
    "JWKS_TTL",
    "MAX_JWKS_BYTES",
    "REFRESH_COOLDOWN",
    "HasKeys",
    "JwksCache",
    "JwksUnavailable",
    "client_jwks",
    "fetch_jwks",
    "process_cache",
]
