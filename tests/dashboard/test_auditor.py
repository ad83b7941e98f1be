"""The auditor's pages: search by form, an entry's proof, CSV, checkpoint consistency."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from e2e.helpers import browser

from dashboard.kit import AUDITOR_EMAIL, make_auditor, post_form, sign_in, sign_up
from pds.audit.sequencer import log_origin, sequence_all
from pds.web.deps import SESSION_COOKIE

if TYPE_CHECKING:
    from litestar.testing import AsyncTestClient

    from pds.accounts.service import AccountPolicy
    from pds.db import Database
    from pds.keys.provider import KeyProvider
    from pds.settings import Settings

_ENTRY = re.compile(r'href="/dashboard/audit/entries/([0-9a-f-]{36})"')
_NOTE = re.compile(
    r'<pre class="app-code govuk-inset-text" id="current-checkpoint">(.*?)</pre>', re.S
)


@pytest.fixture
async def auditor(
    client: AsyncTestClient[Any], db: Database, keys: KeyProvider, policy: AccountPolicy
) -> AsyncTestClient[Any]:
    """A citizen has done things; the auditor is signed in on ``client``."""
    async with browser(client) as citizen:
        await sign_up(citizen, "watched@example.com")
    await make_auditor(db, keys, policy)
    await sign_in(client, AUDITOR_EMAIL)
    return client


async def test_search_filters_and_each_entry_has_a_proof(
    auditor: AsyncTestClient[Any], db: Database, keys: KeyProvider, settings: Settings
) -> None:
    await sequence_all(db, keys, log_origin(settings.base_url))
    found = await post_form(auditor, "/dashboard/audit", {"action": "account.created"})
    assert found.status_code == 200
    assert "account.created" in found.text
    assert "sign_in" not in found.text.split("Results")[1]
    entry = _ENTRY.search(found.text)
    assert entry
    page = await auditor.get(f"/dashboard/audit/entries/{entry.group(1)}")
    assert "Verified" in page.text


async def test_bad_filters_say_how_to_fix(auditor: AsyncTestClient[Any]) -> None:
    answer = await post_form(
        auditor,
        "/dashboard/audit",
        {"citizen": "Amara", "from-day": "31", "from-month": "2", "from-year": "2026"},
    )
    assert answer.status_code == 400
    assert "Enter the citizen" in answer.text
    assert "From must be a real date" in answer.text


async def test_the_citizen_id_never_goes_in_a_url(auditor: AsyncTestClient[Any]) -> None:
    page = await auditor.get("/dashboard/audit")
    assert 'method="post" action="/dashboard/audit"' in page.text


async def test_csv_download(auditor: AsyncTestClient[Any]) -> None:
    answer = await post_form(auditor, "/dashboard/audit/export", {}, token_from="/dashboard/audit")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.text.startswith("id,time,actor")


async def test_consistency_with_a_kept_checkpoint(
    auditor: AsyncTestClient[Any], db: Database, keys: KeyProvider, settings: Settings
) -> None:
    await sequence_all(db, keys, log_origin(settings.base_url))
    page = await auditor.get("/dashboard/audit/checkpoint")
    kept = _NOTE.search(page.text)
    assert kept
    note = kept.group(1).replace("&#34;", '"').replace("&gt;", ">").replace("&lt;", "<")
    note = note.replace("&amp;", "&").replace("&#39;", "'")
    await post_form(auditor, "/dashboard/audit", {})  # the log grows: a search is recorded
    await sequence_all(db, keys, log_origin(settings.base_url))
    checked = await post_form(auditor, "/dashboard/audit/checkpoint", {"checkpoint": note})
    assert checked.status_code == 200, checked.text
    assert "Consistent" in checked.text
    forged = await post_form(
        auditor, "/dashboard/audit/checkpoint", {"checkpoint": note.replace("\n", "\n1", 1)}
    )
    assert forged.status_code == 400
    assert "not a checkpoint signed by this log" in forged.text
    empty = await post_form(auditor, "/dashboard/audit/checkpoint", {"checkpoint": ""})
    assert "Paste a checkpoint" in empty.text


async def test_citizens_cannot_open_auditor_pages(client: AsyncTestClient[Any]) -> None:
    await sign_up(client, "curious@example.com")
    for path in ("/dashboard/audit", "/dashboard/audit/checkpoint"):
        answer = await client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/dashboard"
    assert SESSION_COOKIE in client.cookies
