"""Who gets a JWE: ``Accept`` read as RFC 9110 content negotiation, not as a substring.

A client that lists ``application/jose`` asks for encryption; one that gives it a weight
of zero, or ranks JSON above it, does not (before this, ``q=0`` still got a JWE, and a
proof was spent on the 406 a client without a registered key then received).
"""

from __future__ import annotations

import pytest

from connectors.api.jwe import wants_jwe


@pytest.mark.parametrize(
    ("accept", "wanted"),
    [
        ("application/jose", True),
        ("Application/JOSE; charset=utf-8", True),
        ("application/json, application/jose", True),  # listed at all, at JSON's weight
        ("application/jose;q=0.5, application/json;q=0.4", True),
        ("*/*;q=0.1, application/jose", True),
        ("application/json, application/jose;q=0", False),
        ("application/jose;q=0.5, application/json", False),  # JSON ranked above it
        ("application/jose;q=0.3, */*", False),
        ("application/jose;q=abc", False),  # malformed weight: counts for nothing
        ("application/jose;q=2", False),
        ("application/json", False),
        ("*/*", False),
        ("application/josex", False),
        ("", False),
        (None, False),
    ],
)
def test_accept_asks_for_jose(accept: str | None, wanted: bool) -> None:
    assert wants_jwe(accept) is wanted
