"""SQLite calls on the event loop's thread: waits for another process's lock go to a worker."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.storage import sqlite_inline
from bot.storage.db import create_engine
from bot.storage.uow import UnitOfWork


def one_table_database(path: Path) -> Path:
    """A SQLite file in WAL mode with one table, ``visit`` (id, note)."""
    with contextlib.closing(sqlite3.connect(path)) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE visit (id INTEGER PRIMARY KEY, note TEXT NOT NULL)")
    return path


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return one_table_database(tmp_path / "inline.db")


async def _ticks_while(task: asyncio.Task[object], release_after: float,
                       other: sqlite3.Connection) -> int:
    """Count 10 ms ticks of the event loop until ``task`` ends; ``other`` commits meanwhile."""
    ticks = 0
    started = time.monotonic()
    while not task.done():
        await asyncio.sleep(0.01)
        ticks += 1
        if other.in_transaction and time.monotonic() - started > release_after:
            other.commit()
        assert time.monotonic() - started < 20, "the writer never got the lock"
    return ticks


async def test_a_writer_waiting_for_another_process_leaves_the_event_loop_free(database):
    engine = create_engine(f"sqlite:///{database}")
    other = sqlite3.connect(database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process is writing
    other.execute("INSERT INTO visit (note) VALUES ('theirs')")

    async def write() -> object:
        async with UnitOfWork(engine) as uow:
            await uow.session.execute(text("INSERT INTO visit (note) VALUES ('ours')"))
            await uow.commit()
        return None

    try:
        task = asyncio.ensure_future(write())
        ticks = await _ticks_while(task, 0.3, other)
        await task
        assert ticks >= 10  # the loop kept running while our BEGIN IMMEDIATE waited
        async with engine.connect() as conn:
            notes = (await conn.execute(text("SELECT note FROM visit ORDER BY id"))).scalars()
            assert list(notes) == ["theirs", "ours"]
    finally:
        other.close()
        await engine.dispose()


async def test_the_wait_ends_with_database_is_locked_and_no_busy_timeout_is_left(database):
    connection = await sqlite_inline.creator(str(database), busy_timeout_ms=200)()
    other = sqlite3.connect(database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            await connection.execute("BEGIN IMMEDIATE")
        assert time.monotonic() - started >= 0.15
        cursor = await connection.execute("PRAGMA busy_timeout")
        assert await cursor.fetchone() == (0,)  # calls on the loop never sleep in SQLite
    finally:
        other.close()
        await connection.close()


async def test_other_errors_are_raised_at_once_and_rows_come_back(database):
    connection = await sqlite_inline.creator(str(database), busy_timeout_ms=5000)()
    try:
        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            await connection.execute("SELECT * FROM nothing_here")
        cursor = await connection.cursor()
        await cursor.executemany("INSERT INTO visit (note) VALUES (?)",
                                 (("a",), ("b",), ("c",)))
        assert cursor.rowcount == 3
        await cursor.execute("INSERT INTO visit (note) VALUES (?)", ("d",))
        assert cursor.lastrowid == 4
        await cursor.execute("SELECT note FROM visit ORDER BY id")
        assert await cursor.fetchone() == ("a",)
        assert await cursor.fetchmany(2) == [("b",), ("c",)]
        assert await cursor.fetchall() == [("d",)]
    finally:
        await connection.close()
