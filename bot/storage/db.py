"""The database engine: which driver a ``DATABASE_URL`` gets, and how each database behaves.

* ``sqlite:///path.db`` -> aiosqlite, WAL journal, foreign keys on, a busy timeout, and every
  write transaction opened with ``BEGIN IMMEDIATE`` (SQLAlchemy's documented aiosqlite recipe), so
  a check-then-write inside one transaction cannot race another process. Read-only units of work
  use ``BEGIN DEFERRED`` and never block writers.
* ``postgresql://...`` -> asyncpg; row locks and constraints do the serialising.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
SQLITE_BUSY_TIMEOUT_MS = 30_000


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
        engine = create_async_engine(
            url, poolclass=NullPool, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
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
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"
