"""Token and grant refusals that tell the caller nothing an attacker could use.

The same shape as ``connectors.errors`` (which ``consent`` must not import): each refusal
carries the RFC's error code as ``code`` and one fixed, generic ``detail``; why it was
refused is kept for the operator only, as ``reason`` (a short machine word, also attached
as an exception note so a logged traceback shows it) and as ``__cause__`` when a library
error lay behind it. Neither is part of ``detail`` or ``extra``, which reach the client.

- ``InvalidToken`` (RFC 6750 §3.1, RFC 9449 §7.1): an access or consent token, or a
  receipt, failed verification. It derives from ``Unauthenticated`` (401), which is right
  at a resource server; at the token endpoint, where a consent token is the *grant*, the
  caller raises ``InvalidGrant`` instead.
- ``InvalidGrant`` (RFC 6749 §5.2): the grant presented at the token endpoint (code,
  consent token) is invalid, expired, revoked or another client's. 400 by the RFC, so it
  derives from ``InvalidInput``; ``oauth_body()`` is the JSON the token endpoint answers.
"""

from __future__ import annotations

from typing import ClassVar

from pds import errors


class _Refusal(errors.DomainError):
    """A generic public refusal with a private ``reason``; subclasses pick code and status."""

    public_detail: ClassVar[str] = "The request could not be completed."

    def __init__(self, reason: str) -> None:
        super().__init__(self.public_detail)
        self.reason = reason
        self.add_note(f"refused because: {reason}")

    def oauth_body(self) -> dict[str, str]:
        """The RFC 6749 §5.2 / RFC 6750 §3 error body (the same text for every reason)."""
        return {"error": self.code, "error_description": self.public_detail}


class InvalidToken(_Refusal, errors.Unauthenticated):
    """A token or receipt was refused: malformed, wrong type, badly signed, expired, not ours."""

    code = "invalid_token"
    title = "The token is not valid"
    public_detail = "The token is not valid."


class InvalidGrant(_Refusal, errors.InvalidInput):
    """The authorization grant is invalid, expired, revoked or was issued to another client."""

    code = "invalid_grant"
    title = "The authorization grant is not valid"
    public_detail = "The authorization grant is invalid, expired or revoked."


__all__ = ["InvalidGrant", "InvalidToken"]
