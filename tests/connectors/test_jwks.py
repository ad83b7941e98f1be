"""A client's JWKS: inline, or fetched from a real loopback HTTP server with a cache."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest
from joserfc.jwk import ECKey, OKPKey

from connectors.registry.jwks import (
    MAX_JWKS_BYTES,
    JwksCache,
    JwksUnavailable,
    client_jwks,
    fetch_jwks,
    process_cache,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

SIGNING = ECKey.generate_key("P-256", parameters={"kid": "sig-1"}).as_dict(private=False)
ROTATED = ECKey.generate_key("P-256", parameters={"kid": "sig-2"}).as_dict(private=False)
ENCRYPTION = OKPKey.generate_key("X25519", parameters={"kid": "enc-1", "use": "enc"}).as_dict(
    private=False
)
PATH = "/jwks.json"


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_length: bool = True
    delay: float = 0.0
    drip: float = 0.0
    """Seconds between single bytes of the body (a slow-drip server)."""


def jwks_body(*keys: dict[str, Any]) -> bytes:
    return json.dumps({"keys": list(keys)}).encode()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (the timeout test) breaks the pipe; that is expected."""


class Server:
    """A real HTTP/1.0 server on 127.0.0.1: answers ``answer`` and counts requests."""

    def __init__(self) -> None:
        self.answer = Answer(body=jwks_body(SIGNING))
        self.hits = 0
        self.accept: str | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits += 1
                server.accept = self.headers.get("Accept")
                answer = server.answer
                time.sleep(answer.delay)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if answer.content_length:
                    self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if not answer.drip:
                    self.wfile.write(answer.body)
                    return
                for byte in answer.body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(answer.drip)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}{PATH}"

    def serve(self, **answer: Any) -> None:
        self.answer = Answer(**answer)


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    thread = threading.Thread(
        target=running.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    yield running
    running.httpd.shutdown()
    running.httpd.server_close()
    thread.join(timeout=5)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(clock: Clock) -> JwksCache:
    return JwksCache(clock=clock)


def registered(*, jwks: dict[str, Any] | None = None, jwks_uri: str | None = None) -> Any:
    return SimpleNamespace(jwks=jwks, jwks_uri=jwks_uri)


async def reason(coroutine: Any) -> str:
    with pytest.raises(JwksUnavailable) as caught:
        await coroutine
    return caught.value.reason


# --- inline -----------------------------------------------------------------------------------


async def test_inline_keys_are_returned_as_registered() -> None:
    inline = {"keys": [SIGNING]}

    assert await client_jwks(registered(jwks=inline)) is inline
    assert await client_jwks(registered(jwks=inline), refresh=True) is inline


async def test_a_client_without_keys_is_refused() -> None:
    assert await reason(client_jwks(registered())) == "not_registered"


# --- fetching ---------------------------------------------------------------------------------


async def test_fetch_keeps_only_the_usable_signing_keys(server: Server) -> None:
    p384 = ECKey.generate_key("P-384", parameters={"kid": "p384"}).as_dict(private=False)
    server.serve(body=jwks_body(SIGNING, ENCRYPTION, p384, {**ROTATED, "x5c": ["MII"]}))

    fetched = await fetch_jwks(server.url)

    assert fetched == {"keys": [SIGNING, ROTATED]}


async def test_fetch_asks_for_a_jwk_set(server: Server) -> None:
    await fetch_jwks(server.url)

    assert server.hits == 1
    assert server.accept is not None
    assert server.accept.startswith("application/jwk-set+json")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"status": 500, "body": b"oops"}, "http_status"),
        ({"status": 404}, "http_status"),
        ({"status": 302, "headers": {"Location": "https://evil.example/jwks"}}, "http_status"),
        ({"body": b"<html>"}, "not_json"),
        ({"body": b"[1, 2]"}, "bad_jwks"),
        ({"body": b'{"keys": "none"}'}, "bad_jwks"),
        ({"body": jwks_body(ENCRYPTION)}, "bad_jwks"),
        ({"body": jwks_body(SIGNING, {**ROTATED, "d": "AAAA"})}, "bad_jwks"),
        ({"body": jwks_body(SIGNING, {**ROTATED, "kid": "sig-1"})}, "bad_jwks"),
    ],
)
async def test_bad_answers_are_refused(
    server: Server, answer: dict[str, Any], expected: str
) -> None:
    server.serve(**answer)

    assert await reason(fetch_jwks(server.url)) == expected


async def test_redirects_are_not_followed(server: Server) -> None:
    server.serve(status=301, headers={"Location": server.url + "?again"})

    assert await reason(fetch_jwks(server.url)) == "http_status"
    assert server.hits == 1


@pytest.mark.parametrize("content_length", [True, False])
async def test_a_body_over_64_kib_is_refused(server: Server, content_length: bool) -> None:
    padding = "x" * MAX_JWKS_BYTES
    body = json.dumps({"keys": [SIGNING], "padding": padding}).encode()
    server.serve(body=body, content_length=content_length)

    with pytest.raises(JwksUnavailable, match="larger than 64 KiB") as caught:
        await fetch_jwks(server.url)
    assert caught.value.reason == "too_large"


