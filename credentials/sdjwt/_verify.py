"""Verifier: RFC 9901 §7.1 (issuer JWT, disclosures) and §7.3 (key binding)."""

from __future__ import annotations

import functools
import hmac
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from joserfc import jws
from joserfc.jwk import ECKey, OKPKey, import_key

from credentials.sdjwt._core import (
    ALGORITHMS,
    DEFAULT_ALGORITHMS,
    HEADER_MEMBERS,
    KB_TYP,
    LEEWAY,
    MAX_LENGTH,
    PRIVATE_MEMBERS,
    Check,
    InvalidCredential,
    KeyBindingPolicy,
    Verified,
    compact_json,
    digest,
    disclosure_map,
    number,
    sd_alg_of,
    split,
)
from pds.jose import LIBRARY_ERRORS, extract_compact

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence


class _Registry(jws.JWSRegistry):
    max_payload_length = MAX_LENGTH


_REGISTRY: Final = _Registry(algorithms=list(ALGORITHMS))
"""Lets joserfc check any algorithm this module knows; callers check their allow-list first."""


def verify(
    presentation: str,
    *,
    issuer_keys: Sequence[Mapping[str, Any]],
    typ: str,
    now: int,
    key_binding: KeyBindingPolicy | None,
    algorithms: Collection[str] = DEFAULT_ALGORITHMS,
    leeway: int = LEEWAY,
) -> Verified:
    """RFC 9901 §7.1 and §7.3; ``InvalidCredential`` naming the first check that failed.

    ``issuer_keys`` are the issuer's public JWKs: the header's ``kid`` picks one, and a
    header without ``kid`` is accepted only when there is exactly one key. ``key_binding``
    is the verifier's policy: ``None`` means a KB-JWT must not be present.
    """
    jwt, disclosures, kb = split(presentation)
    header, signed_payload = _verify_issuer_jwt(jwt, issuer_keys, typ, algorithms)
    sd_alg = sd_alg_of(signed_payload)
    walk = _Walk(disclosure_map(disclosures, sd_alg))
    claims = walk.object({k: v for k, v in signed_payload.items() if k != "_sd_alg"})
    if walk.used != walk.known.keys():
        raise InvalidCredential(Check.UNREFERENCED_DISCLOSURE)
    _check_times(claims, now, leeway)
    prefix = presentation[: len(presentation) - len(kb)]
    sd_hash = digest(prefix, sd_alg)
    bound = _check_key_binding(kb, key_binding, claims, sd_hash=sd_hash, now=now, leeway=leeway)
    return Verified(claims, header, signed_payload, tuple(disclosures), bound)


