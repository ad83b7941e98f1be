"""How refusals become typed exceptions, and the document digest check (no server)."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest

from connectors.sdk.answers import check_digest
from connectors.sdk.errors import (
    GrantRevoked,
    IntegrityError,
    InvalidClient,
    InvalidGrant,
    InvalidToken,
    NotFound,
    OAuthError,
    PdsError,
    RateLimited,
    error_from,
)


def answer(status: int, body: object = None, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(
    ("response", "kind", "code"),
    [
        (answer(403, {"code": "read_denied", "detail": "No."}), GrantRevoked, "read_denied"),
        (answer(400, {"error": "invalid_grant", "code": "invalid_grant"}), InvalidGrant, None),
        (answer(401, {"error": "invalid_client"}), InvalidClient, "invalid_client"),
        (answer(400, {"error": "invalid_request", "detail": "x"}), OAuthError, None),
        (answer(401, {"code": "invalid_token"}), InvalidToken, None),
        (answer(404, {"code": "not_found"}), NotFound, None),
        (answer(422, {"code": "invalid_input"}), PdsError, "invalid_input"),
        (httpx.Response(502, content=b"<html>bad gateway</html>"), PdsError, "http_502"),
    ],
)
def test_refusals_are_typed(
    response: httpx.Response, kind: type[PdsError], code: str | None
) -> None:
    error = error_from(response)
    assert type(error) is kind
    assert error.status == response.status_code
    if code is not None:
        assert error.code == code


def test_rate_limited_carries_retry_after_and_the_problem() -> None:
    body = {"code": "rate_limited", "detail": "Slow down.", "request_id": "r-1"}
    error = error_from(answer(429, body, **{"Retry-After": "7"}))
    assert isinstance(error, RateLimited)
    assert error.retry_after == 7
    assert error.detail == "Slow down."
    assert error.request_id == "r-1"


def test_the_digest_must_match_the_bytes() -> None:
    content = b"a water bill"
    good = "sha-256=:" + base64.b64encode(hashlib.sha256(content).digest()).decode() + ":"
    check_digest(content, good)
    check_digest(content, "sha-512=:AAAA:, " + good)
    for header in (None, "sha-512=:AAAA:", "sha-256=:!!!:", good.replace(":", ":A", 1)):
        with pytest.raises(IntegrityError):
            check_digest(content, header)
    with pytest.raises(IntegrityError):
        check_digest(content + b"!", good)
