"""Hot-path queries run on the database driver's own connection.

SQLAlchemy's per-execution machinery (connection checkout, the ``begin`` event,
compiled-cache lookup, parameter and result set-up) costs 20-60 µs a statement on
SQLite, several times an indexed query itself (measured: 60 µs through a ``Session``,
11 µs here). A ``PlainSelect`` is compiled once per dialect, with SQLAlchemy's own type
conversions for its parameters and columns, so its rows hold the values an ordinary
execution gives, as plain tuples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable, Iterable, Mapping

    from sqlalchemy import Select
    from sqlalchemy.engine.interfaces import Dialect

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    binds: tuple[tuple[str, Callable[[Any], Any] | None], ...]
    results: tuple[Callable[[Any], Any] | None, ...]

    def parameters(self, values: Mapping[str, Any]) -> list[Any]:
        return [
            values[name] if convert is None else convert(values[name])
            for name, convert in self.binds
        ]

    def rows(self, fetched: Iterable[Any]) -> list[Row]:
        processors = self.results
        if not any(processors):
            return [tuple(row) for row in fetched]
        return [
            tuple(
                value if convert is None else convert(value)
                for convert, value in zip(processors, row, strict=True)
            )
            for row in fetched
        ]


class PlainSelect:
    """A Core ``select`` with positional parameters, compiled once per dialect."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        binds = tuple(
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in compiled.positiontup or ()
        )
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in self.statement.selected_columns
        )
        return _Compiled(compiled.string, binds, results)

    def on_sqlite(
        self, connection: sqlite3.Connection, dialect: Dialect, values: Mapping[str, Any]
    ) -> list[Row]:
        compiled = self.compiled(dialect)
        cursor = connection.execute(compiled.sql, compiled.parameters(values))
        return compiled.rows(cursor.fetchall())

    async def on_asyncpg(
        self, connection: Any, dialect: Dialect, values: Mapping[str, Any]
    ) -> list[Row]:
        """``connection``: an asyncpg connection (its own prepared-statement cache)."""
        compiled = self.compiled(dialect)
        return compiled.rows(await connection.fetch(compiled.sql, *compiled.parameters(values)))
