"""Migration 0025: down to 0024 drops the index on ``patient_package.transferred_from_id`` and
up again brings it back, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.migrate import upgrade
from tests.integration.test_migration_sweeps import _downgrade

INDEX = "ix_patient_package_transferred_from_id"


async def _indexes(engine: AsyncEngine) -> dict[str, list[str | None]]:
    async with engine.connect() as conn:
        def read(sync_conn: Any) -> dict[str, list[str | None]]:
            found = inspect(sync_conn).get_indexes("patient_package")
            return {str(ix["name"]): list(ix["column_names"]) for ix in found}

        return await conn.run_sync(read)


async def test_down_and_up_drops_and_brings_back_the_index(engine: AsyncEngine) -> None:
    assert (await _indexes(engine))[INDEX] == ["transferred_from_id"]
    await _downgrade(engine, "0024")
    assert INDEX not in await _indexes(engine)
    await upgrade(engine)
    assert (await _indexes(engine))[INDEX] == ["transferred_from_id"]