async def test_a_body_of_exactly_the_limit_is_read(server: Server) -> None:
    body = jwks_body(SIGNING)
    body = body[:-1] + b" " * (MAX_JWKS_BYTES - len(body)) + b"}"
    server.serve(body=body, content_length=False)

    assert await fetch_jwks(server.url) == {"keys": [SIGNING]}


async def test_a_slow_server_times_out(server: Server) -> None:
    server.serve(body=jwks_body(SIGNING), delay=1.0)

    with pytest.raises(JwksUnavailable, match=r"no answer within 0\.2 s") as caught:
        await fetch_jwks(server.url, time_limit=0.2)
    assert caught.value.reason == "timeout"


async def test_the_time_limit_covers_the_whole_exchange(server: Server) -> None:
    # Every byte arrives well within the limit; the whole body does not.
    server.serve(body=jwks_body(SIGNING), drip=0.02)

    assert await reason(fetch_jwks(server.url, time_limit=0.3)) == "timeout"


async def test_nothing_listening_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    assert await reason(fetch_jwks(f"http://127.0.0.1:{port}/jwks.json")) == "unreachable"


@pytest.mark.parametrize(
    "uri",
    [
        "http://keys.example/jwks.json",
        "file:///etc/passwd",
        "https://user:pw@keys.example/jwks.json",
        "http://127.0.0.1:1/jwks.json#frag",
    ],
)
async def test_uris_outside_the_rules_are_never_fetched(uri: str) -> None:
    assert await reason(fetch_jwks(uri)) == "bad_uri"


# --- the cache --------------------------------------------------------------------------------


async def test_a_fetched_set_is_cached_for_five_minutes(
    server: Server, cache: JwksCache, clock: Clock
) -> None:
    first = await cache.get(server.url)
    clock.now += 299
    second = await cache.get(server.url)

    assert first == second == {"keys": [SIGNING]}
    assert server.hits == 1
    server.serve(body=jwks_body(ROTATED))
    clock.now += 1
    assert await cache.get(server.url) == {"keys": [ROTATED]}
    assert server.hits == 2


async def test_refresh_refetches_at_most_once_per_30_seconds(
    server: Server, cache: JwksCache, clock: Clock
) -> None:
    await cache.get(server.url)
    server.serve(body=jwks_body(SIGNING, ROTATED))

    clock.now += 10
    assert await cache.get(server.url, refresh=True) == {"keys": [SIGNING]}
    assert server.hits == 1

    clock.now += 20
    assert await cache.get(server.url, refresh=True) == {"keys": [SIGNING, ROTATED]}
    assert server.hits == 2

    clock.now += 29
    await cache.get(server.url, refresh=True)
    assert server.hits == 2


async def test_a_failed_refresh_keeps_the_keys_still_within_their_ttl(
    server: Server, cache: JwksCache, clock: Clock
) -> None:
    await cache.get(server.url)
    server.serve(status=503)
    clock.now += 30

    assert await cache.get(server.url, refresh=True) == {"keys": [SIGNING]}
    assert server.hits == 2


async def test_expired_keys_are_not_served_when_the_refetch_fails(
    server: Server, cache: JwksCache, clock: Clock
) -> None:
    await cache.get(server.url)
    server.serve(status=503)
    clock.now += 300

    assert await reason(cache.get(server.url)) == "http_status"


async def test_a_failure_is_remembered_for_the_cooldown(
    server: Server, cache: JwksCache, clock: Clock
) -> None:
    server.serve(status=500)
    assert await reason(cache.get(server.url)) == "http_status"

    clock.now += 29
    assert await reason(cache.get(server.url, refresh=True)) == "http_status"
    assert server.hits == 1

    server.serve(body=jwks_body(SIGNING))
    clock.now += 1
    assert await cache.get(server.url) == {"keys": [SIGNING]}
    assert server.hits == 2


async def test_the_cache_holds_a_bounded_number_of_uris(server: Server, clock: Clock) -> None:
    small = JwksCache(clock=clock, max_entries=2)
    uris = [f"{server.url}?n={n}" for n in range(3)]
    for uri in uris:
        await small.get(uri)

    await small.get(uris[2])
    await small.get(uris[0])

    assert server.hits == 4  # the oldest was evicted; the newest was still cached


async def test_client_jwks_fetches_through_the_process_cache(server: Server) -> None:
    process_cache().clear()
    client = registered(jwks_uri=server.url)
    try:
        assert await client_jwks(client) == {"keys": [SIGNING]}
        assert await client_jwks(client) == {"keys": [SIGNING]}
        assert await client_jwks(client, refresh=True) == {"keys": [SIGNING]}
    finally:
        process_cache().clear()

    assert server.hits == 1


async def test_client_jwks_uses_the_cache_it_is_given(server: Server, cache: JwksCache) -> None:
    client = registered(jwks_uri=server.url)

    await client_jwks(client, cache=cache)
    await client_jwks(client, cache=cache)

    assert server.hits == 1
