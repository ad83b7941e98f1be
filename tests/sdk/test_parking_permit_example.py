"""The parking permit example (examples/parking_permit) against a live server, on both
databases: its keys and manifest made on first run and registered as ``pds clients add``
would, the resident's consent, the decision, and the watch that ends on revocation."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import msgspec
import pytest

from connectors.registry import parse_manifest, register_client
from connectors.sdk import AccessDenied, GrantData
from pds.vault.evidence_types import EXAMPLE_CLAIMS
from sdk import citizen

if TYPE_CHECKING:
    from types import ModuleType

    from pds.db import Database

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "parking_permit" / "parking_permit.py"
REDIRECT_URI = "http://127.0.0.1:8765/callback"  # the example's; never listened on here
TIMEOUT = 10.0


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("parking_permit_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


permit = load_example()


async def register_from(db: Database, manifest_path: Path) -> str:
    """What ``pds clients add --from manifest.json`` does with the example's manifest."""
    manifest = parse_manifest(await asyncio.to_thread(manifest_path.read_bytes))
    async with db.sessions() as session:
        client = await register_client(session, manifest)
        return client.client_id


async def test_the_example_checks_a_resident_and_stops_when_they_revoke(
    db: Database, live: str, tmp_path: Path
) -> None:
    keys = permit.ensure_keys(tmp_path / "var")
    manifest = json.loads(keys.manifest_path.read_text())
    assert all("d" not in key for key in manifest["jwks"]["keys"])  # public halves only
    assert "d" not in manifest["encryption_jwk"]
    assert (tmp_path / "var" / "signing.jwk.json").stat().st_mode & 0o077 == 0
    again = permit.ensure_keys(tmp_path / "var")  # second run: the same keys
    assert again.signing.thumbprint() == keys.signing.thumbprint()
    client_id = await register_from(db, keys.manifest_path)

    async with (
        httpx.AsyncClient(base_url=live, timeout=TIMEOUT) as browser,
        permit.connect(live, client_id, keys) as pds,
    ):
        await citizen.sign_up_and_in(browser, "amara@example.com")
        await citizen.file_evidence(browser, "proof_of_address")

        async def resident_approves(url: str) -> str:
            location = await citizen.answer(browser, url)
            assert location.startswith(REDIRECT_URI + "?")
            return location

        grant, decision = await permit.check_resident(pds, resident_approves)
        assert decision.eligible, decision
        assert decision.postcode == "LS6 2AB"

        reports: list[str] = []
        watching = asyncio.create_task(
            permit.watch(pds, grant, interval=0.05, report=reports.append)
        )
        await asyncio.sleep(0.2)
        assert not watching.done()  # the approval event alone does not end the watch
        items = (await browser.get("/api/v1/me/evidence")).json()["items"]
        moved = {**EXAMPLE_CLAIMS["proof_of_address"], "postcode": "M1 1AE"}
        changed = await browser.put(f"/api/v1/me/evidence/{items[0]['id']}", json={"claims": moved})
        assert changed.status_code == 200, changed.text
        await asyncio.sleep(0.3)
        await citizen.revoke(browser, grant.grant_id)
        ended = await asyncio.wait_for(watching, timeout=TIMEOUT)

    assert ended.type == "grant.revoked"
    assert ended.grant_id == grant.grant_id
    assert reports == ["Address changed: M1 1AE is outside Leeds's permit zones."]


async def test_the_example_hears_a_refusal(db: Database, live: str, tmp_path: Path) -> None:
    keys = permit.ensure_keys(tmp_path / "var")
    client_id = await register_from(db, keys.manifest_path)
    async with (
        httpx.AsyncClient(base_url=live, timeout=TIMEOUT) as browser,
        permit.connect(live, client_id, keys) as pds,
    ):
        await citizen.sign_up_and_in(browser, "tom@example.com")
        await citizen.file_evidence(browser, "proof_of_address")

        async def resident_refuses(url: str) -> str:
            return await citizen.answer(browser, url, decision="refuse")

        with pytest.raises(AccessDenied):
            await permit.check_resident(pds, resident_refuses)


def shared(postcode: Any) -> GrantData:
    item = {
        "id": "i1",
        "evidence_type": "proof_of_address",
        "category": "address",
        "version": 1,
        "version_time": "2026-01-01T00:00:00Z",
        "claims": {} if postcode is None else {"postcode": postcode},
        "provenance": {"kind": "self_asserted"},
    }
    body = {
        "grant_id": "g1",
        "subject": "s1",
        "purpose": "p",
        "retrieved_at": "2026-01-01T00:00:00Z",
        "items": [item],
    }
    return msgspec.convert(body, GrantData)


@pytest.mark.parametrize(
    ("postcode", "eligible"),
    [("LS6 2AB", True), ("ls29 1aa", True), ("LS30 1AA", False), ("M1 1AE", False), (None, False)],
)
def test_the_decision_is_the_postcode_district(postcode: str | None, eligible: bool) -> None:
    assert permit.decide(shared(postcode)).eligible is eligible
