"""Keys and a hand signer for SD-JWT tests: issuer and holder P-256 keys, made once."""

from __future__ import annotations

import json
from typing import Any, Protocol

import pytest
from joserfc import jws
from joserfc.jwk import ECKey

from credentials import sdjwt

ISSUER_KID = "issuer-1"
_ISSUER = ECKey.generate_key("P-256")
_HOLDER = ECKey.generate_key("P-256")


@pytest.fixture(scope="session")
def issuer() -> sdjwt.SigningKey:
    return sdjwt.SigningKey(_ISSUER, kid=ISSUER_KID)


@pytest.fixture(scope="session")
def issuer_jwk() -> dict[str, Any]:
    return {**_ISSUER.as_dict(private=False), "kid": ISSUER_KID}


@pytest.fixture(scope="session")
def holder() -> sdjwt.SigningKey:
    return sdjwt.SigningKey(_HOLDER)


@pytest.fixture(scope="session")
def holder_jwk() -> dict[str, Any]:
    return dict(_HOLDER.as_dict(private=False))


class RawSigner(Protocol):
    def __call__(
        self, payload: Any, header: dict[str, Any] | None = None, key: ECKey = ...
    ) -> str: ...


@pytest.fixture(scope="session")
def sign_raw() -> RawSigner:
    return _sign_raw


def _sign_raw(payload: Any, header: dict[str, Any] | None = None, key: ECKey = _ISSUER) -> str:
    """A JWS over exactly ``payload``, for building inputs the real issuer would refuse."""
    header = header or {"alg": "ES256", "typ": "t+sd-jwt", "kid": ISSUER_KID}
    body = json.dumps(payload).encode()
    return jws.serialize_compact(header, body, key, algorithms=[header["alg"]])
