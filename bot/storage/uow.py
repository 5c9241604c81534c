"""The unit of work: one transaction, committed only when asked, rolled back otherwise.

Services take a :class:`UnitOfWork` and do everything inside ``async with uow:``; they call
``await uow.commit()`` when the change is complete. Leaving the block without committing (or
with an exception) rolls everything back, so nothing is ever half-written.

On SQLite, the write units of work of one process take turns (:class:`WriterQueue`) before
SQLite's own write lock: otherwise every waiting writer polls SQLite's busy handler, which sleeps
up to 100 ms between tries, and under load (50 conversations at once) writers wait seconds and
some time out. Other processes are still kept out by ``BEGIN IMMEDIATE`` and the busy timeout.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Hashable
from types import TracebackType
from typing import Any, TypeVar, cast

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session

from bot.clock import Clock, SystemClock

WRITER_WAIT_SECONDS = 10.0
T = TypeVar("T")


class WriterQueue:
    """SQLite's writers in this process and event loop, one at a time, first come first served.

    Held from entering a write unit of work until its commit, rollback or end. The task that
    holds it passes again freely (a unit of work nested in the same task behaves as before).
    A writer that waited :data:`WRITER_WAIT_SECONDS` goes ahead and SQLite's busy timeout
    decides, so a unit of work kept open for long slows the others but cannot deadlock them.
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._waiting = 0

    async def enter(self) -> bool:
        """Wait for this writer's turn; whether it was taken (and must be left)."""
        task = asyncio.current_task()
        if task is not None and task is self._owner:
            return False
        if not self._lock.locked() and not self._waiting:
            await self._lock.acquire()  # free and nobody queued: taken at once, no timer
        else:
            self._waiting += 1
            try:
                async with asyncio.timeout(WRITER_WAIT_SECONDS):
                    await self._lock.acquire()
            except TimeoutError:
                return False
            finally:
                self._waiting -= 1
        self._owner = task
        return True

    def leave(self) -> None:
        self._owner = None
        self._lock.release()


_QUEUES: weakref.WeakKeyDictionary[Engine, tuple[asyncio.AbstractEventLoop, WriterQueue]] = (
    weakref.WeakKeyDictionary()
)


def writer_queue(engine: AsyncEngine) -> WriterQueue:
    """The queue of ``engine``'s writers on the running event loop."""
    loop = asyncio.get_running_loop()
    found = _QUEUES.get(engine.sync_engine)
    if found is None or found[0] is not loop:
        found = (loop, WriterQueue())
        _QUEUES[engine.sync_engine] = found
    return found[1]


KEPT = "kept"
WRITES = "writes"


@event.listens_for(Session, "loaded_as_persistent")
def _keep_loaded(session: Session, instance: object) -> None:
    kept = session.info.get(KEPT)
    if kept is not None:
        kept.append(instance)


def _wrote(session: Session) -> None:
    """Count a write in this session: a flush that wrote, or an INSERT/UPDATE/DELETE statement
    executed through it (see ``remember(until_write=True)``)."""
    session.info[WRITES] = session.info.get(WRITES, 0) + 1


@event.listens_for(Session, "after_flush")
def _count_flush(session: Session, flush: object) -> None:
    del flush
    _wrote(session)


@event.listens_for(Session, "do_orm_execute")
def _count_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        _wrote(state.session)


