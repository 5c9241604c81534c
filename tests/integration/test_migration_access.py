"""Migration 0006 on a database holding data: links made before it came from the set-up file.

Downgraded to 0003, a family link and a staff chat are written as the old code wrote them;
upgraded again, the link is the file's (a reload that drops it revokes it), the staff member is
active and their chat counts as self-registered (a reload keeps it). On both databases.
"""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import text

from bot.storage.migrate import alembic_config, upgrade


def _alembic(engine, action: str, revision: str):
    async def run() -> None:
        async with engine.begin() as conn:
            def go(sync_conn: Any) -> None:
                config = alembic_config()
                config.attributes["connection"] = sync_conn
                getattr(command, action)(config, revision)

            await conn.run_sync(go)

    return run()


async def test_links_made_before_the_migration_count_as_the_files(engine):
    await _alembic(engine, "downgrade", "0005")
    async with engine.begin() as conn:
        for pid, name in ((1, "Maya"), (2, "Leo")):
            await conn.execute(text(
                "INSERT INTO patient (id, first_name, last_name, online_registration, "
                "opted_out, created_at) VALUES (:id, :name, 'Chen', false, false, "
                "'2026-11-02 13:00:00')"), {"id": pid, "name": name})
        await conn.execute(text("INSERT INTO guardianship (guardian_id, ward_id) VALUES (1, 2)"))
        await conn.execute(text(
            "INSERT INTO staff (id, key, name, role, telegram_chat_id, alerts) "
            "VALUES (1, 'ana', 'Ana', 'practitioner', 8002, '[]')"))
    await upgrade(engine)
    async with engine.connect() as conn:
        links = (await conn.execute(text("SELECT source FROM guardianship"))).all()
        staff = (await conn.execute(text(
            "SELECT active, chat_from_file, telegram_chat_id FROM staff"))).all()
    assert [tuple(row) for row in links] == [("file",)]
    assert [(bool(a), bool(f), c) for a, f, c in staff] == [(True, False, 8002)]
