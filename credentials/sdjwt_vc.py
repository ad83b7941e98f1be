"""SD-JWT VC (draft-ietf-oauth-sd-jwt-vc): the credential profile on top of ``sdjwt``.

Pure: plain values in and out; the caller passes ``now``, keys and trusted issuers.

Issuing. The header ``typ`` is ``dc+sd-jwt``. The registered claims ``iss``, ``vct``,
``iat``, ``exp``, ``cnf`` (the holder's public JWK, for key binding) and ``status`` (a
Token Status List reference) are always in the clear: a verifier needs them to decide
whether to trust the rest, and a holder could otherwise hide its own revocation. The
draft lets ``iat`` be disclosable; the PDS never makes it so. The subject's claims are
selectively disclosable where the caller says so (``credentials.types`` says which).

Verifying, in order (``InvalidCredential.check`` names the failure):

1. the unverified ``iss`` picks the issuer's key set from ``trusted_issuers``, so an
   issuer can only sign for its own name (an unknown ``iss`` stops here);
2. RFC 9901 §7 by ``sdjwt.verify`` with ``typ: dc+sd-jwt``, including key binding as
   the caller's policy says, and ``exp``/``nbf`` with leeway;
3. the registered claims were signed in the clear, not disclosed; ``iss`` is the one
   that chose the keys; ``vct`` is present (and expected, if the caller says which);
   ``iat`` is present and not in the future; ``cnf`` and ``status`` are well formed.

Checking ``status`` against the list is left to the caller (``status_list``): fetching
the list is I/O, and the draft wants the credential itself validated first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from credentials import sdjwt
from credentials.sdjwt import Check, InvalidCredential

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence

VC_TYP: Final = "dc+sd-jwt"
REGISTERED: Final = frozenset(
    {"iss", "vct", "vct#integrity", "aka_vcts", "iat", "nbf", "exp", "cnf", "status"}
)
"""Claims the issuer sets itself and never makes selectively disclosable."""
MAX_LIFETIME: Final = 5 * 366 * 24 * 3600


@dataclass(frozen=True, slots=True)
class StatusReference:
    """Where a credential's status lives: entry ``idx`` of the Status List Token at ``uri``."""

    idx: int
    uri: str

    def to_json(self) -> dict[str, Any]:
        return {"status_list": {"idx": self.idx, "uri": self.uri}}


@dataclass(frozen=True, slots=True)
class VerifiedCredential:
    """A verified SD-JWT VC: who issued what type, about whom, and what was disclosed."""

    issuer: str
    vct: str
    issued_at: int
    expires_at: int | None
    claims: dict[str, Any]
    """Every claim the presentation carries, registered ones included."""
    holder_jwk: dict[str, Any] | None
    status: StatusReference | None
    key_binding: dict[str, Any] | None


def issue_vc(
    signer: sdjwt.SigningKey,
    *,
    issuer: str,
    vct: str,
    claims: Mapping[str, Any],
    disclosable: Iterable[sdjwt.ClaimPath],
    holder_jwk: Mapping[str, Any],
    now: int,
    expires_at: int,
    status: StatusReference | None = None,
    decoys: int = 2,
) -> str:
    """An SD-JWT VC of type ``vct`` about the subject's ``claims``, bound to ``holder_jwk``.

    ``ValueError`` if ``claims`` sets a registered claim itself or the lifetime is not
    positive, so nothing is issued that ``verify_vc`` would refuse.
    """
    clash = REGISTERED & claims.keys()
    if clash:
        raise ValueError(f"registered claims are set by issue_vc, not passed in: {sorted(clash)}")
    if not issuer or not vct or not 0 < expires_at - now <= MAX_LIFETIME:
        raise ValueError("an SD-JWT VC needs an issuer, a vct and a lifetime within bounds")
    if {"d", "p", "q", "k"} & holder_jwk.keys():
        raise ValueError("cnf carries the holder's public key only")
    registered: dict[str, Any] = {
        "iss": issuer,
        "vct": vct,
        "iat": now,
        "exp": expires_at,
        "cnf": {"jwk": dict(holder_jwk)},
    }
    if status is not None:
        registered["status"] = status.to_json()
    return sdjwt.issue({**registered, **claims}, disclosable, signer, typ=VC_TYP, decoys=decoys)


