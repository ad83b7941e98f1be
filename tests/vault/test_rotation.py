"""KEK rotation against a real database: every data key rewrapped, resumable, audited.

The vault is filled and read back over HTTP, so "still opens" means what a citizen sees.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from typing import TYPE_CHECKING, Any

from click.testing import CliRunner
from conftest import sign_up_and_in
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from e2e.helpers import (
    EVIDENCE,
    audit_entries,
    browser,
    create_evidence,
    document_url,
    png,
)
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from pds.app import KEK_FILE, create_app
from pds.audit.entry import Action, Actor, Entry
from pds.audit.models import AuditEntry
from pds.audit.note import open_checkpoint
from pds.audit.proofs import latest_checkpoint
from pds.audit.sequencer import sequence_all
from pds.audit.service import append
from pds.cli import main
from pds.keys.models import SigningKey
from pds.keys.provider import LocalKeyFileProvider
from pds.vault import rotation
from pds.vault.datakeys import data_key_versions
from pds.vault.evidence_types import EXAMPLE_CLAIMS
from pds.vault.models import CitizenKey
from pds.vault.rotation import RotationPlan, plan_rotation, rewrap_batch, rotate_kek
from pds.web.deps import SESSION_COOKIE

if TYPE_CHECKING:
    import uuid
    from pathlib import Path

    import pytest

    from pds.accounts.service import AccountPolicy
    from pds.db import Database
    from pds.keys.provider import InMemoryKeyProvider
    from pds.settings import Settings

Client = AsyncTestClient[Any]
KINDS = ("proof_of_address", "blue_badge", "income_statement")


@dataclasses.dataclass
class Vault:
    token: str
    item_id: str
    document_id: str
    document: bytes


async def fill(client: Client, count: int = len(KINDS)) -> list[Vault]:
    """``count`` citizens signed up on ``client`` in turn, each with one item and document."""
    vaults = []
    for n in range(count):
        client.cookies.clear()
        await sign_up_and_in(client, f"citizen{n}@example.com")
        item = await create_evidence(client, KINDS[n % len(KINDS)])
        document = png(f"document of citizen {n}".encode())
        uploaded = await client.post(
            f"{EVIDENCE}/{item['id']}/documents", files={"file": ("d.png", document, "image/png")}
        )
        vaults.append(
            Vault(client.cookies[SESSION_COOKIE], item["id"], uploaded.json()["id"], document)
        )
    client.cookies.clear()
    return vaults


async def assert_every_vault_opens(client: Client, vaults: list[Vault]) -> None:
    for n, vault in enumerate(vaults):
        async with browser(client, vault.token) as citizen:
            read = await citizen.get(f"{EVIDENCE}/{vault.item_id}")
            assert read.status_code == 200, read.text
            assert read.json()["claims"] == EXAMPLE_CLAIMS[KINDS[n % len(KINDS)]]
            versions = await citizen.get(f"{EVIDENCE}/{vault.item_id}/versions")
            assert versions.status_code == 200
            download = await citizen.get(document_url(vault.item_id, vault.document_id))
            assert download.content == vault.document


async def versions(db: Database) -> dict[int, int]:
    async with db.read_sessions() as session:
        return await data_key_versions(session)


async def wrapped_keys(db: Database) -> dict[uuid.UUID, bytes]:
    async with db.read_sessions() as session:
        rows = await session.execute(select(CitizenKey.citizen_id, CitizenKey.wrapped_dek))
        return dict(rows.all())


async def rotation_log(db: Database) -> list[tuple[str, int, int]]:
    entries = await audit_entries(db, AuditEntry.action == Action.KEY_ROTATED.value)
    assert all(e.actor == Actor.ADMIN.value and e.citizen_id is None for e in entries)
    return [(e.detail["stage"], e.detail["kek_version"], e.detail["data_keys"]) for e in entries]


async def test_rotation_rewraps_every_data_key_and_the_vaults_still_open(
    client: Client, db: Database, keys: InMemoryKeyProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    vaults = await fill(client)
    before = await wrapped_keys(db)
    assert await versions(db) == {1: 3}
    monkeypatch.setattr(rotation, "BATCH_SIZE", 2)
    batches: list[int] = []

    plan = await rotate_kek(db, keys, batches.append)

    # Three data keys, then the token signing key the server made at start-up.
    assert plan == RotationPlan(target_version=2, pending=4, resumed=False)
    assert batches == [2, 1, 1]
    assert (keys.current_version, keys.versions()) == (2, [1, 2])
    assert await versions(db) == {2: 3}
    after = await wrapped_keys(db)
    assert after.keys() == before.keys()
    assert all(after[citizen] != before[citizen] for citizen in before)
    await assert_every_vault_opens(client, vaults)
    assert await rotation_log(db) == [
        ("new_version", 2, 4),
        ("rewrapped", 2, 2),
        ("rewrapped", 2, 1),
        ("rewrapped", 2, 1),
    ]
    # A citizen who arrives after the rotation gets a key under the new version only.
    await sign_up_and_in(client, "late@example.com")
    assert await versions(db) == {2: 4}


async def test_an_interrupted_rotation_resumes_without_another_kek_version(
    client: Client, db: Database, keys: InMemoryKeyProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    vaults = await fill(client)
    monkeypatch.setattr(rotation, "BATCH_SIZE", 1)

    started = await plan_rotation(db, keys)
    assert await rewrap_batch(db, keys, started.target_version) == 1
    # ...and the process stops here. Mid-rotation, keys on both versions still open.
    assert started == RotationPlan(target_version=2, pending=4, resumed=False)
    assert await versions(db) == {1: 2, 2: 1}
    await assert_every_vault_opens(client, vaults)

    resumed = await rotate_kek(db, keys)

    assert resumed == RotationPlan(target_version=2, pending=3, resumed=True)
    assert (keys.current_version, keys.versions()) == (2, [1, 2])
    assert await versions(db) == {2: 3}
    await assert_every_vault_opens(client, vaults)
    assert await rotation_log(db) == [
        ("new_version", 2, 4),
        ("rewrapped", 2, 1),
        ("rewrapped", 2, 1),
        ("rewrapped", 2, 1),
        ("rewrapped", 2, 1),
    ]


async def test_each_finished_rotation_starts_a_new_version(
    client: Client, db: Database, keys: InMemoryKeyProvider
) -> None:
    vaults = await fill(client, 2)

    first = await rotate_kek(db, keys)
    second = await rotate_kek(db, keys)

    assert (first.target_version, second.target_version) == (2, 3)
    assert not second.resumed
    assert await versions(db) == {3: 2}
    assert keys.versions() == [1, 2, 3]  # old KEKs are kept for anything still wrapped
    await assert_every_vault_opens(client, vaults)
    # With nothing left to rewrap, a batch does nothing and records nothing.
    log = await rotation_log(db)
    assert await rewrap_batch(db, keys, 3) == 0
    assert await rotation_log(db) == log


async def test_a_citizen_erased_mid_rotation_is_simply_skipped(
    client: Client, db: Database, keys: InMemoryKeyProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    vaults = await fill(client)
    monkeypatch.setattr(rotation, "BATCH_SIZE", 1)
    plan = await plan_rotation(db, keys)
    await rewrap_batch(db, keys, plan.target_version)
    async with browser(client, vaults[-1].token) as leaving:
        erased = await leaving.request(
            "DELETE", "/api/v1/me", json={"password": "correct horse battery staple"}
        )
        assert erased.status_code == 204

    resumed = await rotate_kek(db, keys)

    assert resumed == RotationPlan(target_version=2, pending=2, resumed=True)  # + token key
    assert await versions(db) == {2: 2}
    await assert_every_vault_opens(client, vaults[:-1])


# --- the operator command, next to a running server ---------------------------------------------


def run_cli(env: dict[str, str], *args: str) -> list[str]:
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code == 0, result.output
    return [line for line in result.output.splitlines() if not line.startswith("{")]


async def test_pds_keys_rotate_kek_while_the_server_runs(
    settings: Settings, db: Database, policy: AccountPolicy, tmp_path: Path
) -> None:
    # The server and the CLI share a key file, as on a one-server install.
    server_settings = dataclasses.replace(
        settings, data_dir=tmp_path / "data", database_url=settings.resolved_database_url
    )
    env = {
        "PDS_DATA_DIR": str(server_settings.data_dir),
        "PDS_DATABASE_URL": server_settings.database_url,
    }
    app = create_app(server_settings, account_policy=policy)
    async with AsyncTestClient(app=app) as client:
        vaults = await fill(client)

        output = await asyncio.to_thread(run_cli, env, "keys", "rotate-kek")

        assert output[0] == "rotating to new KEK version 2: 4 key(s) to rewrap"  # + token key
        assert output[-1] == "done: 0 key(s) left on older versions"
        assert await versions(db) == {2: 3}
        # The running server learns the new KEK from the file, for old and new citizens.
        await assert_every_vault_opens(client, vaults)
        await sign_up_and_in(client, "late@example.com")
        assert await versions(db) == {2: 4}

    status = await asyncio.to_thread(run_cli, env, "keys", "status")
    assert status == [
        "current KEK version: 2",
        "  v1: 0 data key(s)",
        "  v2 (current): 4 data key(s)",
    ]
    on_disk = LocalKeyFileProvider.open(server_settings.data_dir / KEK_FILE, create=False)
    assert on_disk.versions() == [1, 2]
    assert await rotation_log(db) == [
        ("new_version", 2, 4),
        ("rewrapped", 2, 3),
        ("rewrapped", 2, 1),
    ]


async def test_rotation_rewraps_the_checkpoint_signing_key_which_keeps_signing(
    db: Database, keys: InMemoryKeyProvider
) -> None:
    origin = "pds.test/audit"
    for _ in range(2):
        async with db.sessions() as session:
            append(session, Entry(actor=Actor.SYSTEM, action=Action.EXPORT))
            await session.commit()
        await sequence_all(db, keys, origin)  # the first round makes the key under KEK v1
        if keys.current_version == 1:
            plan = await rotate_kek(db, keys)

    async with db.read_sessions() as session:
        key = (await session.scalars(select(SigningKey))).one()
        latest = await latest_checkpoint(session)
    assert key.kek_version == plan.target_version == 2
    public = Ed25519PublicKey.from_public_bytes(
        base64.urlsafe_b64decode(key.public_jwk["x"] + "==")
    )
    # Signed after the rotation, by the rewrapped key (the rotation's own entries included).
    assert open_checkpoint(latest.note, origin, [(origin, public)]).size == latest.tree_size > 2
