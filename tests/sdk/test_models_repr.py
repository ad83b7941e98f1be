"""The SDK's results keep their secrets out of logs and tracebacks.

A service logs what it holds (``logger.info("%s", grant)``) and tracebacks print
locals. An access token, consent token, consent receipt or PKCE verifier in that text
is a credential (or, the receipt, the citizen's data) in a log file: ``repr`` and
``str`` of every model that carries one must leave it out.
"""

from __future__ import annotations

import time

import msgspec
import pytest

from connectors.sdk import AuthorizationStart, ClientToken, Grant, GrantView
from connectors.sdk.models import TokenAnswer

ACCESS = "eyJ-access-token-value"
CONSENT = "eyJ-consent-token-value"
RECEIPT = "eyJ-consent-receipt-value"
VERIFIER = "pkce-code-verifier-value"
SECRETS = (ACCESS, CONSENT, RECEIPT, VERIFIER)


def models() -> list[object]:
    now = time.time()
    view = {
        "grant_id": "grant-1",
        "status": "active",
        "purpose": "sector-publicservices:HousingWelfareManagement",
        "lawful_basis": "public_task",
        "access": "ongoing",
        "duration": "P30D",
        "authorization_details": [],
        "requested_at": "2026-01-01T00:00:00Z",
        "pushed": True,
        "consent_token": CONSENT,
    }
    answer = {
        "access_token": ACCESS,
        "token_type": "DPoP",
        "expires_in": 300,
        "consent_token": CONSENT,
        "consent_receipt": RECEIPT,
        "grant_id": "grant-1",
    }
    return [
        Grant("grant-1", ACCESS, now + 300, consent_token=CONSENT, consent_receipt=RECEIPT),
        ClientToken(ACCESS, now + 300),
        AuthorizationStart(
            url="https://pds.example.gov.uk/oauth/authorize?request_uri=urn:x",
            state="state-1",
            code_verifier=VERIFIER,
            request_uri="urn:x",
            redirect_uri="https://housing.example.gov.uk/pds/callback",
            expires_at=now + 60,
        ),
        msgspec.json.decode(msgspec.json.encode(answer), type=TokenAnswer),
        msgspec.json.decode(msgspec.json.encode(view), type=GrantView),
    ]


@pytest.mark.parametrize("model", models(), ids=lambda m: type(m).__name__)
def test_no_secret_in_repr_or_str(model: object) -> None:
    for text in (repr(model), str(model), f"{model!r}", f"{[model]}"):
        assert not [secret for secret in SECRETS if secret in text], text
    assert repr(model).startswith(type(model).__name__ + "(")


def test_the_secrets_are_still_there_to_use() -> None:
    grant, token, start, answer, view = models()
    assert isinstance(grant, Grant)
    assert (grant.access_token, grant.consent_token, grant.consent_receipt) == (
        ACCESS,
        CONSENT,
        RECEIPT,
    )
    assert isinstance(token, ClientToken)
    assert token.access_token == ACCESS
    assert isinstance(start, AuthorizationStart)
    assert start.code_verifier == VERIFIER
    assert isinstance(answer, TokenAnswer)
    assert (answer.access_token, answer.consent_token) == (ACCESS, CONSENT)
    assert isinstance(view, GrantView)
    assert view.consent_token == CONSENT
