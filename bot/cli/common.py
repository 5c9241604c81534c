"""What every command shares: settings, the engine, migrations, and error reporting.

Errors a user can fix (bad arguments, unknown ids, refused actions) print one line to stderr
and exit with status 2; nothing was changed, because each command's work is one unit of work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock, SystemClock
from bot.services.errors import DomainError
from bot.settings import Settings, SettingsError, load_settings
from bot.storage.db import BadDatabaseURL, create_engine
from bot.storage.migrate import upgrade
from bot.storage.uow import UnitOfWork

T = TypeVar("T")
USAGE_ERROR = 2


class Context:
    """What a command's work gets: settings, a migrated engine, a clock, new units of work."""

    def __init__(self, settings: Settings, engine: AsyncEngine, clock: Clock) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock

    def uow(self, *, readonly: bool = False) -> UnitOfWork:
        return UnitOfWork(self.engine, self.clock, readonly=readonly)


def fail(message: str) -> None:
    """Print ``message`` as an error and exit with status 2."""
    click.echo(f"Error: {message}", err=True)
    raise SystemExit(USAGE_ERROR)


def run(work: Callable[[Context], Awaitable[T]], *, clock: Clock | None = None) -> T:
    """Run ``work`` against the configured database; domain errors exit 2 with their message."""
    try:
        settings = load_settings()
        engine = create_engine(settings.database_url)
    except (BadDatabaseURL, SettingsError) as exc:
        fail(str(exc))
        raise  # unreachable: fail() exits

    async def _main() -> T:
        try:
            await upgrade(engine)
            return await work(Context(settings, engine, clock or SystemClock()))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(_main())
    except DomainError as exc:
        fail(exc.message)
        raise  # unreachable
    except (OperationalError, OSError) as exc:  # the database cannot be opened or reached
        fail(unusable_database(engine, exc))
        raise  # unreachable


def unusable_database(engine: AsyncEngine, exc: BaseException) -> str:
    """What to say when the database at DATABASE_URL cannot be used (no password shown)."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    url = engine.url.set(drivername=engine.url.get_backend_name())
    where = url.render_as_string(hide_password=True)
    if engine.dialect.name == "sqlite":
        hint = "check that its directory exists and that this user may write there"
    else:
        hint = "check that the server is running and that the URL, user and password are right"
    return f"cannot use the database {where} ({reason}); {hint}"
