"""Hot statements: the few prebuilt statements every inbound message runs, sent to the driver.

Running a prebuilt Core statement through SQLAlchemy (a greenlet hop, its cache key, an
execution context, a result object) costs several times what SQLite takes to run it, and every
inbound message runs three of them besides its dialog turn: the claim, where the conversation
stands, and the answer. On SQLite a :class:`Hot` statement is compiled by SQLAlchemy once (so
the SQL, the order of the parameters and their conversion are SQLAlchemy's own) and then runs on
the unit of work's transaction's driver connection (:mod:`bot.storage.sqlite_inline`, which
still waits out another process's lock in a worker thread). On PostgreSQL it runs on asyncpg's
connection the same way once the transaction has begun there (``is_in_transaction``): SQLAlchemy's
asyncpg adapter begins it only at a transaction's first statement, so a Hot statement that comes
first goes through SQLAlchemy and begins it. The connection's own type codecs (SQLAlchemy sets
them when it connects) and SQLAlchemy's bind and result conversions apply either way.

Only for statements inside a unit of work's transaction. :meth:`Hot.rows` returns what the driver
returned (ids, counts); :meth:`Hot.records` converts each column as SQLAlchemy would (its result
type: dates, JSON), for reading rows that become objects (:mod:`bot.storage.attach`). Listeners
of the engine's ``before_cursor_execute`` event still see each statement (tests count
statements that way). SQLite's errors arrive as the driver raised them, not wrapped by
SQLAlchemy; asyncpg's as SQLAlchemy raises them (translated and wrapped, :func:`_wrapped`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
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
    fixed: dict[str, Any]  # the statement's own bound values (e.g. a literal in a subquery)
    # The result columns whose type converts the driver's value: (position, converter).
    converted: tuple[tuple[int, Processor], ...]


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
            converted = tuple((n, process) for n, process in enumerate(results)
                              if process is not None)
            found = self._compiled[dialect.name] = _Compiled(
                compiled.string, names, processors, fixed, converted)
        return found

    async def rows(self, uow: UnitOfWork, values: Mapping[str, Any]) -> list[Sequence[Any]]:
        """Run it with ``values``; the rows it returned (unconverted)."""
        return await self._fetch(uow, values, convert=False)

    async def records(self, uow: UnitOfWork, values: Mapping[str, Any]) -> list[Sequence[Any]]:
        """Run it with ``values``; the rows it returned, each column converted by its type."""
        return await self._fetch(uow, values, convert=True)

    async def _fetch(self, uow: UnitOfWork, values: Mapping[str, Any], *, convert: bool
                     ) -> list[Sequence[Any]]:
        connection = await uow.connection()
        if uow.dialect == "sqlite":
            driver, compiled, args = self._ready(connection, values)
            cursor = await driver.execute(compiled.sql, args)
            try:
                found: list[Sequence[Any]] = list(await cursor.fetchall())
            finally:
                await cursor.close()
        elif (driver := _begun_asyncpg(connection)) is not None:
            compiled, found = await self._on_asyncpg(connection, driver.fetch, values)
        else:  # SQLAlchemy begins the transaction; its result converts the columns itself
            return list((await connection.execute(self.statement, values)).all())
        converted = compiled.converted if convert else ()
        if not converted:  # tuples (asyncpg's records; SQLite's rows are tuples already)
            return [tuple(row) for row in found]
        rows: list[Sequence[Any]] = []
        for row in found:  # only the columns whose type converts (a walk's chunk: a few)
            taken = list(row)
            for index, process in converted:
                taken[index] = process(taken[index])
            rows.append(tuple(taken))
        return rows

    async def count(self, uow: UnitOfWork, values: Mapping[str, Any]) -> int:
        """Run it with ``values``; how many rows it changed."""
        connection = await uow.connection()
        if uow.dialect == "sqlite":
            driver, compiled, args = self._ready(connection, values)
            cursor = await driver.execute(compiled.sql, args)
            try:
                return int(cursor.rowcount)
            finally:
                await cursor.close()
        if (driver := _begun_asyncpg(connection)) is not None:
            _, status = await self._on_asyncpg(connection, driver.execute, values)
            return int(status.rsplit(" ", 1)[-1])  # "UPDATE 1", "INSERT 0 1", "DELETE 2"
        result: Any = await connection.execute(self.statement, values)
        return int(result.rowcount)

    async def _on_asyncpg(self, connection: AsyncConnection,
                          run: Callable[..., Awaitable[Any]], values: Mapping[str, Any]
                          ) -> tuple[_Compiled, Any]:
        """``run`` (asyncpg's ``fetch`` or ``execute``) with the statement and its parameters;
        its errors as SQLAlchemy raises them (:func:`_wrapped`)."""
        _, compiled, args = self._ready(connection, values)
        try:
            return compiled, await run(compiled.sql, *args)
        except Exception as error:
            raise _wrapped(connection, compiled.sql, args, error) from error

    def _ready(self, connection: AsyncConnection, values: Mapping[str, Any]
               ) -> tuple[Any, _Compiled, list[Any]]:
        """The driver's connection, the statement, its parameters converted; listeners of
        ``before_cursor_execute`` told."""
        sync = connection.sync_connection
        assert sync is not None
        compiled = self._for(sync.dialect)
        given = (values[name] if name in values else compiled.fixed[name]
                 for name in compiled.names)
        args = [value if process is None else process(value)
                for value, process in zip(given, compiled.processors, strict=True)]
        listeners = sync.dispatch.before_cursor_execute
        for listener in listeners:  # only where someone listens (tests counting statements)
            listener(sync, None, compiled.sql, tuple(args), None, False)
        return sync.connection.driver_connection, compiled, args


def _begun_asyncpg(connection: AsyncConnection) -> Any | None:
    """asyncpg's connection when the transaction has begun on it (else None: SQLAlchemy's
    adapter begins it at the first statement it runs)."""
    sync = connection.sync_connection
    assert sync is not None
    driver = sync.connection.driver_connection
    in_transaction = getattr(driver, "is_in_transaction", None)  # asyncpg's public API
    return driver if in_transaction is not None and in_transaction() else None


def _wrapped(connection: AsyncConnection, sql: str, args: list[Any], error: Exception
             ) -> Exception:
    """asyncpg's ``error`` as SQLAlchemy raises it for a statement it runs: translated by its
    asyncpg adapter (an ``IntegrityError`` for a unique violation, ``sqlstate`` kept), wrapped
    in a :class:`~sqlalchemy.exc.DBAPIError`, and the connection invalidated when asyncpg's is
    closed (so the pool never hands it out again)."""
    sync = connection.sync_connection
    assert sync is not None
    adapted: Any = sync.connection.dbapi_connection
    driver: Any = sync.connection.driver_connection
    try:
        adapted._handle_exception(error)  # raises it, translated (SQLAlchemy's own step)
    except Exception as translated:
        error = translated
    closed = bool(driver.is_closed())
    if closed:
        sync.invalidate(error)
    dbapi = sync.dialect.loaded_dbapi
    return DBAPIError.instance(sql, tuple(args), error, dbapi.Error,
                               connection_invalidated=closed, dialect=sync.dialect)