class UnitOfWork:
    """Extension point: a transaction over the clinic's data, with the clock services use.

    ``readonly=True`` opens SQLite's transaction DEFERRED so views never queue behind writers.
    ``keep_loaded=True`` keeps every row it loaded until it ends (the session's identity map
    holds rows only while something refers to them), so a short unit of work that looks the
    same row up several times (a dialog turn: its answer, then its next question) reads it once;
    not for units of work that walk over many rows.
    ``waits_for_flush``: whether a commit waits for the database's log to reach the disk here
    (a sweep's own unit of work, :mod:`bot.storage.sweep_uow`, relaxes it for the connection).
    :meth:`remember` keeps a lookup's answer until the transaction ends (for set-up data a
    dialog turn consults many times), or until it next writes (e.g. free times, which a turn
    computes for its answer and again for its next question).
    """

    waits_for_flush = True
    lanes = 1  # how many units of work a sweep may walk its rows in at once (see sweep_uow)

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock | None = None,
        *,
        readonly: bool = False,
        keep_loaded: bool = False,
    ) -> None:
        self.engine = engine
        self.clock: Clock = clock or SystemClock()
        self.readonly = readonly
        self.keep_loaded = keep_loaded
        self._factory = async_sessionmaker(engine, expire_on_commit=False, autoflush=True)
        self._session: AsyncSession | None = None
        self._queue: WriterQueue | None = None
        self._memo: dict[Hashable, Any] = {}
        self._connection: AsyncConnection | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("use the unit of work inside 'async with'")
        return self._session

    async def connection(self) -> AsyncConnection:
        """The connection of the session's transaction, for Core statements (begun if need be).

        Kept for the transaction: asking the session each time costs more than a small
        statement."""
        found = self._connection
        if found is None or found.sync_connection is None or found.sync_connection.closed \
                or not found.sync_connection.in_transaction():
            found = self._connection = await self.session.connection()
        return found

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def writes(self) -> int:
        """How often this session has written so far: flushes that wrote, and INSERT, UPDATE or
        DELETE statements run through it. Two readings differ when something in between wrote."""
        return int(self.session.sync_session.info.get(WRITES, 0))

    async def __aenter__(self) -> UnitOfWork:
        if self._session is not None:
            raise RuntimeError("this unit of work is already open")
        if self.dialect == "sqlite" and not self.readonly:
            queue = writer_queue(self.engine)
            self._queue = queue if await queue.enter() else None
        self._session = self._factory()
        if self.keep_loaded:
            self._session.sync_session.info[KEPT] = []
        if self.readonly and self.dialect == "sqlite":
            await self._session.connection(execution_options={"sqlite_begin": "DEFERRED"})
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self.session, None
        try:
            if session.in_transaction():  # not after a commit (one call into the session less)
                await session.rollback()
        finally:
            try:
                await session.close()
            finally:
                self._end_transaction()

    async def commit(self) -> None:
        try:
            await self.session.commit()
        finally:
            self._end_transaction()

    async def checkpoint(self) -> None:
        """Commit what was done so far and let others run; the unit of work goes on in a new
        transaction (a long sweep commits each chunk, so it holds no lock, no SQLite write turn
        and no event loop for long). On SQLite it takes its turn among writers again."""
        await self.commit()
        await asyncio.sleep(0)
        if self.dialect == "sqlite" and not self.readonly:
            queue = writer_queue(self.engine)
            self._queue = queue if await queue.enter() else None

    async def rollback(self) -> None:
        try:
            await self.session.rollback()
        finally:
            self._end_transaction()

    async def flush_pending(self) -> None:
        """Flush what the session holds unwritten, where a query through it would have (before
        a statement that bypasses the session reads, e.g. a :class:`~bot.storage.hot.Hot` one)."""
        session = self.session
        if session.sync_session.autoflush and (session.new or session.deleted or session.dirty):
            await session.flush()

    async def remember(
        self, key: Hashable, lookup: Callable[[], Awaitable[T]], *, until_write: bool = False
    ) -> T:
        """``await lookup()``, once per transaction: later calls with ``key`` get its answer.

        Only for data that nothing in the same transaction changes (the clinic's set-up), or,
        with ``until_write``, for as long as the transaction writes nothing: pending changes
        are flushed first where a query would have flushed them, and the answer is not reused
        after a flush that wrote something or an INSERT, UPDATE or DELETE statement run
        through the session.
        """
        if until_write:
            if self.session.sync_session.autoflush:
                await self.session.flush()
            key = (key, self.writes)
        if key not in self._memo:
            self._memo[key] = await lookup()
        return cast(T, self._memo[key])

    def note(self, key: Hashable, answer: Any) -> None:
        """Record ``answer`` as :meth:`remember`'s for ``key`` in this transaction (a lookup
        another statement already answered)."""
        self._memo[key] = answer

    def _end_transaction(self) -> None:
        """Forget what was remembered, and let the next SQLite writer of this process go."""
        self._memo.clear()
        self._connection = None
        queue, self._queue = self._queue, None
        if queue is not None:
            queue.leave()

    def fresh(self, *, readonly: bool = False) -> UnitOfWork:
        """A new unit of work on the same engine and clock (for a separate transaction)."""
        return UnitOfWork(self.engine, self.clock, readonly=readonly)
