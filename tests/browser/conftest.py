"""Browser tests: Debian's Chromium driven by Playwright against a live server.

Skipped, with the reason, only when /usr/bin/chromium is missing (``.ci/run``
installs it); Playwright's own browser download is not used.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pds.accounts.service import AccountPolicy
    from pds.keys.provider import InMemoryKeyProvider
    from pds.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parents[2] / "artifacts" / "screenshots"

if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need /usr/bin/chromium (apt-get install -y chromium; .ci/run does)",
        allow_module_level=True,
    )


@pytest.fixture
def live(
    settings: Settings, db: object, keys: InMemoryKeyProvider, policy: AccountPolicy
) -> Iterator[str]:
    """The app on a free local port, with its audit sequencer running, as in production."""
    from e2e.test_oauth_independent_client import live_server  # noqa: PLC0415

    with live_server(dataclasses.replace(settings, audit_sequencer=True), keys, policy) as url:
        yield url
