"""What can go wrong, as typed exceptions: one base with the server's own words.

Every answer the PDS refuses with is an RFC 9457 problem document (OAuth endpoints add
RFC 6749 ``error``/``error_description`` to it); ``PdsError`` carries its ``status``,
``code`` and ``detail``, and the subclasses name what a service usually reacts to.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx


class PdsError(Exception):
    """A refusal or a failure. ``status`` is the HTTP status (None for a front-channel
    answer or a check made here), ``code`` the stable machine code."""

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        code: str = "error",
        problem: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {detail}" if status is None else f"{status} {code}: {detail}")
        self.detail = detail
        self.status = status
        self.code = code
        self.problem: dict[str, Any] = problem or {}

    @property
    def request_id(self) -> str | None:
        """The server's request id, to quote when asking the PDS operators about it."""
        value = self.problem.get("request_id")
        return value if isinstance(value, str) else None


class DiscoveryError(PdsError):
    """The metadata is missing, malformed, or names another issuer (RFC 8414 §3.3)."""


class AuthorizationResponseError(PdsError):
    """The callback is not a good answer to our request: wrong ``state`` or ``iss``
    (RFC 9207), no code, or an OAuth error other than ``access_denied``."""


class AccessDenied(AuthorizationResponseError):
    """The citizen said no (``error=access_denied`` on the callback)."""


class OAuthError(PdsError):
    """The token endpoint refused (``code`` is the RFC 6749 ``error``)."""


class InvalidClient(OAuthError):
    """Client authentication failed: wrong key, unknown or suspended client, clock skew."""


class InvalidGrant(OAuthError):
    """The code or consent token buys nothing (used, expired, revoked, another client's)."""


class InvalidToken(PdsError):
    """401 from the connector API even after one refresh: the token is not accepted."""


class GrantRevoked(PdsError):
    """No active grant covers the read: the citizen revoked it, it expired, or it was never
    approved (403 ``read_denied``, or ``invalid_grant`` when refreshing for a read).
    Stop reading and delete what the grant no longer allows you to keep."""


class NotFound(PdsError):
    """404: unknown to this client (another client's grant looks the same)."""


class RateLimited(PdsError):
    """429: slow down; ``retry_after`` is the server's ``Retry-After`` in seconds."""

    def __init__(self, detail: str, *, retry_after: int, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after


class IntegrityError(PdsError):
    """A document's bytes do not match the digest the server sent (``Repr-Digest``)."""


def problem_of(response: httpx.Response) -> dict[str, Any]:
    """The problem document of a refusal, or ``{}`` when the body is not JSON."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def error_from(response: httpx.Response) -> PdsError:
    """The typed exception for a refused response (any status >= 400)."""
    problem = problem_of(response)
    status = response.status_code
    code = str(problem.get("error") or problem.get("code") or f"http_{status}")
    detail = str(
        problem.get("error_description") or problem.get("detail") or response.reason_phrase
    )
    kwargs: dict[str, Any] = {"status": status, "code": code, "problem": problem}
    if status == 429:
        return RateLimited(detail, retry_after=_retry_after(response), **kwargs)
    kind = _KINDS.get(code) or _BY_STATUS.get(status, PdsError)
    if kind is PdsError and "error" in problem:
        kind = OAuthError
    return kind(detail, **kwargs)


def _retry_after(response: httpx.Response) -> int:
    value = response.headers.get("retry-after", "")
    return int(value) if value.isdigit() else 1


_KINDS: dict[str, type[PdsError]] = {
    "invalid_client": InvalidClient,
    "invalid_grant": InvalidGrant,
    "read_denied": GrantRevoked,
}
_BY_STATUS: dict[int, type[PdsError]] = {401: InvalidToken, 404: NotFound}
