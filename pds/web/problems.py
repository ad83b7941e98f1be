"""RFC 9457 problem documents for every error the app can answer with.

One place maps exceptions to responses: domain errors by their class (status)
and ``code``; framework errors by status; anything unexpected becomes a bare
500 whose details go to the log, never to the client.
"""

from __future__ import annotations

import logging
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from pds import errors
from pds.db_failures import Unavailable, unavailable
from pds.logs import request_id_var

if TYPE_CHECKING:
    from collections.abc import Mapping

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("pds.web")

_DOMAIN_STATUS: tuple[tuple[type[errors.DomainError], int], ...] = (
    (errors.InvalidInput, 422),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.Unauthenticated, 401),
    (errors.Forbidden, 403),
    (errors.PayloadTooLarge, 413),
    (errors.UnsupportedMediaType, 415),
    (errors.NotAcceptable, 406),
    (errors.RateLimited, 429),
)

_HTTP_CODES = {
    400: ("bad_request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    409: ("conflict", "Conflict with the current state"),
    422: ("invalid_input", "The request content is not valid"),
    413: ("payload_too_large", "Payload too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    429: ("rate_limited", "Too many requests"),
    503: ("unavailable", "Service unavailable"),
}


class FieldError(msgspec.Struct):
    field: str | None
    message: str | None
    source: str | None = None


class Problem(msgspec.Struct, omit_defaults=True):
    """The RFC 9457 shape every error response takes (documented in OpenAPI)."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str | None = None
    errors: list[FieldError] | None = None


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem documents a route can answer with."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            description=_HTTP_CODES.get(status, ("", "Error"))[1],
            generate_examples=False,
        )
        for status in statuses
    }


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    problem_type: str = "about:blank",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    """Build a problem document response; ``extra`` members sit beside the standard ones."""
    body: dict[str, Any] = {
        "type": problem_type,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    request_id = request_id_var.get()
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_status(exc: errors.DomainError) -> int:
    """The HTTP status for a domain error, chosen by the family it belongs to."""
    for family, status in _DOMAIN_STATUS:
        if isinstance(exc, family):
            return status
    return 400


def handle_domain_error(_: Request[Any, Any, Any], exc: errors.DomainError) -> Response[Any]:
    headers = None
    if isinstance(exc, errors.RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    return problem(
        domain_status(exc),
        exc.code,
        exc.title,
        exc.detail,
        problem_type=f"urn:pds:problem:{exc.code}",
        headers=headers,
        **{name: value for name, value in exc.extra.items() if name not in _RESERVED},
    )


_RESERVED = frozenset({"type", "title", "status", "detail", "code", "instance", "request_id"})
"""Problem members an error's extras may not replace (nor collide with ``problem``'s
own parameters, which would turn a refusal into a 500)."""


def handle_http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status >= 500:
        log.error("server error %s: %s", status, exc.detail, exc_info=exc)
        return _internal_error()
    if isinstance(exc, ValidationException):
        return _validation_problem(exc)
    code, title = _HTTP_CODES.get(status, (f"http_{status}", "Request failed"))
    if status == 400 and isinstance(exc.__cause__, SerializationException):
        # Litestar wraps every body that fails to decode (bad syntax, truncated, not
        # UTF-8) in a 400 caused by this; the decoder's wording varies with the fault.
        code, title = "malformed_json", "The body is not valid JSON"
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() in _SAFE_HEADERS}
    return problem(status, code, title, _http_detail(status, exc), headers=headers or None)


_SAFE_HEADERS = frozenset({"allow", "retry-after", "www-authenticate"})


def _http_detail(status: int, exc: HTTPException) -> str:
    if status == 404:
        return "Nothing exists at this address."
    if status == 405:
        return "This address does not accept that method."
    if status == 413:
        return "The request body is larger than this endpoint accepts."
    return str(exc.detail) or "The request could not be processed."


def _validation_problem(exc: ValidationException) -> Response[Any]:
    found = exc.extra if isinstance(exc.extra, list) else []
    fields = [
        {"field": item.get("key"), "source": item.get("source"), "message": item.get("message")}
        for item in found
        if isinstance(item, dict)
    ]
    detail = str(exc.detail) if exc.detail else "The request is not valid."
    return problem(400, "invalid_request", "The request is not valid", detail, errors=fields)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A database that is overloaded or out of reach (``pds.db_failures``) is 503 with a
    hint to retry: the unit of work was rolled back (or never began), so nothing of it
    was written. Anything else is a fault of ours: 500, details to the log only."""
    why = unavailable(exc)
    if why is None:
        log.exception("unhandled error", exc_info=exc)
        return _internal_error()
    log.warning("database %s: %s %s (%r)", why.value, request.method, request.url.path, exc)
    return problem(503, "unavailable", *UNAVAILABLE_WORDS[why], headers=dict(RETRY_SOON))


UNAVAILABLE_WORDS: Final = {
    Unavailable.BUSY: ("Service busy", "The service is busy. Try again in a moment."),
    Unavailable.UNREACHABLE: (
        "Service unavailable",
        "The service cannot reach its data just now. Try again in a moment.",
    ),
}
RETRY_SOON: Final[Mapping[str, str]] = MappingProxyType({"Retry-After": "1"})


def _internal_error() -> Response[Any]:
    return problem(
        500,
        "internal_error",
        "Internal server error",
        "Something went wrong on our side. Quote the request id if you contact us.",
    )


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    errors.DomainError: handle_domain_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "RETRY_SOON", "UNAVAILABLE_WORDS", "problem"]
