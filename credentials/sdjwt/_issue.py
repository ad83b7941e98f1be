"""Issuer and holder: ``issue`` conceals claims; ``present`` reveals some, with key binding."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from joserfc import jws

from credentials.sdjwt._core import (
    KB_TYP,
    RESERVED,
    SD_ALG,
    Check,
    ClaimPath,
    InvalidCredential,
    SigningKey,
    children,
    compact_json,
    digest,
    disclosure_map,
    encode_disclosure,
    new_salt,
    sd_alg_of,
    split,
    unverified_payload,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

# --- issuing ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Issuing:
    salt: Callable[[], str]
    decoys: int
    disclosures: list[str] = field(default_factory=list)

    def conceal(self, *parts: Any) -> str:
        disclosure = encode_disclosure(self.salt(), *parts)
        self.disclosures.append(disclosure)
        return digest(disclosure)

    def decoy_digests(self) -> list[str]:
        return [digest(new_salt()) for _ in range(self.decoys)]


def issue(
    claims: Mapping[str, Any],
    disclosable: Iterable[ClaimPath],
    signer: SigningKey,
    *,
    typ: str,
    decoys: int = 0,
    salt: Callable[[], str] = new_salt,
) -> str:
    """Sign ``claims`` with each path in ``disclosable`` replaced by a digest.

    ``decoys`` decoy digests go into every object that has an ``_sd`` array, so a reader
    of the JWT cannot count the hidden claims. ``salt`` is for test vectors only.
    ``ValueError`` if a path names no claim or a claim uses a reserved name.
    """
    paths = set(disclosable)
    if () in paths or decoys < 0:
        raise ValueError("a disclosable path names a claim; decoys are not negative")
    if "_sd_alg" in claims:
        raise ValueError("'_sd_alg' is set by the issuer")
    state = _Issuing(salt=salt, decoys=decoys)
    payload = _conceal_object(claims, paths, state)
    payload["_sd_alg"] = SD_ALG
    header = {"alg": signer.alg, "typ": typ} | ({"kid": signer.kid} if signer.kid else {})
    jwt = _sign(header, payload, signer)
    return "~".join([jwt, *state.disclosures, ""])


def _check_paths(paths: set[ClaimPath], steps: Iterable[str | int]) -> None:
    unknown = {path for path in paths if path[0] not in set(steps)}
    if unknown:
        raise ValueError(f"these disclosable paths name no claim: {sorted(map(str, unknown))}")


def _conceal(value: Any, paths: set[ClaimPath], state: _Issuing) -> Any:
    if isinstance(value, dict):
        return _conceal_object(value, paths, state)
    if isinstance(value, list):
        return _conceal_array(value, paths, state)
    if paths:
        raise ValueError("a disclosable path goes below a plain value")
    return value


def _conceal_object(obj: Mapping[str, Any], paths: set[ClaimPath], state: _Issuing) -> Any:
    _check_paths(paths, obj)
    out: dict[str, Any] = {}
    hidden: list[str] = []
    for name, value in obj.items():
        if not isinstance(name, str) or name in RESERVED:
            raise ValueError(f"claim name {name!r} is reserved by SD-JWT")
        inner = _conceal(value, children(paths, name) - {()}, state)
        if (name,) in paths:
            hidden.append(state.conceal(name, inner))
        else:
            out[name] = inner
    if hidden:
        out["_sd"] = sorted(hidden + state.decoy_digests())
    return out


def _conceal_array(items: list[Any], paths: set[ClaimPath], state: _Issuing) -> list[Any]:
    _check_paths(paths, range(len(items)))
    out: list[Any] = []
    for index, item in enumerate(items):
        inner = _conceal(item, children(paths, index) - {()}, state)
        out.append({"...": state.conceal(inner)} if (index,) in paths else inner)
    return out


def _sign(header: dict[str, Any], payload: Mapping[str, Any], signer: SigningKey) -> str:
    body = compact_json(payload).encode("utf-8")
    return jws.serialize_compact(header, body, signer.key, algorithms=[signer.alg])


# --- presenting ------------------------------------------------------------------------------


def present(
    issued: str,
    reveal: Iterable[ClaimPath],
    *,
    holder: SigningKey | None = None,
    audience: str = "",
    nonce: str = "",
    now: int = 0,
) -> str:
    """The holder's presentation of ``issued`` disclosing only the claims at ``reveal``.

    Paths naming no disclosable claim select nothing (a credential may lack an optional
    claim a grant allows). With ``holder`` a KB-JWT for ``audience``, ``nonce`` and
    ``now`` is appended; without one the presentation ends in ``~``.
    """
    jwt, disclosures, kb = split(issued)
    if kb:
        raise InvalidCredential(Check.KEY_BINDING_UNEXPECTED)  # §7.2: none at issuance
    payload = unverified_payload(jwt)
    sd_alg = sd_alg_of(payload)
    known = disclosure_map(disclosures, sd_alg)
    chosen: list[str] = []
    _select(payload, {tuple(path) for path in reveal}, known, chosen)
    presentation = "~".join([jwt, *chosen, ""])
    if holder is None:
        return presentation
    if not audience or not nonce:
        raise ValueError("a key binding JWT needs the verifier's audience and nonce")
    claims = {"iat": now, "aud": audience, "nonce": nonce, "sd_hash": digest(presentation, sd_alg)}
    return presentation + _sign({"alg": holder.alg, "typ": KB_TYP}, claims, holder)


def _select(node: Any, paths: set[ClaimPath], known: Mapping[str, Any], out: list[str]) -> None:
    """Collect, parents first, the disclosures ``paths`` need; ``()`` means all beneath."""
    if not paths:
        return
    if isinstance(node, dict):
        for name, value in node.items():
            if name != "_sd":
                _select(value, children(paths, name) | everything(paths), known, out)
        for item in node.get("_sd", []):
            entry = known.get(item) if isinstance(item, str) else None
            if entry is not None and len(entry[1]) == 3:
                _reveal(entry, children(paths, entry[1][1]) | everything(paths), known, out)
    elif isinstance(node, list):
        for index, (item, entry) in enumerate(_real_elements(node, known)):
            sub = children(paths, index) | everything(paths)
            if entry is None:
                _select(item, sub, known, out)
            elif len(entry[1]) == 2:
                _reveal(entry, sub, known, out)


def everything(paths: set[ClaimPath]) -> set[ClaimPath]:
    return {()} if () in paths else set()


def _reveal(
    entry: tuple[str, list[Any]], paths: set[ClaimPath], known: Mapping[str, Any], out: list[str]
) -> None:
    if paths:
        out.append(entry[0])
        _select(entry[1][-1], paths, known, out)


def _real_elements(
    items: list[Any], known: Mapping[str, Any]
) -> list[tuple[Any, tuple[str, list[Any]] | None]]:
    """The array's elements with their disclosures, decoy digests left out."""
    real: list[tuple[Any, tuple[str, list[Any]] | None]] = []
    for item in items:
        if isinstance(item, dict) and "..." in item:
            entry = known.get(item["..."]) if isinstance(item["..."], str) else None
            if entry is not None:
                real.append((item, entry))
        else:
            real.append((item, None))
    return real
