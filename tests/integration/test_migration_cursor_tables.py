"""Migrations 0026 and 0027: the sweeps' cursors move from columns of the invoice and the
membership to tables of their own and back, keeping every cursor, on SQLite and PostgreSQL
(foreign keys on: the old tables are altered in place, so nothing cascades from a copy)."""

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


async def _scheduled(engine: AsyncEngine, query: str) -> dict[int, tuple[date | None, ...]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(text(query))).all()
    return {int(ident): (_day(first), _day(second)) for ident, first, second in rows}


async def test_down_and_up_keeps_every_membership_cursor(engine: AsyncEngine) -> None:
    table = ("SELECT membership_id, next_invoice_on, renewal_remind_on "
             "FROM membership_schedule")
    before = await _scheduled(engine, table)
    assert before and all(any(cursors) for cursors in before.values())
    await _downgrade(engine, "0026")
    assert await _scheduled(
        engine, "SELECT id, next_invoice_on, renewal_remind_on FROM membership") == before
    await upgrade(engine)
    assert await _scheduled(engine, table) == before
