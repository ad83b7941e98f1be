"""OAuth error answers: RFC 6749 §5.2 members inside an RFC 9457 problem document.

Clients of the OAuth endpoints read ``error`` and ``error_description`` (every OAuth
library does); everything else in this API reads problem documents. One body carries
both, so neither kind of client is surprised. It is sent as ``application/json``, the
type RFC 6749 §5.2 names and conformance suites check, where the rest of the API says
``application/problem+json``. Refusals of credentials keep their generic text; the
reason stays in the audit log and the server's log.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from litestar.openapi.datastructures import ResponseSpec

from connectors.errors import BadOAuthRequest, InvalidClient, UseDPoPNonce
from pds import errors
from pds.web.problems import Problem, problem

if TYPE_CHECKING:
    from litestar import Request, Response

log = logging.getLogger("pds.oauth")


def oauth_error(exc: errors.DomainError) -> tuple[int, str, str]:
    """(HTTP status, RFC error code, description) for a refusal at an OAuth endpoint."""
    if isinstance(exc, InvalidClient):
        return 401, exc.code, exc.public_detail
    if isinstance(exc, errors.Refusal):  # DPoP proofs, grants, tokens: generic text
        return 400, exc.code, exc.public_detail
    if isinstance(exc, BadOAuthRequest):
        return 400, exc.code, exc.detail
    if isinstance(exc, errors.RateLimited):
        return 429, "slow_down", exc.detail
    named = getattr(exc, "oauth_error", None)
    if isinstance(named, str):
        return 400, named, exc.detail
    return 400, "invalid_request", exc.detail


def refusal_reason(exc: errors.DomainError) -> str:
    """The operator's word for why (``replayed_jti``…), or the error's code."""
    reason = getattr(exc, "reason", None)
    return reason if isinstance(reason, str) else exc.code


def handle_oauth_error(_: Request[Any, Any, Any], exc: errors.DomainError) -> Response[Any]:
    status, code, description = oauth_error(exc)
    log.info("oauth refusal %s (%s)", code, refusal_reason(exc))
    headers = {"Cache-Control": "no-store"}
    if isinstance(exc, UseDPoPNonce):
        headers["DPoP-Nonce"] = exc.nonce
    extra: dict[str, Any] = {"error": code, "error_description": description}
    field = getattr(exc, "field", None)
    if isinstance(field, str):
        extra["field"] = field
    response = problem(
        status,
        code,
        exc.title,
        description,
        problem_type=f"urn:pds:problem:{code}",
        headers=headers,
        **extra,
    )
    response.media_type = OAUTH_ERROR_MEDIA_TYPE
    return response


OAUTH_ERROR_MEDIA_TYPE = "application/json"


class OAuthProblem(Problem, omit_defaults=True):
    """A problem document that is also an RFC 6749 §5.2 error response."""

    error: str = "invalid_request"
    error_description: str = ""


def oauth_error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the OAuth error answers of an endpoint."""
    return {
        status: ResponseSpec(
            data_container=OAuthProblem,
            media_type=OAUTH_ERROR_MEDIA_TYPE,
            description="OAuth error (RFC 6749 §5.2) in a problem document (RFC 9457)",
            generate_examples=False,
        )
        for status in statuses
    }


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {errors.DomainError: handle_oauth_error}
