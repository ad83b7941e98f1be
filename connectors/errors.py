"""OAuth refusals: one error per code the RFCs name, each saying nothing an attacker can use.

Every refusal carries the RFC's error code as ``code`` (RFC 6749 §5.2 ``invalid_client``,
RFC 9449 §5/§7.1 ``invalid_dpop_proof``, RFC 9449 §8/§9 ``use_dpop_nonce``) and one fixed,
generic ``detail``. Why the credential was refused is kept for the operator only:

- ``reason``: a short machine word (``htm_mismatch``, ``replayed_jti``…) for logs and audit;
  it is also attached as an exception note, so a logged traceback shows it;
- ``__cause__``: the library error behind it, when there was one (``raise … from exc``).

Neither is part of ``detail`` or ``extra``, which the web layer sends to the client.

Status codes: these derive from ``Unauthenticated`` so a bare mapping answers 401, which
is right at a resource server (RFC 9449 §7.1, with ``WWW-Authenticate: DPoP``). The token
endpoint must answer RFC 6749 §5.2 JSON instead (``oauth_body()``), with status 400 for
the DPoP errors (RFC 9449 §5, §8) and 401 for ``invalid_client``.
"""

from __future__ import annotations

from typing import ClassVar

from pds import errors


class OAuthError(errors.Refusal, errors.Unauthenticated):
    """A credential (client assertion, DPoP proof) was refused; ``code`` is the RFC's name."""

    code: ClassVar[str] = "invalid_request"
    title: ClassVar[str] = "The request could not be authorised"
    public_detail: ClassVar[str] = "The request could not be authorised."


class InvalidClient(OAuthError):
    """Client authentication failed: unknown client, bad assertion, replay… (RFC 6749 §5.2)."""

    code = "invalid_client"
    title = "Client authentication failed"
    public_detail = "Client authentication failed."


class DPoPError(OAuthError):
    """Any refusal of a DPoP proof; catch this to handle both codes below."""

    code = "invalid_dpop_proof"
    title = "The DPoP proof is not valid"
    public_detail = "The DPoP proof is not valid."


class InvalidDPoPProof(DPoPError):
    """The proof is malformed, badly signed, for another request, stale or replayed."""


class UseDPoPNonce(DPoPError):
    """The proof lacks the server nonce or carries a stale one; retry with ``nonce``.

    The caller sends ``nonce`` in the ``DPoP-Nonce`` response header (RFC 9449 §8, §9).
    It is not secret, but it is not put in ``extra`` either: headers are its channel.
    """

    code = "use_dpop_nonce"
    title = "A DPoP nonce is required"
    public_detail = "Resend the request with a DPoP proof that carries the nonce provided."

    def __init__(self, reason: str, nonce: str) -> None:
        super().__init__(reason)
        self.nonce = nonce


class BadOAuthRequest(errors.InvalidInput):
    """A request the OAuth RFCs refuse with a 400 and a named code (RFC 6749 §5.2, §4.1.2.1).

    Unlike credential refusals these say exactly what was wrong: the client sent it,
    and naming the parameter tells an attacker nothing new.
    """

    code = "invalid_request"
    title = "The OAuth request is not valid"

    def __init__(self, detail: str, *, reason: str | None = None) -> None:
        super().__init__(detail)
        self.reason = reason or self.code


class InvalidRequest(BadOAuthRequest):
    """A parameter is missing, repeated, malformed or not allowed here."""


class RequestNotSupported(BadOAuthRequest):
    """A request object (JAR, RFC 9101 §6.1): pushed parameters are all this server takes."""

    code = "request_not_supported"
    title = "Request objects are not supported"


class UnsupportedGrantType(BadOAuthRequest):
    code = "unsupported_grant_type"
    title = "The grant type is not supported"


__all__ = [
    "BadOAuthRequest",
    "DPoPError",
    "InvalidClient",
    "InvalidDPoPProof",
    "InvalidRequest",
    "OAuthError",
    "RequestNotSupported",
    "UnsupportedGrantType",
    "UseDPoPNonce",
]
