"""The citizen's side of the SDK tests: a browser (httpx with a cookie jar) against the
live server, signing up, filing evidence, answering the consent page and revoking."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from conftest import TEST_PASSWORD

from pds.vault.evidence_types import EXAMPLE_CLAIMS

if TYPE_CHECKING:
    import httpx

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"')


async def sign_up_and_in(browser: httpx.AsyncClient, email: str) -> None:
    body = {"email": email, "password": TEST_PASSWORD}
    created = await browser.post("/api/v1/citizens", json=body)
    assert created.status_code == 201, created.text
    signed_in = await browser.post("/api/v1/session", json=body)
    assert signed_in.status_code == 201, signed_in.text


async def file_evidence(
    browser: httpx.AsyncClient, evidence_type: str, claims: dict[str, Any] | None = None
) -> str:
    body = {"type": evidence_type, "claims": claims or EXAMPLE_CLAIMS[evidence_type]}
    created = await browser.post("/api/v1/me/evidence", json=body)
    assert created.status_code == 201, created.text
    item_id: str = created.json()["id"]
    return item_id


async def upload(browser: httpx.AsyncClient, item_id: str, content: bytes) -> str:
    uploaded = await browser.post(
        f"/api/v1/me/evidence/{item_id}/documents",
        files={"file": ("bill.png", content, "image/png")},
    )
    assert uploaded.status_code == 201, uploaded.text
    document_id: str = uploaded.json()["id"]
    return document_id


async def answer(
    browser: httpx.AsyncClient,
    authorize_url: str,
    *,
    decision: str = "approve",
    items: tuple[int, ...] = (),
) -> str:
    """Open the consent page as the signed-in citizen and answer; the redirect Location."""
    page = await browser.get(authorize_url)
    assert page.status_code == 200, page.text
    found = _CSRF.search(page.text)
    assert found, "the consent page has no decision form"
    answered = await browser.post(
        urlsplit(authorize_url).path,
        data={
            **dict(_HIDDEN.findall(page.text)),
            "csrf_token": found.group(1),
            "decision": decision,
            "items": [str(i) for i in items],
        },
        follow_redirects=False,
    )
    assert answered.status_code == 303, answered.text
    location: str = answered.headers["location"]
    return location


async def revoke(browser: httpx.AsyncClient, grant_id: str) -> None:
    revoked = await browser.post(f"/api/v1/me/grants/{grant_id}/revoke")
    assert revoked.status_code == 200, revoked.text


async def approve_pushed(browser: httpx.AsyncClient, grant_id: str) -> None:
    inbox = await browser.get("/api/v1/me/consent-requests")
    assert grant_id in [g["id"] for g in inbox.json()["grants"]], inbox.text
    approved = await browser.post(f"/api/v1/me/consent-requests/{grant_id}/approve", json={})
    assert approved.status_code == 200, approved.text
