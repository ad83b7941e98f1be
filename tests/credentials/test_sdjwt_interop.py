"""The PyPI ``sd-jwt`` package (the spec's reference code) as an independent oracle."""

from __future__ import annotations

import time
from typing import Any

from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

from credentials import sdjwt

TYP = "t+sd-jwt"
AUD, NONCE = "https://verifier.example", "n-42"
CLAIMS: dict[str, Any] = {"given_name": "Ada", "address": {"town": "Leeds", "street": "1 High St"}}


def test_they_verify_what_we_issue_and_present(
    issuer: sdjwt.SigningKey, holder: sdjwt.SigningKey, holder_jwk: dict[str, Any]
) -> None:
    paths = [("given_name",), ("address",), ("address", "town")]
    issued = sdjwt.issue({**CLAIMS, "cnf": {"jwk": holder_jwk}}, paths, issuer, typ=TYP, decoys=2)
    presentation = sdjwt.present(
        issued,
        [("address", "town")],
        holder=holder,
        audience=AUD,
        nonce=NONCE,
        now=int(time.time()),
    )
    issuer_key = JWK(**issuer.key.as_dict(private=False))
    payload = SDJWTVerifier(presentation, lambda *_: issuer_key, AUD, NONCE).get_verified_payload()
    assert {k: v for k, v in payload.items() if k != "cnf"} == {
        "address": {"town": "Leeds", "street": "1 High St"}
    }


def test_we_verify_what_they_issue_and_present(
    issuer: sdjwt.SigningKey,
    issuer_jwk: dict[str, Any],
    holder: sdjwt.SigningKey,
    holder_jwk: dict[str, Any],
) -> None:
    claims = {
        SDObj("given_name"): "Ada",
        SDObj("address"): {"town": "Leeds", SDObj("street"): "1 High St"},
    }
    theirs = SDJWTIssuer(
        claims,
        JWK(**issuer.key.as_dict(private=True)),
        JWK(**holder.key.as_dict(private=True)),
        add_decoy_claims=True,
        extra_header_parameters={"typ": TYP, "kid": issuer.kid},
    )
    holding = SDJWTHolder(theirs.sd_jwt_issuance)
    holding.create_presentation(
        {"address": {"street": True}}, NONCE, AUD, JWK(**holder.key.as_dict(private=True))
    )
    verified = sdjwt.verify(
        holding.sd_jwt_presentation,
        issuer_keys=[issuer_jwk],
        typ=TYP,
        now=int(time.time()),
        key_binding=sdjwt.KeyBindingPolicy(audience=AUD, nonce=NONCE),
    )
    assert verified.claims["address"] == {"town": "Leeds", "street": "1 High St"}
    assert "given_name" not in verified.claims