def _verify_issuer_jwt(
    jwt: str, keys: Sequence[Mapping[str, Any]], typ: str, algorithms: Collection[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    signed = extract_compact(jwt, _REGISTRY, max_length=MAX_LENGTH, error=_refusal)
    header = signed.headers()
    if not header.keys() <= HEADER_MEMBERS:
        raise InvalidCredential(Check.UNEXPECTED_HEADER)
    if header.get("typ") not in (typ, f"application/{typ}"):
        raise InvalidCredential(Check.WRONG_TYP)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms or alg not in ALGORITHMS:
        raise InvalidCredential(Check.ALG_NOT_ALLOWED)
    kid = header.get("kid")
    chosen = [jwk for jwk in keys if kid is None or jwk.get("kid") == kid]
    key = _public_key(chosen[0], alg) if len(chosen) == 1 else None
    if key is None:
        raise InvalidCredential(Check.UNKNOWN_KEY)
    _check_signature(signed, key, Check.BAD_SIGNATURE)
    return header, _payload(signed, Check.MALFORMED)


def _refusal(reason: str) -> InvalidCredential:
    return InvalidCredential(Check.TOO_LARGE if "large" in reason else Check.MALFORMED)


def _public_key(jwk: Any, alg: str) -> ECKey | OKPKey | None:
    """The public key in ``jwk`` if it is one for ``alg`` with no private member; else None."""
    if not isinstance(jwk, dict) or PRIVATE_MEMBERS & jwk.keys():
        return None
    if (jwk.get("kty"), jwk.get("crv")) != ALGORITHMS[alg] or jwk.get("alg", alg) != alg:
        return None
    members = {name: jwk.get(name) for name in ("kty", "crv", "x", "y") if name in jwk}
    try:
        return _import_public(compact_json(members))
    except LIBRARY_ERRORS:
        return None


@functools.lru_cache(maxsize=256)
def _import_public(members: str) -> ECKey | OKPKey:
    """Imported once per key: the point check costs more than a signature check."""
    key = import_key(json.loads(members))
    if not isinstance(key, (ECKey, OKPKey)):  # pragma: no cover - kty is EC or OKP here
        raise TypeError("not a signature key")
    return key


def _check_signature(signed: jws.CompactSignature, key: ECKey | OKPKey, check: Check) -> None:
    try:
        valid = jws.validate_compact(signed, key, registry=_REGISTRY)
    except LIBRARY_ERRORS as exc:
        raise InvalidCredential(check) from exc
    if not valid:
        raise InvalidCredential(check)


def _payload(signed: jws.CompactSignature, check: Check) -> dict[str, Any]:
    try:
        payload = json.loads(signed.payload)
    except (ValueError, RecursionError) as exc:
        raise InvalidCredential(check) from exc
    if not isinstance(payload, dict):
        raise InvalidCredential(check)
    return payload


@dataclass(slots=True)
class _Walk:
    """RFC 9901 §7.1 step 3: replace digests by what their disclosures say, recursively."""

    known: Mapping[str, tuple[str, list[Any]]]
    seen: set[str] = field(default_factory=set)
    used: set[str] = field(default_factory=set)

    def value(self, node: Any) -> Any:
        if isinstance(node, dict):
            return self.object(node)
        if isinstance(node, list):
            return self.array(node)
        return node

    def object(self, node: Mapping[str, Any]) -> dict[str, Any]:
        digests = node.get("_sd", [])
        if not isinstance(digests, list):
            raise InvalidCredential(Check.MALFORMED)
        out = {name: self.value(value) for name, value in node.items() if name != "_sd"}
        for item in digests:
            parts = self.lookup(item)
            if parts is None:
                continue
            if len(parts) != 3:
                raise InvalidCredential(Check.MALFORMED_DISCLOSURE)
            if parts[1] in out:
                raise InvalidCredential(Check.CLAIM_EXISTS)
            out[parts[1]] = self.value(parts[2])
        return out

    def array(self, node: list[Any]) -> list[Any]:
        out: list[Any] = []
        for item in node:
            if not (isinstance(item, dict) and "..." in item):
                out.append(self.value(item))
                continue
            parts = self.lookup(item["..."]) if len(item) == 1 else []
            if parts is not None and len(parts) != 2:
                raise InvalidCredential(Check.MALFORMED_DISCLOSURE)
            if parts is not None:
                out.append(self.value(parts[1]))
        return out

    def lookup(self, item: Any) -> list[Any] | None:
        """The disclosure for digest ``item``; None for a decoy. Each digest counts once."""
        if not isinstance(item, str):
            raise InvalidCredential(Check.MALFORMED)
        if item in self.seen:
            raise InvalidCredential(Check.DUPLICATE_DIGEST)
        self.seen.add(item)
        entry = self.known.get(item)
        if entry is None:
            return None
        self.used.add(item)
        return entry[1]


def _check_times(claims: Mapping[str, Any], now: int, leeway: int) -> None:
    """§7.1 step 6, on the processed claims: ``exp`` and ``nbf`` wherever they came from."""
    if "exp" in claims:
        exp = number(claims["exp"])
        if exp is None or now >= exp + leeway:
            raise InvalidCredential(Check.EXPIRED)
    if "nbf" in claims:
        nbf = number(claims["nbf"])
        if nbf is None or nbf > now + leeway:
            raise InvalidCredential(Check.NOT_YET_VALID)


def _check_key_binding(
    kb: str,
    policy: KeyBindingPolicy | None,
    claims: Mapping[str, Any],
    *,
    sd_hash: str,
    now: int,
    leeway: int,
) -> dict[str, Any] | None:
    """§7.3 step 4: the verifier's policy decides, never the presence of a KB-JWT."""
    if policy is None:
        if kb:
            raise InvalidCredential(Check.KEY_BINDING_UNEXPECTED)
        return None
    if not kb:
        raise InvalidCredential(Check.KEY_BINDING_MISSING)
    signed = extract_compact(
        kb, _REGISTRY, max_length=MAX_LENGTH, error=lambda _: InvalidCredential(Check.KB_MALFORMED)
    )
    header = signed.headers()
    if header.get("typ") != KB_TYP:
        raise InvalidCredential(Check.KB_WRONG_TYP)
    alg = header.get("alg")
    if not header.keys() <= HEADER_MEMBERS:
        raise InvalidCredential(Check.KB_MALFORMED)
    if not isinstance(alg, str) or alg not in policy.algorithms or alg not in ALGORITHMS:
        raise InvalidCredential(Check.KB_ALG_NOT_ALLOWED)
    cnf = claims.get("cnf")
    key = _public_key(cnf.get("jwk"), alg) if isinstance(cnf, dict) else None
    if key is None:
        raise InvalidCredential(Check.KB_NO_HOLDER_KEY)
    _check_signature(signed, key, Check.KB_BAD_SIGNATURE)
    payload = _payload(signed, Check.KB_MALFORMED)
    _check_kb_claims(payload, policy, sd_hash=sd_hash, now=now, leeway=leeway)
    return payload


def _check_kb_claims(
    payload: Mapping[str, Any], policy: KeyBindingPolicy, *, sd_hash: str, now: int, leeway: int
) -> None:
    iat = number(payload.get("iat"))
    if iat is None or not now - policy.max_age - leeway <= iat <= now + leeway:
        raise InvalidCredential(Check.KB_IAT_OUT_OF_WINDOW)
    if payload.get("aud") != policy.audience:
        raise InvalidCredential(Check.KB_WRONG_AUD)
    if payload.get("nonce") != policy.nonce:
        raise InvalidCredential(Check.KB_WRONG_NONCE)
    presented = payload.get("sd_hash")
    if not isinstance(presented, str) or not hmac.compare_digest(presented, sd_hash):
        raise InvalidCredential(Check.KB_WRONG_SD_HASH)
