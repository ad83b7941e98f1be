"""Each citizen's data key: created once, stored wrapped, unwrapped per use.

Unwrapped keys are not cached: a request unwraps, uses and drops the key, so
erasure (deleting the wrapped key) takes effect on the very next request in
every process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from pds.errors import NotFound
from pds.keys.provider import WrappedKey
from pds.vault.envelope import DataKey, generate_dek
from pds.vault.models import CitizenKey

if TYPE_CHECKING:
    import uuid

    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.keys.provider import KeyProvider


class NoDataKey(NotFound):
    """The citizen has no data key: never created, or erased."""

    code = "no_data_key"


def create_data_key(session: AsyncSession, keys: KeyProvider, citizen_id: uuid.UUID) -> DataKey:
    """Make a fresh DEK for a new citizen and stage its wrapped form."""
    dek = generate_dek()
    wrapped = keys.wrap(dek, citizen_id)
    session.add(
        CitizenKey(
            citizen_id=citizen_id,
            kek_version=wrapped.kek_version,
            wrapped_dek=wrapped.ciphertext,
        )
    )
    return DataKey(dek)


async def load_data_key(session: AsyncSession, keys: KeyProvider, citizen_id: uuid.UUID) -> DataKey:
    """Unwrap the citizen's DEK for this unit of work."""
    row = await session.get(CitizenKey, citizen_id)
    if row is None:
        raise NoDataKey("This account has no data key.")
    return unwrap_data_key(keys, row)


def unwrap_data_key(keys: KeyProvider, row: CitizenKey) -> DataKey:
    """The usable key from its stored, wrapped form."""
    return DataKey(keys.unwrap(WrappedKey(row.kek_version, row.wrapped_dek), row.citizen_id))


async def data_key_versions(session: AsyncSession) -> dict[int, int]:
    """How many data keys are wrapped under each KEK version."""
    rows = await session.execute(
        select(CitizenKey.kek_version, func.count()).group_by(CitizenKey.kek_version)
    )
    return dict(rows.all())
