"""``credentials.sdjwt``: round trips as properties, and one test per refusal."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import jwt as pyjwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credentials import sdjwt
from credentials.sdjwt import Check, InvalidCredential, KeyBindingPolicy

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tests.credentials.conftest import RawSigner

TYP = "t+sd-jwt"
NOW = int(time.time())
POLICY = KeyBindingPolicy(audience="https://verifier.example", nonce="n-123")
FIXTURES = [HealthCheck.function_scoped_fixture]


def _verify(presentation: str, issuer_jwk: dict[str, Any], **kwargs: Any) -> sdjwt.Verified:
    options: dict[str, Any] = {"typ": TYP, "now": NOW, "key_binding": POLICY} | kwargs
    return sdjwt.verify(presentation, issuer_keys=[issuer_jwk], **options)


def _refused(check: Check, presentation: str, issuer_jwk: dict[str, Any], **kwargs: Any) -> None:
    with pytest.raises(InvalidCredential) as caught:
        _verify(presentation, issuer_jwk, **kwargs)
    assert caught.value.check is check


def _present(issued: str, reveal: Iterable[sdjwt.ClaimPath], holder: sdjwt.SigningKey) -> str:
    return sdjwt.present(
        issued, reveal, holder=holder, audience=POLICY.audience, nonce=POLICY.nonce, now=NOW
    )


# --- properties ------------------------------------------------------------------------------

_names = st.text("abcdefgh", min_size=1, max_size=4)
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-99, 99), st.text(max_size=8))
_values = st.one_of(
    _scalars,
    st.dictionaries(_names, _scalars, max_size=3),
    st.lists(_scalars, max_size=3),
)


def _all_paths(value: Any, prefix: sdjwt.ClaimPath = ()) -> list[sdjwt.ClaimPath]:
    items = value.items() if isinstance(value, dict) else enumerate(value)
    paths: list[sdjwt.ClaimPath] = []
    for step, inner in items:
        paths.append((*prefix, step))
        if isinstance(inner, dict | list):
            paths.extend(_all_paths(inner, (*prefix, step)))
    return paths


def _expected(
    value: Any, hidden: set[sdjwt.ClaimPath], shown: set[sdjwt.ClaimPath], at: sdjwt.ClaimPath
) -> Any:
    """What a verifier sees: a hidden claim only if a revealed path is above or below it."""

    def visible(path: sdjwt.ClaimPath) -> bool:
        near = (r[: len(path)] == path or path[: len(r)] == r for r in shown)
        return path not in hidden or any(near)

    if isinstance(value, dict):
        return {
            k: _expected(v, hidden, shown, (*at, k)) for k, v in value.items() if visible((*at, k))
        }
    if isinstance(value, list):
        return [
            _expected(v, hidden, shown, (*at, i)) for i, v in enumerate(value) if visible((*at, i))
        ]
    return value


@st.composite
def _cases(draw: st.DrawFn) -> tuple[dict[str, Any], set[sdjwt.ClaimPath], set[sdjwt.ClaimPath]]:
    claims = draw(st.dictionaries(_names, _values, min_size=1, max_size=5))
    paths = _all_paths(claims)
    hidden = set(draw(st.lists(st.sampled_from(paths), unique=True)))
    shown = set(draw(st.lists(st.sampled_from(paths), unique=True)))
    return claims, hidden, shown


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURES)
@given(case=_cases(), decoys=st.integers(0, 2))
def test_verify_of_present_of_issue_yields_exactly_the_revealed_claims(
    case: tuple[dict[str, Any], set[sdjwt.ClaimPath], set[sdjwt.ClaimPath]],
    decoys: int,
    issuer: sdjwt.SigningKey,
    issuer_jwk: dict[str, Any],
    holder: sdjwt.SigningKey,
    holder_jwk: dict[str, Any],
) -> None:
    claims, hidden, shown = case
    full = {**claims, "cnf": {"jwk": holder_jwk}}
    issued = sdjwt.issue(full, hidden, issuer, typ=TYP, decoys=decoys)
    verified = _verify(_present(issued, shown, holder), issuer_jwk)
    assert verified.claims == {**_expected(claims, hidden, shown, ()), "cnf": {"jwk": holder_jwk}}


@st.composite
def _tampering(draw: st.DrawFn) -> tuple[str, int]:
    return draw(st.sampled_from(["alter", "duplicate", "extra", "orphan"])), draw(st.integers(0, 9))


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURES)
@given(tamper=_tampering())
def test_any_altered_duplicated_extra_or_orphaned_disclosure_fails(
    tamper: tuple[str, int], issuer: sdjwt.SigningKey, issuer_jwk: dict[str, Any]
) -> None:
    kind, pick = tamper
    claims = {"a": 1, "b": "two", "addr": {"town": "Leeds", "street": "1 High St"}}
    hidden = {("a",), ("b",), ("addr",), ("addr", "town"), ("addr", "street")}
    jwt, disclosures, _ = sdjwt.split(sdjwt.issue(claims, hidden, issuer, typ=TYP))
    victim = disclosures[pick % len(disclosures)]
    if kind == "alter":
        position = pick % len(victim)
        swapped = "A" if victim[position] != "A" else "B"
        disclosures[pick % len(disclosures)] = victim[:position] + swapped + victim[position + 1 :]
    elif kind == "duplicate":
        disclosures.append(victim)
    elif kind == "extra":
        disclosures.append(sdjwt.encode_disclosure(sdjwt.new_salt(), "c", 3))
    else:  # drop the parent of the nested disclosures, so they no longer chain to the JWT
        parent = next(d for d in disclosures if '"addr"' in sdjwt.b64url_decode(d).decode())
        disclosures.remove(parent)
    with pytest.raises(InvalidCredential):
        _verify("~".join([jwt, *disclosures, ""]), issuer_jwk, key_binding=None)


@pytest.mark.parametrize(
    ("field", "value", "check"),
    [
        ("aud", "https://elsewhere.example", Check.KB_WRONG_AUD),
        ("nonce", "other", Check.KB_WRONG_NONCE),
        ("sd_hash", sdjwt.digest("x"), Check.KB_WRONG_SD_HASH),
        ("iat", NOW - 3600, Check.KB_IAT_OUT_OF_WINDOW),
        ("iat", NOW + 3600, Check.KB_IAT_OUT_OF_WINDOW),
    ],
)
def test_a_kb_jwt_for_another_transaction_fails(
    field: str,
    value: Any,
    check: Check,
    issuer: sdjwt.SigningKey,
    issuer_jwk: dict[str, Any],
    holder: sdjwt.SigningKey,
    holder_jwk: dict[str, Any],
    sign_raw: RawSigner,
) -> None:
    issued = sdjwt.issue({"a": 1, "cnf": {"jwk": holder_jwk}}, [("a",)], issuer, typ=TYP)
    presentation = sdjwt.present(issued, [("a",)])
    claims = {
        "iat": NOW,
        "aud": POLICY.audience,
        "nonce": POLICY.nonce,
        "sd_hash": sdjwt.digest(presentation),
    }
    kb = sign_raw({**claims, field: value}, {"alg": "ES256", "typ": "kb+jwt"}, holder.key)
    _refused(check, presentation + kb, issuer_jwk)


def _bound(issuer: sdjwt.SigningKey, holder: sdjwt.SigningKey, holder_jwk: dict[str, Any]) -> str:
    issued = sdjwt.issue({"a": 1, "cnf": {"jwk": holder_jwk}}, [("a",)], issuer, typ=TYP)
    return _present(issued, [("a",)], holder)


def test_stripped_kb_jwt_fails_when_binding_is_required(
    issuer: sdjwt.SigningKey,
    issuer_jwk: dict[str, Any],
    holder: sdjwt.SigningKey,
    holder_jwk: dict[str, Any],
) -> None:
    presentation = _bound(issuer, holder, holder_jwk)
    stripped = presentation[: presentation.rindex("~") + 1]
    _refused(Check.KEY_BINDING_MISSING, stripped, issuer_jwk)
    _verify(stripped, issuer_jwk, key_binding=None)  # the same input passes without the policy
    _refused(Check.KEY_BINDING_UNEXPECTED, presentation, issuer_jwk, key_binding=None)


def test_kb_jwt_signed_by_another_key_fails(
    issuer: sdjwt.SigningKey, issuer_jwk: dict[str, Any], holder: sdjwt.SigningKey
) -> None:
    other = sdjwt.SigningKey(type(holder.key).generate_key("P-256"))
    presentation = _bound(issuer, other, dict(holder.key.as_dict(private=False)))
    _refused(Check.KB_BAD_SIGNATURE, presentation, issuer_jwk)


def test_kb_jwt_header_and_holder_key_are_checked(
    issuer: sdjwt.SigningKey,
    issuer_jwk: dict[str, Any],
    holder: sdjwt.SigningKey,
    sign_raw: RawSigner,
) -> None:
    issued = sdjwt.issue({"a": 1}, [("a",)], issuer, typ=TYP)
    presentation = sdjwt.present(issued, [("a",)])
    claims = {"iat": NOW, "aud": POLICY.audience, "nonce": POLICY.nonce}
    claims["sd_hash"] = sdjwt.digest(presentation)
    jwt_typ = sign_raw(claims, {"alg": "ES256", "typ": "JWT"}, holder.key)
    _refused(Check.KB_WRONG_TYP, presentation + jwt_typ, issuer_jwk)
    no_cnf = sign_raw(claims, {"alg": "ES256", "typ": "kb+jwt"}, holder.key)
    _refused(Check.KB_NO_HOLDER_KEY, presentation + no_cnf, issuer_jwk)
    es384 = KeyBindingPolicy(audience=POLICY.audience, nonce=POLICY.nonce, algorithms=["ES384"])
    _refused(Check.KB_ALG_NOT_ALLOWED, presentation + no_cnf, issuer_jwk, key_binding=es384)
    _refused(Check.KB_MALFORMED, presentation + "not.a.jwt", issuer_jwk)


# --- the issuer JWT --------------------------------------------------------------------------


def test_issuer_jwt_header_and_signature_are_checked(
    issuer: sdjwt.SigningKey, issuer_jwk: dict[str, Any], sign_raw: RawSigner
) -> None:
    issued = sdjwt.issue({"a": 1}, [("a",)], issuer, typ=TYP)
    _refused(Check.WRONG_TYP, issued, issuer_jwk, typ="dc+sd-jwt", key_binding=None)
    _refused(Check.ALG_NOT_ALLOWED, issued, issuer_jwk, algorithms=["ES384"], key_binding=None)
    other = {**issuer_jwk, "kid": "another"}
    _refused(Check.UNKNOWN_KEY, issued, other, key_binding=None)
    private = {**issuer.key.as_dict(private=True), "kid": issuer_jwk["kid"]}
    _refused(Check.UNKNOWN_KEY, issued, private, key_binding=None)
    jwt, rest = issued.split(".", 1)
    forged = sign_raw({"a": 2}, key=type(issuer.key).generate_key("P-256"))
    _refused(Check.BAD_SIGNATURE, forged + "~", issuer_jwk, key_binding=None)
    hs256 = jwt.replace(jwt, sdjwt.b64url(b'{"alg":"HS256","typ":"t+sd-jwt","kid":"issuer-1"}'))
    _refused(Check.ALG_NOT_ALLOWED, f"{hs256}.{rest}", issuer_jwk, key_binding=None)
    jku = sign_raw({"a": 1}, {"alg": "ES256", "typ": TYP, "jku": "https://evil.example"})
    _refused(Check.UNEXPECTED_HEADER, jku + "~", issuer_jwk, key_binding=None)


@pytest.mark.parametrize(
    ("text", "check"),
    [
        ("no-tilde", Check.MALFORMED),
        ("a.b.c~~", Check.MALFORMED),
        ("é~", Check.MALFORMED),
        ("x" * (sdjwt.MAX_LENGTH + 1), Check.TOO_LARGE),
    ],
)
def test_malformed_input_is_refused(text: str, check: Check, issuer_jwk: dict[str, Any]) -> None:
    _refused(check, text, issuer_jwk, key_binding=None)


def _crafted(sign_raw: RawSigner, payload: Any, *disclosures: str) -> str:
    return "~".join([sign_raw(payload), *disclosures, ""])


def test_rfc_7_1_processing_rules(issuer_jwk: dict[str, Any], sign_raw: RawSigner) -> None:
    named_a = sdjwt.encode_disclosure("salt-a", "a", 1)
    element = sdjwt.encode_disclosure("salt-e", "x")
    reserved = sdjwt.encode_disclosure("salt-r", "_sd", [])
    dots = sdjwt.encode_disclosure("salt-d", "...", 1)
    d_a, d_e = sdjwt.digest(named_a), sdjwt.digest(element)
    cases = [
        (Check.CLAIM_EXISTS, _crafted(sign_raw, {"a": 0, "_sd": [d_a]}, named_a)),
        (Check.DUPLICATE_DIGEST, _crafted(sign_raw, {"_sd": [d_a], "b": {"_sd": [d_a]}}, named_a)),
        (Check.DUPLICATE_DIGEST, _crafted(sign_raw, {"l": [{"...": d_e}, {"...": d_e}]}, element)),
        (Check.DUPLICATE_DISCLOSURE, _crafted(sign_raw, {"_sd": [d_a]}, named_a, named_a)),
        (
            Check.RESERVED_CLAIM_NAME,
            _crafted(sign_raw, {"_sd": [sdjwt.digest(reserved)]}, reserved),
        ),
        (Check.RESERVED_CLAIM_NAME, _crafted(sign_raw, {"_sd": [sdjwt.digest(dots)]}, dots)),
        (Check.MALFORMED_DISCLOSURE, _crafted(sign_raw, {"_sd": [d_e]}, element)),
        (Check.MALFORMED_DISCLOSURE, _crafted(sign_raw, {"l": [{"...": d_a}]}, named_a)),
        (Check.MALFORMED_DISCLOSURE, _crafted(sign_raw, {}, "bm90IGpzb24")),
        (Check.MALFORMED_DISCLOSURE, _crafted(sign_raw, {}, sdjwt.b64url(b'[1, "a", 2]'))),
        (Check.MALFORMED_DISCLOSURE, _crafted(sign_raw, {}, sdjwt.b64url(b'["s", 1, 2]'))),
        (Check.MALFORMED_DISCLOSURE, _crafted(sign_raw, {}, "a+b")),
        (Check.MALFORMED, _crafted(sign_raw, {"_sd": "not a list"})),
        (Check.MALFORMED, _crafted(sign_raw, {"_sd": [1]})),
        (Check.MALFORMED_DISCLOSURE, _crafted(sign_raw, {"l": [{"...": d_a, "x": 1}]}, named_a)),
        (Check.UNREFERENCED_DISCLOSURE, _crafted(sign_raw, {"_sd": []}, named_a)),
        (Check.UNSUPPORTED_SD_ALG, _crafted(sign_raw, {"_sd_alg": "md5"})),
        (Check.EXPIRED, _crafted(sign_raw, {"exp": NOW - 60})),
        (Check.EXPIRED, _crafted(sign_raw, {"exp": "tomorrow"})),
        (Check.NOT_YET_VALID, _crafted(sign_raw, {"nbf": NOW + 60})),
        (Check.MALFORMED, "~".join([sign_raw([1]), ""])),
    ]
    for check, presentation in cases:
        _refused(check, presentation, issuer_jwk, key_binding=None)


def test_decoys_and_unsent_digests_are_ignored_and_removed(
    issuer_jwk: dict[str, Any], sign_raw: RawSigner
) -> None:
    element = sdjwt.encode_disclosure("salt-e", "x")
    payload = {"_sd": [sdjwt.digest("decoy")], "l": [{"...": sdjwt.digest(element)}, 2]}
    verified = _verify(_crafted(sign_raw, payload, element), issuer_jwk, key_binding=None)
    assert verified.claims == {"l": ["x", 2]}
    hidden = _verify(_crafted(sign_raw, payload), issuer_jwk, key_binding=None)
    assert hidden.claims == {"l": [2]}


def test_issue_refuses_what_a_verifier_would(issuer: sdjwt.SigningKey) -> None:
    for claims, paths in [
        ({"a": 1}, [()]),
        ({"a": 1}, [("b",)]),
        ({"a": 1}, [("a", "b")]),
        ({"l": [1]}, [("l", 1)]),
        ({"_sd": 1}, []),
        ({"o": {"...": 1}}, []),
        ({"_sd_alg": "sha-256"}, []),
    ]:
        with pytest.raises(ValueError, match=r"."):
            sdjwt.issue(claims, paths, issuer, typ=TYP)
    with pytest.raises(ValueError, match="decoys"):
        sdjwt.issue({"a": 1}, [], issuer, typ=TYP, decoys=-1)


def test_present_refuses_a_kb_jwt_at_issuance_and_a_kb_without_audience(
    issuer: sdjwt.SigningKey, holder: sdjwt.SigningKey
) -> None:
    issued = sdjwt.issue({"a": 1}, [("a",)], issuer, typ=TYP)
    with pytest.raises(InvalidCredential):
        sdjwt.present(issued + "x.y.z", [])
    with pytest.raises(ValueError, match="audience"):
        sdjwt.present(issued, [], holder=holder)


def test_signing_key_must_match_its_algorithm(holder: sdjwt.SigningKey) -> None:
    with pytest.raises(ValueError, match="ES384"):
        sdjwt.SigningKey(holder.key, alg="ES384")
    public = type(holder.key).import_key(holder.key.as_dict(private=False))
    with pytest.raises(ValueError, match="private"):
        sdjwt.SigningKey(public)


# --- an independent JWT library --------------------------------------------------------------


def test_pyjwt_verifies_the_issuer_jwt_and_the_kb_jwt(
    issuer: sdjwt.SigningKey,
    issuer_jwk: dict[str, Any],
    holder: sdjwt.SigningKey,
    holder_jwk: dict[str, Any],
) -> None:
    presentation = _bound(issuer, holder, holder_jwk)
    jwt, *_, kb = presentation.split("~")
    decoded = pyjwt.api_jws.decode_complete(
        jwt, pyjwt.PyJWK(issuer_jwk, algorithm="ES256").key, algorithms=["ES256"]
    )
    assert decoded["header"]["typ"] == TYP
    assert json.loads(decoded["payload"])["_sd_alg"] == "sha-256"
    kb_claims = pyjwt.decode(
        kb,
        pyjwt.PyJWK(holder_jwk, algorithm="ES256").key,
        algorithms=["ES256"],
        audience=POLICY.audience,
        options={"require": ["iat", "aud"]},
    )
    assert kb_claims["sd_hash"] == sdjwt.digest(presentation[: -len(kb)])
    assert pyjwt.get_unverified_header(kb)["typ"] == "kb+jwt"
