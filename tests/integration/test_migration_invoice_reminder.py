"""Migration 0026: the unpaid reminders' cursor moves from ``invoice.reminder_due_on`` to a table
of its own and back, keeping every cursor, on SQLite and PostgreSQL (foreign keys on: the
invoice table is altered in place, so nothing cascades from a copy of it)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.migrate import upgrade
from tests.integration.test_migration_sweeps import _day, _downgrade

pytestmark = pytest.mark.usefixtures("clinic")


async def _chased(engine: AsyncEngine) -> dict[int, date | None]:
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT invoice_id, remind_on FROM invoice_reminder"))).all()
    return {int(invoice_id): _day(day) for invoice_id, day in rows}


async def test_down_and_up_keeps_every_invoice_cursor(engine: AsyncEngine) -> None:
    before = await _chased(engine)
    assert before  # the example clinic's open membership invoices
    await _downgrade(engine, "0025")
    async with engine.connect() as conn:
        column = (await conn.execute(text(
            "SELECT id, reminder_due_on FROM invoice WHERE reminder_due_on IS NOT NULL"))).all()
    assert {int(invoice_id): _day(day) for invoice_id, day in column} == before
    await upgrade(engine)
    assert await _chased(engine) == before
    async with engine.connect() as conn:
        invoices = int((await conn.execute(text("SELECT count(*) FROM invoice"))).scalar_one())
    assert invoices > len(before)  # paid and other invoices kept, without a cursor
