"""Node lookups must be index seeks: a table scan makes every proof linear in the log."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text

from pds.audit.proofs import _nodes_at, read_nodes
from pds.db import open_database

if TYPE_CHECKING:
    from pds.settings import Settings


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_sqlite_plans_node_lookups_as_primary_key_searches(settings: Settings) -> None:
    db = open_database(settings)
    try:
        params = {f"{kind}{n}": n for n in range(3) for kind in ("l", "i")}
        statement = (
            _nodes_at(3)
            .params(**params)
            .compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
        )
        async with db.read_sessions() as session:
            plan = (await session.execute(text(f"EXPLAIN QUERY PLAN {statement}"))).all()
    finally:
        await db.dispose()
    details = " | ".join(str(row[-1]) for row in plan)
    assert "SEARCH audit_nodes USING" in details, details
    assert "SCAN audit_nodes" not in details, details


async def test_read_nodes_returns_exactly_the_stored_nodes_asked_for(settings: Settings) -> None:
    db = open_database(settings)
    rows = [
        {"level": level, "index": index, "hash": bytes([level, index]) * 16}
        for level in range(3)
        for index in range(150)
    ]
    try:
        async with db.sessions() as session:
            await session.execute(text("DELETE FROM audit_nodes"))
            await session.execute(
                text(
                    'INSERT INTO audit_nodes (level, "index", hash) VALUES (:level, :index, :hash)'
                ),
                rows,
            )
            await session.commit()
        wanted = [(0, 5), (2, 149), (1, 0), (1, 77), (3, 1)] + [(0, n) for n in range(100, 150)]
        async with db.read_sessions() as session:
            found = await read_nodes(session, wanted)
        async with db.sessions() as session:
            await session.execute(text("DELETE FROM audit_nodes"))
            await session.commit()
    finally:
        await db.dispose()
    expected = {(lv, ix): bytes([lv, ix]) * 16 for lv, ix in wanted if lv < 3}
    assert found == expected
