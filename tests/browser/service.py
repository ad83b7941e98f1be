"""The service system's side over real HTTP (``requests``): PAR, code exchange, a read.

Signing comes from ``oauth_kit.ServiceKit`` (PyJWT); only the transport differs from the
in-process tests.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import requests
from e2e.oauth_kit import REDIRECT_URI, Pkce, ServiceKit, code_exchange, data_request

TIMEOUT = 10


def push(base_url: str, kit: ServiceKit, pkce: Pkce) -> str:
    """Push the authorization request; the URL the citizen's browser is sent to."""
    form = kit.authenticated(
        response_type="code",
        client_id=kit.client_id,
        redirect_uri=REDIRECT_URI,
        code_challenge=pkce.challenge,
        code_challenge_method="S256",
        state="state-123",
        authorization_details=json.dumps(data_request()),
    )
    pushed = requests.post(f"{base_url}/oauth/par", data=form, timeout=TIMEOUT)
    assert pushed.status_code == 201, pushed.text
    query = urlencode({"client_id": kit.client_id, "request_uri": pushed.json()["request_uri"]})
    return f"{base_url}/oauth/authorize?{query}"


def _with_nonce(kit: ServiceKit, send: Any) -> requests.Response:
    """Send once; if the server asks for a DPoP nonce, learn it and send again."""
    answer: requests.Response = send()
    if "DPoP-Nonce" in answer.headers and answer.status_code in {400, 401}:
        kit.nonce = answer.headers["DPoP-Nonce"]
        answer = send()
    return answer


def exchange(base_url: str, kit: ServiceKit, code: str, pkce: Pkce) -> dict[str, Any]:
    url = f"{base_url}/oauth/token"
    answer = _with_nonce(
        kit,
        lambda: requests.post(
            url,
            data=kit.authenticated(**code_exchange(code, pkce)),
            headers={"DPoP": kit.proof("POST", url)},
            timeout=TIMEOUT,
        ),
    )
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens


def read_data(base_url: str, kit: ServiceKit, tokens: dict[str, Any]) -> requests.Response:
    url = f"{base_url}/connect/v1/grants/{tokens['grant_id']}/data"
    access = tokens["access_token"]
    return _with_nonce(
        kit,
        lambda: requests.get(
            url,
            headers={
                "Authorization": f"DPoP {access}",
                "DPoP": kit.proof("GET", url, access_token=access),
            },
            timeout=TIMEOUT,
        ),
    )
