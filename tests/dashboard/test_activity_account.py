"""Activity with proofs, download all my data, and deleting the account."""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import TYPE_CHECKING, Any

from conftest import TEST_PASSWORD

from dashboard.kit import post_form, sign_up
from pds.audit.sequencer import log_origin, sequence_all
from pds.web.deps import SESSION_COOKIE

if TYPE_CHECKING:
    from litestar.testing import AsyncTestClient

    from pds.db import Database
    from pds.keys.provider import KeyProvider
    from pds.settings import Settings

_ENTRY = re.compile(r'href="/dashboard/activity/([0-9a-f-]{36})"')


async def test_activity_reads_as_plain_english_with_a_checked_proof(
    client: AsyncTestClient[Any], db: Database, keys: KeyProvider, settings: Settings
) -> None:
    await sign_up(client, "act@example.com")
    page = await client.get("/dashboard/activity")
    assert "Your account was created, by you" in page.text
    entry_id = _ENTRY.search(page.text)
    assert entry_id
    pending = await client.get(f"/dashboard/activity/{entry_id.group(1)}")
    assert "not in a signed checkpoint yet" in pending.text
    await sequence_all(db, keys, log_origin(settings.base_url))
    proven = await client.get(f"/dashboard/activity/{entry_id.group(1)}")
    assert "Verified" in proven.text
    assert "Signed root hash" in proven.text


async def test_download_all_my_data(client: AsyncTestClient[Any]) -> None:
    await sign_up(client, "dl@example.com")
    answer = await client.get("/dashboard/account/download")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["account"]["email"] == "dl@example.com"


async def test_delete_account_needs_the_box_and_the_password(
    client: AsyncTestClient[Any],
) -> None:
    await sign_up(client, "bye@example.com")
    path = "/dashboard/account/delete"
    page = await client.get(path)
    assert "You cannot undo this" in page.text
    neither = await post_form(client, path, {"password": ""})
    assert neither.status_code == 400
    assert "Tick the box" in neither.text
    assert "Enter your password" in neither.text
    wrong = await post_form(client, path, {"understood": "yes", "password": "wrong wrong wrong"})
    assert "The password is not right" in wrong.text
    assert (await client.get("/dashboard")).status_code == 200
    done = await post_form(client, path, {"understood": "yes", "password": TEST_PASSWORD})
    assert done.status_code == 200
    assert "Your account has been deleted" in done.text
    assert SESSION_COOKIE not in client.cookies or not client.cookies[SESSION_COOKIE]
    signed_in = await post_form(
        client, "/dashboard/sign-in", {"email": "bye@example.com", "password": TEST_PASSWORD}
    )
    assert signed_in.status_code == 401
