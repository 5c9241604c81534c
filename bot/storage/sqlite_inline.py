"""SQLite on the event loop's own thread, with waits for another process's lock in a worker.

SQLAlchemy's aiosqlite dialect talks to aiosqlite, which runs every call of a connection in a
thread of its own: each statement costs several hand-offs between that thread and the event
loop (cursor, execute, fetch, close), about ten times what SQLite takes to answer a query on a
local file, and the threads fight the loop for the GIL under load. :func:`connect` gives the
dialect (through ``create_async_engine(async_creator=...)``) a connection with aiosqlite's
interface whose calls run directly: a local SQLite call returns in microseconds.

The one call that can take long is one that waits for a lock held by another process (``BEGIN
IMMEDIATE`` while another process writes). Connections therefore run with no busy timeout; a call
that finds the database busy is run again in a worker thread with the configured timeout, so the
event loop never sleeps in SQLite's busy handler. A statement refused as busy changed nothing, so
running it again is safe.

Disk work (syncs) is kept off the event loop where it can be (see :class:`WalLog`): while a
WAL keeper runs (``clinicbot serve``, :mod:`bot.storage.wal_keeper`) these connections never
checkpoint in a commit, and the one commit that starts the log over after a checkpoint (SQLite
then writes and syncs the log's header) runs in a worker thread.

The price: a long statement (a report over years of appointments, a sweep over every membership)
holds the event loop while it runs. On SQLite such writes held the process's only writer slot
anyway, so dialog turns waited for them either way; PostgreSQL, for bigger clinics, is unaffected.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


class _Immediate:
    """aiosqlite's request queue, as SQLAlchemy's dialect uses it: run the call at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:  # handed to whoever awaits the future
            future.set_exception(error)


SQLITE_AUTOCHECKPOINT_PAGES = 1000  # SQLite's default: a commit checkpoints past this many


class WalLog:
    """What a database's connections share about its write-ahead log.

    ``kept``: a keeper checkpoints the log in a worker thread, so connections do not checkpoint
    in their commits (SQLite's automatic checkpoint: the log copied into the database and the
    database synced, in whichever commit crossed :data:`SQLITE_AUTOCHECKPOINT_PAGES`).
    ``starts_over``: a checkpoint copied the whole log, so the next commit that writes starts the
    log over, writing and syncing its header: that commit runs in a worker thread."""

    def __init__(self) -> None:
        self.kept = False
        self.starts_over = False

    def checkpointed(self, result: Sequence[Any] | None) -> None:
        """Note what ``PRAGMA wal_checkpoint`` answered (busy, frames in the log, frames copied)."""
        if result is not None and result[0] == 0 and 0 < result[1] == result[2]:
            self.starts_over = True


def passive_checkpoint(conn: sqlite3.Connection) -> Any:
    """``PRAGMA wal_checkpoint(PASSIVE)`` on ``conn``: its row (busy, frames in the log, frames
    copied). The statement is finished with: left open, it would keep the next commit waiting."""
    cursor = conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    try:
        return cursor.fetchone()
    finally:
        cursor.close()


def _busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


class Connection:
    """An aiosqlite-compatible connection whose calls run on the caller's thread."""

    def __init__(self, conn: sqlite3.Connection, busy_timeout_ms: int,
                 log: WalLog | None = None) -> None:
        self._conn = conn
        self._busy_timeout_ms = busy_timeout_ms
        self.log = log or WalLog()
        self._changes = conn.total_changes  # rows written by the time of the last commit
        self._checkpoints = True  # whether this connection's commits checkpoint (SQLite's default)
        self._tx = _Immediate()
        self._in_worker = False

    @property
    def in_worker(self) -> bool:
        """Every call in a worker thread instead (a sweep's connection, see
        :mod:`bot.storage.sweep_uow`): its chunks' writes and commits, disk work included,
        never hold the event loop, which only waits for the answers. Its commits do not
        checkpoint: the sweep checkpoints between chunks."""
        return self._in_worker

    @in_worker.setter
    def in_worker(self, value: bool) -> None:
        self._in_worker = value
        self._keep_checkpoints()

    def _keep_checkpoints(self) -> None:
        """Checkpoint in commits, or not, as the log's keeper and this connection's use say."""
        wanted = not (self.log.kept or self._in_worker)
        if wanted != self._checkpoints:
            pages = SQLITE_AUTOCHECKPOINT_PAGES if wanted else 0
            self._conn.execute(f"PRAGMA wal_autocheckpoint={pages}").close()
            self._checkpoints = wanted

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        if self._in_worker:
            return await asyncio.to_thread(self._worker_call, function, *args)
        try:
            return function(*args)
        except sqlite3.OperationalError as error:
            if not _busy(error) or self._busy_timeout_ms <= 0:
                raise
        return await asyncio.to_thread(self._waiting, function, *args)

    def _worker_call(self, function: Callable[..., T], *args: Any) -> T:
        try:
            return function(*args)
        except sqlite3.OperationalError as error:
            if not _busy(error) or self._busy_timeout_ms <= 0:
                raise
        return self._waiting(function, *args)

    def _waiting(self, function: Callable[..., T], *args: Any) -> T:
        self._conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        try:
            return function(*args)
        finally:
            self._conn.execute("PRAGMA busy_timeout=0")

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    async def cursor(self) -> Cursor:
        return Cursor(self, self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Cursor:
        cursor = await self.cursor()
        await cursor.execute(sql, parameters)
        return cursor

    async def commit(self) -> None:
        self._keep_checkpoints()  # a keeper may have started or stopped since the last one
        if self.log.starts_over and self._conn.total_changes != self._changes:
            self.log.starts_over = False  # this commit starts the log over (see WalLog)
            await asyncio.to_thread(self._worker_call, self._conn.commit)
        else:
            await self._call(self._conn.commit)
        self._changes = self._conn.total_changes

    async def rollback(self) -> None:
        self._conn.rollback()
        self._changes = self._conn.total_changes

    async def checkpoint(self) -> None:
        """Copy the log into the database without waiting for anyone (``PASSIVE``), in a
        worker thread when this connection's calls run there."""
        self.log.checkpointed(await self._call(passive_checkpoint, self._conn))

    async def close(self) -> None:
        self._conn.close()

    def stop(self) -> None:
        self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)


class Cursor:
    """The cursor of :class:`Connection` (aiosqlite's cursor interface)."""

    def __init__(self, connection: Connection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Cursor:
        if parameters is None:
            await self._connection._call(self._cursor.execute, sql)
        else:
            await self._connection._call(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> Cursor:
        rows = list(parameters)
        await self._connection._call(self._cursor.executemany, sql, rows)
        return self

    async def fetchall(self) -> list[Any]:
        if self._connection.in_worker:
            return await self._connection._call(self._cursor.fetchall)
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        if self._connection.in_worker:
            return await self._connection._call(
                self._cursor.fetchmany, size or self._cursor.arraysize)
        return self._cursor.fetchmany(size or self._cursor.arraysize)

    async def close(self) -> None:
        self._cursor.close()


def creator(database: str, busy_timeout_ms: int, log: WalLog | None = None) -> Callable[[], Any]:
    """An ``async_creator`` for ``create_async_engine`` opening ``database`` this way (its
    connections sharing ``log``)."""
    shared = log or WalLog()

    async def connect() -> Connection:
        conn = sqlite3.connect(
            database, timeout=0, isolation_level=None, check_same_thread=False, uri=False
        )
        return Connection(conn, busy_timeout_ms, shared)

    return connect
