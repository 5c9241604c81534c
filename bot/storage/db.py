"""The database engine: which driver a ``DATABASE_URL`` gets, and how each database behaves.

* ``sqlite:///path.db`` -> SQLAlchemy's aiosqlite dialect over :mod:`bot.storage.sqlite_inline`
  (sqlite3 called on the event loop; a wait for another process's lock, up to the busy timeout,
  in a worker thread), WAL journal, foreign keys on, and every write transaction opened with
  ``BEGIN IMMEDIATE`` (SQLAlchemy's documented aiosqlite recipe), so a check-then-write inside
  one transaction cannot race another process. Read-only units of work
  use ``BEGIN DEFERRED`` and never block writers. Connections are pooled: a fresh one would
  parse the schema and warm SQLite's page cache again for every unit of work (about half of a
  short dialog turn). A pooled connection keeps working on a file that was replaced or ruined
  under it, so :func:`check_database` (the health check) also opens the file afresh.
* ``postgresql://...`` -> asyncpg; row locks and constraints do the serialising.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.storage import sqlite_inline

DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_POOL_SIZE = 5
SQLITE_POOL_OVERFLOW = 10
_WAL_LOGS: weakref.WeakKeyDictionary[Engine, sqlite_inline.WalLog] = weakref.WeakKeyDictionary()


class BadDatabaseURL(ValueError):
    """DATABASE_URL names no database the bot supports."""


def async_url(database_url: str) -> URL:
    """Map ``sqlite:///...`` / ``postgresql://...`` (any driver suffix) to our async driver."""
    try:
        url = make_url(database_url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with the URL in it
        raise BadDatabaseURL(
            "DATABASE_URL is not a database URL; use sqlite:///path.db or "
            "postgresql://user@host/db"
        ) from exc
    backend = url.get_backend_name()
    if backend == "postgres":
        backend = "postgresql"
    if backend not in DRIVERS:
        raise BadDatabaseURL(
            f"DATABASE_URL uses {backend!r}; use sqlite:///path.db or postgresql://user@host/db"
        )
    return url.set(drivername=DRIVERS[backend])


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    """Create the async engine for ``database_url`` with the behaviour described above."""
    url = async_url(database_url)
    if url.get_backend_name() == "sqlite":
        log = sqlite_inline.WalLog()
        engine = create_async_engine(
            url, pool_size=SQLITE_POOL_SIZE, max_overflow=SQLITE_POOL_OVERFLOW,
            async_creator=sqlite_inline.creator(url.database or "", SQLITE_BUSY_TIMEOUT_MS, log),
            **kwargs,
        )
        _configure_sqlite(engine)
        _WAL_LOGS[engine.sync_engine] = log
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    # No pre-ping: asyncpg's costs three round trips (BEGIN, a ping, ROLLBACK) on every checkout,
    # that is on every message. A connection lost with the server (a restart) fails the one
    # statement that finds it, and SQLAlchemy then discards the whole pool, so one request
    # fails instead of every request paying.
    return create_async_engine(url, **kwargs)


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's own transaction handling is off).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        # Straight to the driver: every transaction begins so, and SQLAlchemy's statement
        # machinery around BEGIN cost more than SQLite's work.
        cursor = conn.connection.cursor()
        try:
            cursor.execute(f"BEGIN {mode}")
        finally:
            cursor.close()


def wal_log(engine: AsyncEngine) -> sqlite_inline.WalLog | None:
    """What ``engine``'s connections share about the SQLite log (None: not SQLite)."""
    return _WAL_LOGS.get(engine.sync_engine)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


async def check_database(engine: AsyncEngine) -> None:
    """Raise unless the database answers; SQLite's file is also opened afresh and read."""
    if is_sqlite(engine) and engine.url.database:
        await asyncio.to_thread(_read_sqlite_file, Path(engine.url.database))
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


def _read_sqlite_file(path: Path) -> None:
    uri = path.resolve().as_uri() + "?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5)) as connection:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
