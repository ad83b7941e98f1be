"""The sign-posting page: public, and it points where the PDS cannot help."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from litestar.testing import AsyncTestClient


async def test_help_is_public_and_signposts_other_services(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/dashboard/help")

    assert response.status_code == 200
    text = response.text
    assert "Help and other services" in text
    assert "Information Commissioner" in text  # where to complain
    assert "find-local-council" in text  # who decides Council Tax, housing, parking
    assert 'href="/dashboard/help"' in (await client.get("/dashboard/sign-in")).text
