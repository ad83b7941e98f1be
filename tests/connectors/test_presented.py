"""What a connector request carried, read off the ASGI scope (``connectors.api.unit``)."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.api.unit import presented
from consent.errors import InvalidToken

BASE = "https://pds.example.gov.uk"


def scope(path: str, raw_path: bytes | None, headers: list[tuple[bytes, bytes]]) -> Any:
    made: dict[str, Any] = {"type": "http", "method": "GET", "path": path, "headers": headers}
    if raw_path is not None:
        made["raw_path"] = raw_path
    return made


def test_the_url_is_the_path_as_sent_and_every_proof_is_kept() -> None:
    headers = [(b"authorization", b"DPoP t"), (b"dpop", b"p1"), (b"dpop", b"p2")]
    got = presented(scope("/connect/v1/a b", b"/connect/v1/a%20b", headers), BASE)

    assert got.url == f"{BASE}/connect/v1/a%20b"
    assert got.authorization == "DPoP t"
    assert list(got.dpop) == ["p1", "p2"]  # refused later, by the proof check


@pytest.mark.parametrize(
    ("path", "sent"),
    [("/connect/v1/events", "/connect/v1/events"), ("/connect/v1/a b", "/connect/v1/a%20b")],
)
def test_a_server_that_gives_no_raw_path_gets_the_path_quoted_back(path: str, sent: str) -> None:
    """ASGI makes ``raw_path`` optional: its absence must not be a 500."""
    assert presented(scope(path, None, []), BASE).url == BASE + sent


def test_a_second_authorization_header_is_refused() -> None:
    headers = [(b"authorization", b"DPoP a"), (b"authorization", b"DPoP b")]
    with pytest.raises(InvalidToken):
        presented(scope("/connect/v1/events", b"/connect/v1/events", headers), BASE)
