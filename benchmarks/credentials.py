"""Credential costs: SD-JWT VC issue and verify, and re-publishing a status list.

* **Issue and verify.** One credential with ten selectively disclosable claims and a
  holder key: ``credentials.sdjwt.issue``, and ``verify`` of a presentation disclosing all
  ten with a KB-JWT (signed before timing, so verify is what is timed). Each is set
  against the floor of raw ES256 in the same run with ``cryptography`` (one sign for
  issue; two verifies, issuer JWT and KB-JWT, for verify), and side by side with the PyPI
  ``sd-jwt`` package (jwcrypto underneath) doing the same work. Cases take turns batch by
  batch and the best batch is kept, so drift hits all of them alike.
* **Status list.** 1,000,000 two-bit entries: the compressed size of the ``lst`` with one
  entry revoked and with 1% revoked at random, and the time to revoke one more entry,
  re-encode (zlib level 9) and sign the ``statuslist+jwt`` again.

Run with ``python -m benchmarks.credentials [--quick]``.
"""

from __future__ import annotations

import math
import random
import sys
import time
from typing import TYPE_CHECKING, Any, Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey
from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

from credentials import sdjwt, status_list

if TYPE_CHECKING:
    from collections.abc import Callable

ECDSA: Final = ec.ECDSA(hashes.SHA256())
AUD: Final = "https://verifier.example"
NONCE: Final = "nonce-1234"
TYP: Final = "dc+sd-jwt"
CLAIMS: Final = {f"claim_{i}": f"value number {i}" for i in range(10)}
ENTRIES: Final = 1_000_000


def _cases() -> dict[str, Callable[[], object]]:
    issuer, holder = ECKey.generate_key("P-256"), ECKey.generate_key("P-256")
    signer, holder_signer = sdjwt.SigningKey(issuer, kid="i"), sdjwt.SigningKey(holder)
    issuer_jwk = {**issuer.as_dict(private=False), "kid": "i"}
    holder_jwk = dict(holder.as_dict(private=False))
    claims: dict[str, Any] = {"iss": "https://council.example", **CLAIMS}
    paths = [(name,) for name in CLAIMS]
    now = int(time.time())

    def pds_issue() -> str:
        return sdjwt.issue({**claims, "cnf": {"jwk": holder_jwk}}, paths, signer, typ=TYP)

    presentation = sdjwt.present(
        pds_issue(), paths, holder=holder_signer, audience=AUD, nonce=NONCE, now=now
    )
    policy = sdjwt.KeyBindingPolicy(audience=AUD, nonce=NONCE)

    def pds_verify() -> object:
        return sdjwt.verify(
            presentation, issuer_keys=[issuer_jwk], typ=TYP, now=now, key_binding=policy
        )

    raw_issuer, raw_holder = issuer.private_key, holder.private_key
    assert raw_issuer is not None
    assert raw_holder is not None
    jwt, *_, kb = presentation.split("~")
    signing_input, kb_input = jwt.rsplit(".", 1)[0].encode(), kb.rsplit(".", 1)[0].encode()
    issuer_sig, holder_sig = raw_issuer.sign(signing_input, ECDSA), raw_holder.sign(kb_input, ECDSA)
    issuer_pub, holder_pub = raw_issuer.public_key(), raw_holder.public_key()

    def raw_sign() -> object:
        return raw_issuer.sign(signing_input, ECDSA)

    def raw_verify_pair() -> None:
        issuer_pub.verify(issuer_sig, signing_input, ECDSA)
        holder_pub.verify(holder_sig, kb_input, ECDSA)

    ref_issuer = JWK(**issuer.as_dict(private=True))
    ref_holder = JWK(**holder.as_dict(private=True))
    ref_claims = {"iss": claims["iss"], **{SDObj(k): v for k, v in CLAIMS.items()}}

    def ref_issue() -> str:
        issued = SDJWTIssuer(
            ref_claims, ref_issuer, ref_holder, extra_header_parameters={"typ": TYP}
        )
        return issued.sd_jwt_issuance

    ref_holding = SDJWTHolder(ref_issue())
    ref_holding.create_presentation(dict.fromkeys(CLAIMS, True), NONCE, AUD, ref_holder)
    ref_presentation = ref_holding.sd_jwt_presentation

    def ref_verify() -> object:
        verifier = SDJWTVerifier(ref_presentation, lambda *_: ref_issuer, AUD, NONCE)
        return verifier.get_verified_payload()

    return {
        "raw_sign": raw_sign,
        "raw_verify_pair": raw_verify_pair,
        "pds_issue": pds_issue,
        "pds_verify": pds_verify,
        "ref_issue": ref_issue,
        "ref_verify": ref_verify,
    }


def run_sdjwt(*, quick: bool = False) -> list[tuple[str, float, float]]:
    """(case, operations per second, ratio to the raw ES256 floor) for each case."""
    iterations, repeats = (50, 5) if quick else (200, 15)
    cases = _cases()
    best = dict.fromkeys(cases, math.inf)
    for _ in range(repeats):
        for name, run in cases.items():
            started = time.perf_counter()
            for _ in range(iterations):
                run()
            best[name] = min(best[name], (time.perf_counter() - started) / iterations)
    layout = (
        ("raw ES256 sign (cryptography)", "raw_sign", "raw_sign"),
        ("PDS sdjwt.issue", "pds_issue", "raw_sign"),
        ("sd-jwt package issue", "ref_issue", "raw_sign"),
        ("raw ES256 verify x2 (cryptography)", "raw_verify_pair", "raw_verify_pair"),
        ("PDS sdjwt.verify (+KB)", "pds_verify", "raw_verify_pair"),
        ("sd-jwt package verify (+KB)", "ref_verify", "raw_verify_pair"),
    )
    return [(label, 1 / best[name], best[name] / best[floor]) for label, name, floor in layout]


def run_status_list(*, quick: bool = False) -> list[tuple[str, str]]:
    key = ECKey.generate_key("P-256")
    lst = status_list.StatusList(ENTRIES)
    lst[random.randrange(ENTRIES)] = status_list.Status.INVALID
    one = len(lst.to_json()["lst"])
    for index in random.sample(range(ENTRIES), ENTRIES // 100):
        lst[index] = status_list.Status.INVALID
    many = len(lst.to_json()["lst"])
    timings = []
    for _ in range(3 if quick else 10):
        started = time.perf_counter()
        lst[random.randrange(ENTRIES)] = status_list.Status.INVALID
        token = status_list.sign_token(
            lst, key, uri="https://pds.example/status/1", now=0, lifetime=86400, ttl=3600
        )
        timings.append(time.perf_counter() - started)
    return [
        ("lst size, 1 revoked", f"{one:,} B"),
        ("lst size, 1% revoked", f"{many:,} B"),
        ("token size, 1% revoked", f"{len(token):,} B"),
        ("revoke 1 + re-encode + sign (best)", f"{min(timings) * 1e3:.1f} ms"),
    ]


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    print("SD-JWT VC, 10 disclosable claims, presentation discloses all 10 with a KB-JWT")
    header = f"{'case':<36} {'ops/s':>9} {'vs raw ES256':>13}"
    print(header)
    print("-" * len(header))
    for label, rate, ratio in run_sdjwt(quick=quick):
        print(f"{label:<36} {rate:>9.0f} {ratio:>13.2f}")
    print()
    print(f"Token Status List, {ENTRIES:,} entries of 2 bits")
    for label, value in run_status_list(quick=quick):
        print(f"{label:<36} {value:>12}")


if __name__ == "__main__":
    main(sys.argv[1:])
