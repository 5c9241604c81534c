"""Hot statements: the few prebuilt statements every inbound message runs, sent to the driver.

Running a prebuilt Core statement through SQLAlchemy (a greenlet hop, its cache key, an
execution context, a result object) costs several times what SQLite takes to run it, and every
inbound message runs three of them besides its dialog turn: the claim, where the conversation
stands, and the answer. On SQLite a :class:`Hot` statement is compiled by SQLAlchemy once (so
the SQL, the order of the parameters and their conversion are SQLAlchemy's own) and then runs on
the unit of work's transaction's driver connection (:mod:`bot.storage.sqlite_inline`, which
still waits out another process's lock in a worker thread). On PostgreSQL it runs through
SQLAlchemy as usual: a round trip costs more than SQLAlchemy's work there, and asyncpg's adapter
begins the transaction only at its first statement, which must therefore go through it.

Only for statements inside a unit of work's transaction. :meth:`Hot.rows` returns what the driver
returned (ids, counts); :meth:`Hot.records` converts each column as SQLAlchemy would (its result
type: dates, JSON), for reading rows that become objects (:mod:`bot.storage.attach`). Listeners
of the engine's ``before_cursor_execute`` event still see each statement (tests count
statements that way); SQLite's errors arrive as the driver raised them, not wrapped by
SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import Select

from bot.storage.uow import UnitOfWork

Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    processors: tuple[Processor | None, ...]
    results: tuple[Processor | None, ...]
    fixed: dict[str, Any]  # the statement's own bound values (e.g. a literal in a subquery)


class Hot:
    """A statement compiled once per dialect and run on the driver's connection."""

    def __init__(self, statement: TextClause | UpdateBase | Select[Any]) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            assert isinstance(compiled, SQLCompiler)
            names = tuple(compiled.positiontup or ())
            binds = {name: bind for bind, name in compiled.bind_names.items()}
            processors = tuple(
                binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
            results = tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in compiled._result_columns)
            fixed = {name: binds[name].effective_value for name in names
                     if binds[name].value is not None or binds[name].callable is not None}
            found = self._compiled[dialect.name] = _Compiled(
                compiled.string, names, processors, results, fixed)
        return found

    async def rows(self, uow: UnitOfWork, values: Mapping[str, Any]) -> list[Sequence[Any]]:
        """Run it with ``values``; the rows it returned (unconverted)."""
        return await self._fetch(uow, values, convert=False)

    async def records(self, uow: UnitOfWork, values: Mapping[str, Any]) -> list[Sequence[Any]]:
        """Run it with ``values``; the rows it returned, each column converted by its type."""
        return await self._fetch(uow, values, convert=True)

    async def _fetch(self, uow: UnitOfWork, values: Mapping[str, Any], *, convert: bool
                     ) -> list[Sequence[Any]]:
        if uow.dialect != "sqlite":  # SQLAlchemy's result converts the columns itself
            return list((await (await uow.connection()).execute(self.statement, values)).all())
        driver, compiled, args = await self._ready(uow, values)
        cursor = await driver.execute(compiled.sql, args)
        try:
            found = list(await cursor.fetchall())
        finally:
            await cursor.close()
        if not convert:
            return found
        results = compiled.results
        return [tuple(value if process is None else process(value)
                      for value, process in zip(row, results, strict=True)) for row in found]

    async def count(self, uow: UnitOfWork, values: Mapping[str, Any]) -> int:
        """Run it with ``values``; how many rows it changed."""
        if uow.dialect != "sqlite":
            result: Any = await (await uow.connection()).execute(self.statement, values)
            return int(result.rowcount)
        driver, compiled, args = await self._ready(uow, values)
        cursor = await driver.execute(compiled.sql, args)
        try:
            return int(cursor.rowcount)
        finally:
            await cursor.close()

    async def _ready(self, uow: UnitOfWork, values: Mapping[str, Any]
                     ) -> tuple[Any, _Compiled, list[Any]]:
        """sqlite_inline's connection, the statement, its parameters converted; listeners of
        ``before_cursor_execute`` told."""
        connection = (await uow.connection()).sync_connection
        assert connection is not None
        compiled = self._for(connection.dialect)
        given = (values[name] if name in values else compiled.fixed[name]
                 for name in compiled.names)
        args = [value if process is None else process(value)
                for value, process in zip(given, compiled.processors, strict=True)]
        listeners = connection.dispatch.before_cursor_execute
        for listener in listeners:  # only where someone listens (tests counting statements)
            listener(connection, None, compiled.sql, tuple(args), None, False)
        return connection.connection.driver_connection, compiled, args
