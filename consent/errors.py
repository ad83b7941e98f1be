"""Token and grant refusals that tell the caller nothing an attacker could use.

Both are ``pds.errors.Refusal``s, as the credential refusals in ``connectors.errors`` are:
the RFC's error code as ``code``, one fixed, generic ``detail``, and why it was refused
kept for the operator only (``reason`` and ``__cause__``).

- ``InvalidToken`` (RFC 6750 §3.1, RFC 9449 §7.1): an access or consent token, or a
  receipt, failed verification. It derives from ``Unauthenticated`` (401), which is right
  at a resource server; at the token endpoint, where a consent token is the *grant*, the
  caller raises ``InvalidGrant`` instead.
- ``InvalidGrant`` (RFC 6749 §5.2): the grant presented at the token endpoint (code,
  consent token) is invalid, expired, revoked or another client's. 400 by the RFC, so it
  derives from ``InvalidInput``; ``oauth_body()`` is the JSON the token endpoint answers.
"""

from __future__ import annotations

from pds import errors


class InvalidToken(errors.Refusal, errors.Unauthenticated):
    """A token or receipt was refused: malformed, wrong type, badly signed, expired, not ours."""

    code = "invalid_token"
    title = "The token is not valid"
    public_detail = "The token is not valid."


class InvalidGrant(errors.Refusal, errors.InvalidInput):
    """The authorization grant is invalid, expired, revoked or was issued to another client."""

    code = "invalid_grant"
    title = "The authorization grant is not valid"
    public_detail = "The authorization grant is invalid, expired or revoked."


__all__ = ["InvalidGrant", "InvalidToken"]
