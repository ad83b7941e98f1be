"""The SDK's tests talk to a live server: uvicorn in a thread, on a free loopback port."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from e2e.test_oauth_independent_client import live_server

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from pds.accounts.service import AccountPolicy
    from pds.db import Database
    from pds.keys.provider import InMemoryKeyProvider
    from pds.settings import Settings


@pytest.fixture
async def live(
    settings: Settings, db: Database, keys: InMemoryKeyProvider, policy: AccountPolicy
) -> AsyncIterator[str]:
    """The base URL of a live server over this test's database (``db`` so it is ready)."""
    with live_server(settings, keys, policy) as base_url:
        yield base_url
