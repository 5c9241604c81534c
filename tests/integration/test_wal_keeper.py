"""SQLite's log kept off the event loop (bot/storage/wal_keeper.py, sqlite_inline.WalLog).

While ``clinicbot serve``'s keeper runs, the engine's connections never checkpoint in a commit
(SQLite's automatic checkpoint syncs the database file, on the event loop); the keeper copies
the log into the database in a worker thread instead, and the one commit that then starts the
log over (and syncs its header) runs in a worker thread too. Stopped, SQLite's default is back.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.server import Runtime, create_app
from bot.storage.db import create_engine, wal_log
from bot.storage.sqlite_inline import SQLITE_AUTOCHECKPOINT_PAGES, WalLog
from bot.storage.uow import UnitOfWork
from bot.storage.wal_keeper import WalKeeper
from tests.e2e.sms_harness import sms_settings
from tests.e2e.test_scheduler_service import until
from tests.e2e.twilio_standin import LiveServer, loopback_socket
from tests.integration.test_sqlite_inline import one_table_database

ROWS = 300  # of 4 KB each: a few hundred pages of log per write


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return one_table_database(tmp_path / "kept.db")


@pytest.fixture
async def engine(database: Path):
    engine = create_engine(f"sqlite:///{database}")
    yield engine
    await engine.dispose()


async def _write(engine: AsyncEngine, rows: int = ROWS) -> None:
    async with UnitOfWork(engine) as uow:
        await uow.session.execute(text(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows) "
            "INSERT INTO visit (note) SELECT hex(randomblob(2000)) FROM n"), {"rows": rows})
        await uow.commit()


def _size(path: Path) -> int:
    return path.stat().st_size


async def _autocheckpoint(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(text("PRAGMA wal_autocheckpoint")))


async def test_while_the_keeper_runs_commits_leave_checkpoints_to_it(
    engine: AsyncEngine, database: Path
) -> None:
    log = wal_log(engine)
    assert isinstance(log, WalLog) and not log.kept
    await _write(engine, 1)
    assert await _autocheckpoint(engine) == SQLITE_AUTOCHECKPOINT_PAGES  # SQLite's default
    keeper = WalKeeper(engine, period=0.05)
    await keeper.start()
    try:
        assert log.kept
        before = _size(database)
        await _write(engine)  # its commit sets the connection up first: no checkpoint in it
        assert await _autocheckpoint(engine) == 0
        await until(lambda: keeper.checkpoints >= 1, 10.0)
        assert _size(database) > before + ROWS * 3000  # copied into the database
    finally:
        await keeper.stop()
    assert not log.kept
    await _write(engine, 1)
    assert await _autocheckpoint(engine) == SQLITE_AUTOCHECKPOINT_PAGES  # the default again


async def test_the_commit_that_starts_the_log_over_runs_in_a_worker_thread(
    engine: AsyncEngine
) -> None:
    log = wal_log(engine)
    assert log is not None
    await _write(engine, 5)
    keeper = WalKeeper(engine, period=3600)  # checkpointed by hand below
    await keeper.start()
    threads: list[tuple[str, int]] = []
    try:
        async with engine.connect() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            raw._conn.set_trace_callback(
                lambda sql: threads.append((sql, threading.get_ident())))
        with contextlib.closing(sqlite3.connect(engine.url.database or "",
                                                check_same_thread=False)) as own:
            await keeper.checkpoint(own)
        assert log.starts_over  # the whole log copied: the next writer starts it over
        async with UnitOfWork(engine, readonly=True) as uow:  # wrote nothing: no matter
            await uow.session.execute(text("SELECT count(*) FROM visit"))
            await uow.commit()
        assert log.starts_over
        await _write(engine, 1)
        assert not log.starts_over
        await _write(engine, 1)
    finally:
        await keeper.stop()
    commits = [thread for sql, thread in threads if sql == "COMMIT"]
    loop = threading.get_ident()
    assert commits[:-2] == [loop] * (len(commits) - 2)  # the reading one, on the loop
    assert commits[-2] != loop  # the one starting the log over, in a worker thread
    assert commits[-1] == loop  # and the next, on the loop again


async def test_a_failed_checkpoint_is_logged_and_tried_again(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    keeper = WalKeeper(engine, period=3600)
    await keeper.start()
    try:
        own = sqlite3.connect(engine.url.database or "", check_same_thread=False)
        own.close()
        await keeper.checkpoint(own)  # a closed connection: refused, not raised
    finally:
        await keeper.stop()
    assert "could not be checkpointed" in caplog.text


async def test_postgresql_has_no_log_to_keep() -> None:
    other = create_engine("postgresql://clinic@127.0.0.1:5432/never_opened")
    try:
        keeper = WalKeeper(other)
        assert not keeper.keeps and wal_log(other) is None
        await keeper.start()  # nothing to do, and nothing opened
        await keeper.stop()
    finally:
        await other.dispose()


async def test_serve_keeps_the_log_while_it_runs(database_url: str) -> None:
    """``clinicbot serve`` on SQLite starts the keeper before its services, stops it after."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no log to keep")
    seen: list[bool] = []
    logs: list[WalLog | None] = []

    class Looks:
        def __init__(self, runtime: Runtime) -> None:
            self.runtime = runtime

        async def start(self) -> None:
            logs.append(wal_log(self.runtime.db))
            seen.append(bool(logs[0] and logs[0].kept))

        async def stop(self) -> None:
            seen.append(bool(logs[0] and logs[0].kept))

    sock = loopback_socket()
    settings = sms_settings(database_url, sock.getsockname()[1])
    async with LiveServer(create_app(settings, services=[Looks]), sock):
        pass
    assert seen == [True, True]  # kept while the services ran
    assert logs[0] is not None and not logs[0].kept  # and handed back at shutdown
