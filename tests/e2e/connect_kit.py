"""Calling /connect/v1 as a service system: DPoP-bound requests built by hand with PyJWT.

Independent of the SDK on purpose: these are the bytes a system in any language sends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx
    from litestar.testing import AsyncTestClient

    from e2e.oauth_kit import ServiceKit

CONNECT = "/connect/v1"


def dpop_headers(
    kit: ServiceKit, method: str, path: str, token: str, **proof: Any
) -> dict[str, str]:
    """``Authorization: DPoP`` and a fresh proof for ``method path`` bound to ``token``."""
    url = kit.issuer + path.split("?", 1)[0]
    return {
        "Authorization": f"DPoP {token}",
        "DPoP": kit.proof(method, url, access_token=token, **proof),
    }


async def connect_get(
    client: AsyncTestClient[Any],
    kit: ServiceKit,
    token: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.get(
        CONNECT + path,
        params=params,
        headers={**dpop_headers(kit, "GET", CONNECT + path, token), **(headers or {})},
    )


async def connect_post(
    client: AsyncTestClient[Any], kit: ServiceKit, token: str, path: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(
        CONNECT + path, json=body, headers=dpop_headers(kit, "POST", CONNECT + path, token)
    )


async def client_token(client: AsyncTestClient[Any], kit: ServiceKit) -> str:
    """A client-level access token (client_credentials), for pushing requests and events."""
    answer = await kit.token(client, {"grant_type": "client_credentials"})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token
