"""RFC 9901's own example and digest vector, run against ``credentials.sdjwt``.

``fixtures/rfc9901_example.json`` holds the §5.1 issuer-signed JWT and its disclosures,
the §5.2 KB-JWT and the appendix A.5 issuer public key, copied from the RFC text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from credentials import sdjwt

RFC = json.loads((Path(__file__).parent / "fixtures" / "rfc9901_example.json").read_text())
RFC_CLAIMS: dict[str, Any] = {
    "iss": "https://issuer.example.com",
    "iat": 1683000000,
    "exp": 1883000000,
    "sub": "user_42",
    "given_name": "John",
    "family_name": "Doe",
    "email": "johndoe@example.com",
    "phone_number": "+1-202-555-0101",
    "phone_number_verified": True,
    "address": {
        "street_address": "123 Main St",
        "locality": "Anytown",
        "region": "Anystate",
        "country": "US",
    },
    "birthdate": "1940-01-01",
    "updated_at": 1570000000,
    "nationalities": ["US", "DE"],
}
RFC_DISCLOSABLE = [
    *((name,) for name in ("given_name", "family_name", "email", "phone_number")),
    *((name,) for name in ("phone_number_verified", "address", "birthdate", "updated_at")),
    ("nationalities", 0),
    ("nationalities", 1),
]


def _rfc_presentation() -> str:
    chosen = [RFC["disclosures"][i] for i in RFC["presented"]]
    return "~".join([RFC["issuer_jwt"], *chosen, RFC["kb_jwt"]])


def test_digest_vector_from_a1() -> None:
    disclosure = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0"
    assert sdjwt.digest(disclosure) == "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"


def test_rfc_presentation_with_key_binding_verifies() -> None:
    policy = sdjwt.KeyBindingPolicy(audience=RFC["kb"]["aud"], nonce=RFC["kb"]["nonce"])
    verified = sdjwt.verify(
        _rfc_presentation(),
        issuer_keys=[RFC["issuer_public_jwk"]],
        typ=RFC["typ"],
        now=RFC["kb"]["iat"],
        key_binding=policy,
    )
    expected = {k: v for k, v in RFC_CLAIMS.items() if k not in {"email", "phone_number"}}
    for hidden in ("phone_number_verified", "birthdate", "updated_at"):
        del expected[hidden]
    expected["nationalities"] = ["US"]
    expected["cnf"] = verified.signed_payload["cnf"]
    assert verified.claims == expected
    assert verified.key_binding is not None
    assert verified.key_binding["nonce"] == "1234567890"


def test_rfc_presentation_fails_for_another_nonce() -> None:
    policy = sdjwt.KeyBindingPolicy(audience=RFC["kb"]["aud"], nonce="another")
    with pytest.raises(sdjwt.InvalidCredential) as caught:
        sdjwt.verify(
            _rfc_presentation(),
            issuer_keys=[RFC["issuer_public_jwk"]],
            typ=RFC["typ"],
            now=RFC["kb"]["iat"],
            key_binding=policy,
        )
    assert caught.value.check is sdjwt.Check.KB_WRONG_NONCE


def test_issuing_with_the_rfc_salts_reproduces_its_disclosures_and_payload(
    issuer: sdjwt.SigningKey,
) -> None:
    salts = iter([json.loads(sdjwt.b64url_decode(d))[0] for d in RFC["disclosures"]])
    cnf = json.loads(sdjwt.b64url_decode(RFC["issuer_jwt"].split(".")[1]))["cnf"]
    issued = sdjwt.issue(
        {**RFC_CLAIMS, "cnf": cnf},
        RFC_DISCLOSABLE,
        issuer,
        typ=RFC["typ"],
        salt=lambda: next(salts),
    )
    jwt, disclosures, _ = sdjwt.split(issued)
    assert sorted(disclosures) == sorted(RFC["disclosures"])
    ours = sdjwt.unverified_payload(jwt)
    theirs = sdjwt.unverified_payload(RFC["issuer_jwt"])
    assert ours == theirs
