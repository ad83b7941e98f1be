"""Domain errors with stable codes.

Domain code raises these and never imports the web framework; one handler in
``pds.web.problems`` turns each into an RFC 9457 problem document. The class a
error derives from (``NotFound``, ``Conflict``...) decides the HTTP status, and
``code`` is the stable machine-readable name clients can switch on.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every expected failure; ``code`` is part of the public contract."""

    code: ClassVar[str] = "domain_error"
    title: ClassVar[str] = "The request could not be completed"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class Refusal(DomainError):
    """A credential refused with one fixed, generic ``public_detail``; why stays private.

    ``reason`` (a short machine word, also an exception note so a logged traceback shows
    it) and ``__cause__`` are for the operator and the audit log, never the client.
    Mixed in before the family that sets the status (``Unauthenticated``, ``InvalidInput``).
    """

    public_detail: ClassVar[str] = "The request could not be completed."

    def __init__(self, reason: str) -> None:
        super().__init__(self.public_detail)
        self.reason = reason
        self.add_note(f"refused because: {reason}")

    def oauth_body(self) -> dict[str, str]:
        """The RFC 6749 §5.2 / RFC 6750 §3 error body (the same text for every reason)."""
        return {"error": self.code, "error_description": self.public_detail}


class InvalidInput(DomainError):
    """The request was understood but its content breaks a rule (maps to 422)."""

    code = "invalid_input"
    title = "The request content is not valid"


class NotFound(DomainError):
    """The resource does not exist, or the caller may not know that it does (404)."""

    code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    """The request clashes with the current state (409)."""

    code = "conflict"
    title = "Conflict with the current state"


class Unauthenticated(DomainError):
    """No valid credentials were presented (401)."""

    code = "unauthenticated"
    title = "Authentication required"


class Forbidden(DomainError):
    """The caller is known but may not do this (403)."""

    code = "forbidden"
    title = "Forbidden"


class PayloadTooLarge(DomainError):
    """An upload or body exceeds its limit (413)."""

    code = "payload_too_large"
    title = "Payload too large"


class UnsupportedMediaType(DomainError):
    """The content type is not accepted here, judged by content where it matters (415)."""

    code = "unsupported_media_type"
    title = "Unsupported media type"


class NotAcceptable(DomainError):
    """No representation the caller accepts can be produced (406)."""

    code = "not_acceptable"
    title = "Not acceptable"


class RateLimited(DomainError):
    """Too many attempts in a window (429); ``retry_after`` is in seconds."""

    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after
