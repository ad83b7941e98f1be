"""One HTTP exchange under DPoP: a fresh proof per attempt, the server's nonce learnt and
the request retried once when the server asks for it (``use_dpop_nonce``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connectors.sdk.errors import problem_of

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import httpx

    from connectors.sdk.dpop import DPoPSigner, NonceCache

FORM = "application/x-www-form-urlencoded"


class Transport:
    def __init__(self, http: httpx.AsyncClient, signer: DPoPSigner, nonces: NonceCache) -> None:
        self.http = http
        self.signer = signer
        self.nonces = nonces

    async def send(
        self,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        form: Callable[[], dict[str, str]] | None = None,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        proof: bool = True,
    ) -> httpx.Response:
        """Send, and once more with the nonce the server asked for. ``form`` is built per
        attempt, so a one-use client assertion is never sent twice."""
        request = _Outgoing(method, url, access_token, form, json, params, headers, proof)
        response, sent_nonce = await self._once(request)
        if proof and asks_for_nonce(response) and self.nonces.get(url) not in (None, sent_nonce):
            # Compared with what this request sent, not with what the cache held: requests
            # in flight together all learn the server's nonce from the first answer, and
            # each of them still has to send it once.
            response, _ = await self._once(request)
        return response

    async def _once(self, request: _Outgoing) -> tuple[httpx.Response, str | None]:
        """One attempt; the answer, and the nonce the proof carried."""
        sent = dict(request.headers or {})
        token, url = request.access_token, request.url
        nonce = None
        if request.proof:
            nonce = self.nonces.get(url)
            sent["DPoP"] = self.signer.proof(request.method, url, access_token=token, nonce=nonce)
        if token is not None:
            sent["Authorization"] = f"DPoP {token}"
        response = await self.http.request(
            request.method,
            url,
            data=request.form() if request.form is not None else None,
            json=request.json,
            params=request.params,
            headers=sent,
        )
        self.nonces.learn(url, response.headers)
        return response, nonce


@dataclass(frozen=True, slots=True)
class _Outgoing:
    method: str
    url: str
    access_token: str | None
    form: Callable[[], dict[str, str]] | None
    json: Any
    params: Mapping[str, str] | None
    headers: Mapping[str, str] | None
    proof: bool


def asks_for_nonce(response: httpx.Response) -> bool:
    """The AS answers 400 ``use_dpop_nonce``; a resource server 401 with the error in
    ``WWW-Authenticate`` (RFC 9449 §8, §9)."""
    if response.status_code == 400:
        return problem_of(response).get("error") == "use_dpop_nonce"
    if response.status_code == 401:
        return 'error="use_dpop_nonce"' in response.headers.get("www-authenticate", "")
    return False


def invalid_token(response: httpx.Response) -> bool:
    """A 401 that a fresh access token may cure (expired, revoked or unknown token)."""
    challenge = response.headers.get("www-authenticate", "")
    return response.status_code == 401 and 'error="invalid_token"' in challenge
