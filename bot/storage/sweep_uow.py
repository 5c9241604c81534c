"""The unit of work a sweep runs in: many short transactions on one connection of its own.

A sweep commits a chunk at a time (:meth:`UnitOfWork.checkpoint`), hundreds of transactions a
pass. :class:`SweepUnitOfWork` runs them all on one connection, checked out once, so a chunk
pays no pool checkout (nor its ping on PostgreSQL), and sets that connection up for the sweep
once, restoring it when the sweep ends:

* PostgreSQL: ``synchronous_commit`` off. A chunk's commit need not wait for its WAL flush: a
  crash loses at most the last chunks, which the next pass does again (sweeps are idempotent),
  and a delivery that sends one of their messages commits synchronously, flushing them first.
  And no bitmap scans: a sweep reads a chunk as a range of its cursor's index in key order up
  to a bound (:func:`bot.services.sweeping.walk`'s lanes); the planner, underestimating such a
  range, read all of it through a bitmap and sorted it, for every chunk.
* SQLite: the connection's calls run in a worker thread (``sqlite_inline``'s ``in_worker``):
  a chunk's statements and commit (its WAL writes, which the disk may hold up for 100 ms) no
  longer hold the event loop, which only waits for their answers (other writers of the process
  still wait for the sweep's turn among writers, as before). And no automatic WAL checkpoint in
  a chunk's commit: the sweep checkpoints passively between chunks, in the worker thread too,
  so the WAL stays short.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker

from bot.clock import Clock
from bot.pacing import Pacing, Steps
from bot.storage.uow import UnitOfWork, writer_queue

POSTGRESQL_LANES = 2  # a sweep's rows walked in this many units of work at once


class SweepUnitOfWork(UnitOfWork):
    """Extension point: a :class:`UnitOfWork` holding one connection for all its transactions
    (see the module docstring). Not for short units of work: it keeps its connection out of
    the pool until it ends."""

    waits_for_flush = False

    def __init__(self, engine: AsyncEngine, clock: Clock | None = None, *,
                 pacing: Pacing | None = None) -> None:
        super().__init__(engine, clock)
        self.pacing = pacing  # how long to pause after each chunk (bot.pacing)
        self._steps: Steps | None = None
        self._held: AsyncConnection | None = None
        self._restore: str | None = None

    async def __aenter__(self) -> SweepUnitOfWork:
        if self._session is not None:
            raise RuntimeError("this unit of work is already open")
        connection = await self.engine.connect()
        try:
            self._restore = await self._set_up(await _driver(connection))
        except BaseException:
            await connection.invalidate()
            await connection.close()
            raise
        self._held = connection
        self._steps = None if self.pacing is None else self.pacing.steps()
        self._factory = async_sessionmaker(bind=connection, expire_on_commit=False,
                                           autoflush=True)
        await super().__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await super().__aexit__(exc_type, exc, tb)
        finally:
            connection, self._held = self._held, None
            if connection is not None:
                await self._give_back(connection)

    @property
    def lanes(self) -> int:  # type: ignore[override]
        """PostgreSQL: :data:`POSTGRESQL_LANES` (its server works on each lane's statements
        while Python works out another's chunk), one while requests flow (:attr:`pacing`'s
        width); SQLite: 1 (one writer at a time anyway)."""
        if self.dialect != "postgresql":
            return 1
        return POSTGRESQL_LANES if self.pacing is None else self.pacing.width(POSTGRESQL_LANES)

    def fresh(self, *, readonly: bool = False) -> UnitOfWork:
        """Another sweeping unit of work on the same engine and clock (a read-only one is an
        ordinary unit of work)."""
        if readonly:
            return super().fresh(readonly=True)
        return SweepUnitOfWork(self.engine, self.clock, pacing=self.pacing)

    async def checkpoint(self) -> None:
        """Commit, let others run (for as long as :attr:`pacing` says); on SQLite copy the
        WAL into the database in a worker thread (passively: never waiting for readers or
        writers) before the next turn."""
        await self.commit()
        if self.dialect == "sqlite" and self._held is not None:
            # Through the connection: its calls run in the worker thread.
            await (await _driver(self._held)).checkpoint()
        await (asyncio.sleep(0) if self._steps is None else self._steps.done())
        if self.dialect == "sqlite":
            queue = writer_queue(self.engine)
            self._queue = queue if await queue.enter() else None

    async def _set_up(self, driver: Any) -> str:
        """Set the connection up for sweeping; the statement that undoes it."""
        if self.dialect == "postgresql":
            await driver.execute("SET synchronous_commit TO OFF; SET enable_bitmapscan TO OFF")
            return "RESET synchronous_commit; RESET enable_bitmapscan"
        if self.dialect == "sqlite":  # its commits then do not checkpoint (sqlite_inline)
            driver.in_worker = True
        return ""

    async def _give_back(self, connection: AsyncConnection) -> None:
        """Undo the set-up and return the connection to the pool (or drop it when that fails:
        a connection still set up for sweeping must not serve others)."""
        try:
            driver = await _driver(connection)
            if self.dialect == "sqlite":
                driver.in_worker = False
            elif self._restore:
                await driver.execute(self._restore)
        except Exception:  # a broken connection: the sweep's own error says why
            await connection.invalidate()
        except BaseException:  # cancelled while restoring: it may still be set up
            await connection.invalidate()
            raise
        finally:
            await connection.close()


async def _driver(connection: AsyncConnection) -> Any:
    """The driver's own connection (asyncpg's, or :mod:`bot.storage.sqlite_inline`'s)."""
    raw = await connection.get_raw_connection()
    return raw.driver_connection
