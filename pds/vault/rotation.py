"""KEK rotation: rewrap every data key under the newest KEK version.

Work goes in small committed batches, each row updated only if it is still on
the version it was read at, so the service keeps serving, a concurrent
erasure simply wins, and an interrupted run resumes where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update

from pds.audit.entry import Action, Actor, Entry
from pds.audit.service import append
from pds.db import utcnow
from pds.keys.models import SigningKey
from pds.keys.provider import WrappedKey
from pds.keys.signing import wrap_owner
from pds.vault.models import CitizenKey

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.db import Database
    from pds.keys.provider import KeyProvider

BATCH_SIZE = 200


@dataclass(frozen=True, slots=True)
class RotationPlan:
    target_version: int
    pending: int
    resumed: bool


async def pending_count(db: Database, target_version: int) -> int:
    """Keys still wrapped under another KEK version: citizens' data keys and signing keys."""
    async with db.read_sessions() as session:
        data_keys = await session.scalar(
            select(func.count())
            .select_from(CitizenKey)
            .where(CitizenKey.kek_version != target_version)
        )
        signing_keys = await session.scalar(
            select(func.count())
            .select_from(SigningKey)
            .where(SigningKey.kek_version != target_version)
        )
    return int(data_keys or 0) + int(signing_keys or 0)


async def plan_rotation(db: Database, keys: KeyProvider) -> RotationPlan:
    """Finish an interrupted rotation first; only start a new KEK version when none is pending.

    A new KEK version is audited here, where it is made, so every caller (the CLI
    drives the batches itself) leaves the same record.
    """
    pending = await pending_count(db, keys.current_version)
    if pending:
        return RotationPlan(keys.current_version, pending, resumed=True)
    target = keys.rotate()
    plan = RotationPlan(target, await pending_count(db, target), resumed=False)
    async with db.sessions() as session:
        _audit(session, plan.target_version, stage="new_version", count=plan.pending)
        await session.commit()
    return plan


async def rewrap_batch(db: Database, keys: KeyProvider, target_version: int) -> int:
    """Rewrap up to ``BATCH_SIZE`` keys; returns how many were done (0 when finished)."""
    async with db.sessions() as session:
        rows = (
            await session.execute(
                select(CitizenKey.citizen_id, CitizenKey.kek_version, CitizenKey.wrapped_dek)
                .where(CitizenKey.kek_version != target_version)
                .order_by(CitizenKey.citizen_id)
                .limit(BATCH_SIZE)
            )
        ).all()
        now = utcnow()
        for citizen_id, version, wrapped in rows:
            dek = keys.unwrap(WrappedKey(version, wrapped), citizen_id)
            rewrapped = keys.wrap(dek, citizen_id)
            await session.execute(
                update(CitizenKey)
                .where(CitizenKey.citizen_id == citizen_id, CitizenKey.kek_version == version)
                .values(
                    kek_version=rewrapped.kek_version,
                    wrapped_dek=rewrapped.ciphertext,
                    rewrapped_at=now,
                )
            )
        done = len(rows) or await _rewrap_signing_keys(session, keys, target_version)
        if done:
            _audit(session, target_version, stage="rewrapped", count=done)
        await session.commit()
    return done


async def _rewrap_signing_keys(
    session: AsyncSession, keys: KeyProvider, target_version: int
) -> int:
    """After the data keys, the (few) signing keys, so no old KEK version stays needed."""
    rows = list(
        await session.scalars(select(SigningKey).where(SigningKey.kek_version != target_version))
    )
    for row in rows:
        owner = wrap_owner(row.kid)
        private = keys.unwrap(WrappedKey(row.kek_version, row.private_wrapped), owner)
        rewrapped = keys.wrap(private, owner)
        row.kek_version, row.private_wrapped = rewrapped.kek_version, rewrapped.ciphertext
    return len(rows)


def _audit(session: AsyncSession, version: int, *, stage: str, count: int) -> None:
    append(
        session,
        Entry(
            actor=Actor.ADMIN,
            action=Action.KEY_ROTATED,
            detail={"kek_version": version, "stage": stage, "data_keys": count},
        ),
    )


async def rotate_kek(
    db: Database, keys: KeyProvider, progress: Callable[[int], None] | None = None
) -> RotationPlan:
    """Run (or resume) a rotation to completion, reporting each (audited) batch."""
    plan = await plan_rotation(db, keys)
    while count := await rewrap_batch(db, keys, plan.target_version):
        if progress:
            progress(count)
    return plan