def verify_vc(
    presentation: str,
    *,
    trusted_issuers: Mapping[str, Sequence[Mapping[str, Any]]],
    now: int,
    key_binding: sdjwt.KeyBindingPolicy | None,
    vcts: Collection[str] | None = None,
    leeway: int = sdjwt.LEEWAY,
) -> VerifiedCredential:
    """Verify an SD-JWT VC presentation (see the module notes for the order of checks).

    ``trusted_issuers`` maps each issuer identifier to its public JWKs (its JWT VC Issuer
    Metadata ``jwks``); ``vcts``, if given, are the credential types this verifier takes.
    """
    jwt, _, _ = sdjwt.split(presentation)
    issuer = sdjwt.unverified_payload(jwt).get("iss")
    keys = trusted_issuers.get(issuer) if isinstance(issuer, str) else None
    if not keys or not isinstance(issuer, str):
        raise InvalidCredential(Check.UNKNOWN_ISSUER)
    verified = sdjwt.verify(
        presentation,
        issuer_keys=keys,
        typ=VC_TYP,
        now=now,
        key_binding=key_binding,
        leeway=leeway,
    )
    return _profile(verified, issuer, vcts, now=now, leeway=leeway)


def _profile(
    verified: sdjwt.Verified, issuer: str, vcts: Collection[str] | None, *, now: int, leeway: int
) -> VerifiedCredential:
    claims, signed = verified.claims, verified.signed_payload
    if any(name in claims and name not in signed for name in REGISTERED):
        raise InvalidCredential(Check.DISCLOSED_REGISTERED_CLAIM)
    if claims.get("iss") != issuer:  # pragma: no cover - iss chose the keys and is signed
        raise InvalidCredential(Check.WRONG_ISSUER)
    vct = claims.get("vct")
    if not isinstance(vct, str) or not vct:
        raise InvalidCredential(Check.MISSING_VCT)
    if vcts is not None and vct not in vcts:
        raise InvalidCredential(Check.WRONG_VCT)
    iat = _integer(claims.get("iat"))
    if iat is None:
        raise InvalidCredential(Check.MISSING_IAT)
    if iat > now + leeway:
        raise InvalidCredential(Check.IAT_IN_FUTURE)
    return VerifiedCredential(
        issuer=issuer,
        vct=vct,
        issued_at=iat,
        expires_at=_integer(claims.get("exp")),
        claims=claims,
        holder_jwk=_holder_jwk(claims),
        status=_status(claims),
        key_binding=verified.key_binding,
    )


def _holder_jwk(claims: Mapping[str, Any]) -> dict[str, Any] | None:
    if "cnf" not in claims:
        return None
    cnf = claims["cnf"]
    jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if not isinstance(jwk, dict):
        raise InvalidCredential(Check.BAD_CNF)
    return jwk


def _status(claims: Mapping[str, Any]) -> StatusReference | None:
    if "status" not in claims:
        return None
    status = claims["status"]
    entry = status.get("status_list") if isinstance(status, dict) else None
    if not isinstance(entry, dict):
        raise InvalidCredential(Check.BAD_STATUS)
    idx, uri = entry.get("idx"), entry.get("uri")
    if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0:
        raise InvalidCredential(Check.BAD_STATUS)
    if not isinstance(uri, str) or not uri:
        raise InvalidCredential(Check.BAD_STATUS)
    return StatusReference(idx=idx, uri=uri)


def _integer(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return int(value)


__all__ = [
    "MAX_LIFETIME",
    "REGISTERED",
    "VC_TYP",
    "StatusReference",
    "VerifiedCredential",
    "issue_vc",
    "verify_vc",
]
