"""Properties of the connector API over real HTTP and a real database (both backends).

For random grants (which claims of which evidence types the citizen let through) and
random reads (which claims the service asks for this time), ``/data`` returns exactly
the claims that are held, granted and asked, and refuses a read that asks only for
claims outside the grant — the oracle below is written out longhand from the example
claims, not computed by the code under test.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from conftest import sign_up_and_in
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from e2e.connect_kit import connect_get
from e2e.helpers import browser, create_evidence
from e2e.oauth_kit import ServiceKit, data_request
from e2e.test_connector_api import approved
from pds.vault.evidence_types import EXAMPLE_CLAIMS

if TYPE_CHECKING:
    from litestar.testing import AsyncTestClient

    from pds.db import Database

TYPES = ("proof_of_address", "council_tax_bill")
NAMES = {kind: sorted(EXAMPLE_CLAIMS[kind]) for kind in TYPES}
ALL_NAMES = sorted({name for names in NAMES.values() for name in names} | {"nino", "not_a_claim"})
_emails = itertools.count()


def claim_choice(kind: str) -> st.SearchStrategy[tuple[str, ...] | None]:
    """None (the whole item) or a non-empty subset of the type's claims."""
    subsets = st.lists(st.sampled_from(NAMES[kind]), min_size=1, unique=True).map(tuple)
    return st.one_of(st.none(), subsets)


grants = st.fixed_dictionaries({kind: claim_choice(kind) for kind in TYPES})
asks = st.one_of(
    st.none(), st.lists(st.sampled_from(ALL_NAMES), min_size=1, max_size=6, unique=True)
)


def expected(granted: dict[str, tuple[str, ...] | None], asked: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind, names in granted.items():
        held = EXAMPLE_CLAIMS[kind]
        allowed = set(held) if names is None else set(names)
        if asked is not None:
            allowed &= set(asked)
        if allowed:
            out[kind] = {name: held[name] for name in sorted(allowed)}
    return out


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(granted=grants, asked=asks)
async def test_data_is_exactly_asked_intersect_granted(
    client: AsyncTestClient[Any],
    db: Database,
    granted: dict[str, tuple[str, ...] | None],
    asked: list[str] | None,
) -> None:
    kit = ServiceKit()
    await kit.register(db)
    async with browser(client) as citizen:
        await sign_up_and_in(citizen, f"person{next(_emails)}@example.com")
        for kind in TYPES:
            await create_evidence(citizen, kind)
        await create_evidence(citizen, "income_statement", category="income")
        items = [
            {"evidence_type": kind, "required": True, **({"claims": list(n)} if n else {})}
            for kind, n in granted.items()
        ]
        tokens = await approved(citizen, kit, details=data_request(items=items))
    params = {"claims": ",".join(asked)} if asked is not None else None

    response = await connect_get(
        client, kit, tokens["access_token"], f"/grants/{tokens['grant_id']}/data", params=params
    )

    wanted = expected(granted, asked)
    if asked is not None and not wanted:  # asked only for what the grant does not reach
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "read_denied"
        return
    assert response.status_code == 200, response.text
    got = {item["evidence_type"]: item["claims"] for item in response.json()["items"]}
    assert got == wanted
