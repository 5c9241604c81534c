"""Schema migrations, applied by ``clinicbot db upgrade`` and whenever the bot starts.

Safe when several processes start at once: the whole upgrade runs in one transaction that first
takes the database's write lock (SQLite ``BEGIN IMMEDIATE``; PostgreSQL an advisory lock), so the
second process waits and then finds nothing left to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")
ADVISORY_LOCK_ID = 0x0C11_1C0B  # any constant shared by every instance


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision (no-op when it already is)."""
    config = alembic_config()
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ADVISORY_LOCK_ID})

        def _run(sync_conn: Any) -> None:
            current = MigrationContext.configure(sync_conn).get_current_revision()
            if current == head_revision():
                return
            config.attributes["connection"] = sync_conn
            command.upgrade(config, "head")

        await conn.run_sync(_run)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision()
        )
