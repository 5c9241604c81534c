"""Keeps a SQLite database's write-ahead log short, in a worker thread (``clinicbot serve``).

SQLite writes each commit to the log (the WAL) and copies the log into the database now and
then: a checkpoint, which syncs the database file to disk. By default the commit that takes the
log past 1,000 pages does it, and in ``clinicbot serve`` that commit runs on the event loop
(:mod:`bot.storage.sqlite_inline`), so every request waited for the disk: 100 ms and more when
a sweep had written thousands of reminders.

:class:`WalKeeper` checkpoints instead, every :data:`KEEP_SECONDS`, in a worker thread, on a
connection of its own, passively (never waiting for readers or writers: what they still use is
copied next time). While it runs, the engine's connections do not checkpoint in their commits,
and the one commit after a complete checkpoint, which starts the log over and syncs its header,
runs in a worker thread too (:class:`bot.storage.sqlite_inline.WalLog`). When it stops, commits
checkpoint as SQLite does by default again. PostgreSQL needs none of this.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.db import wal_log
from bot.storage.sqlite_inline import passive_checkpoint

log = logging.getLogger(__name__)

KEEP_SECONDS = 1.0


class WalKeeper:
    """Checkpoints ``engine``'s SQLite log in the background while running (a no-op for any
    other database, or a database with no file)."""

    def __init__(self, engine: AsyncEngine, period: float = KEEP_SECONDS) -> None:
        self.log = wal_log(engine)
        self.path = engine.url.database or ""
        self.period = period
        self.checkpoints = 0  # how many checkpoints copied something (for tests and curiosity)
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @property
    def keeps(self) -> bool:
        """Whether there is a log to keep: a SQLite database in a file."""
        return self.log is not None and self.path not in ("", ":memory:")

    async def start(self) -> None:
        if self._task is None and self.keeps:
            connection = await asyncio.to_thread(
                sqlite3.connect, self.path, timeout=0, isolation_level=None,
                check_same_thread=False)
            assert self.log is not None
            self.log.kept = True
            self._task = asyncio.create_task(self._run(connection), name="sqlite-wal-keeper")

    async def stop(self) -> None:
        """Stop after the checkpoint in hand, if any (its thread cannot be interrupted)."""
        task, self._task = self._task, None
        if task is not None:
            self._stopping.set()
            await task
        if self.log is not None:
            self.log.kept = False

    async def checkpoint(self, connection: sqlite3.Connection) -> None:
        """One passive checkpoint in a worker thread (a failure is logged and tried again)."""
        assert self.log is not None
        try:
            result = await asyncio.to_thread(passive_checkpoint, connection)
        except sqlite3.Error as error:
            log.warning("the SQLite log could not be checkpointed (tried again in %.0f s): %s",
                        self.period, error)
            return
        if result is not None and result[2] > 0:
            self.checkpoints += 1
        self.log.checkpointed(result)

    async def _run(self, connection: sqlite3.Connection) -> None:
        try:
            while not await _set_within(self._stopping, self.period):
                await self.checkpoint(connection)
        finally:
            connection.close()


async def _set_within(event: asyncio.Event, seconds: float) -> bool:
    """Whether ``event`` is set within ``seconds``."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
    return event.is_set()

