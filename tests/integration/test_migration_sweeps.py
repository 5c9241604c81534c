"""Migration 0012 backfills the sweeps' cursors of an existing clinic, set-based and early.

A clinic at 0011 with a monthly member invoiced for three periods (the last one open) and one
never invoiced; after the upgrade invoicing goes on from the end of the latest period, the
renewal reminder from that end less the plan's reminder days, the open invoice is chased from
its due date and the paid ones not at all.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.migrate import alembic_config, upgrade


async def _downgrade(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as conn:
        def go(sync_conn: Any) -> None:
            config = alembic_config()
            config.attributes["connection"] = sync_conn
            command.downgrade(config, revision)

        await conn.run_sync(go)


def _day(value: object) -> date | None:
    return None if value is None else date.fromisoformat(str(value)[:10])


async def test_the_upgrade_sets_each_cursor_early_never_late(engine: AsyncEngine) -> None:
    await _downgrade(engine, "0011")
    now = "'2020-01-15 15:00:00'"
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO patient (id, first_name, last_name, online_registration, opted_out, "
            f"created_at) VALUES (1, 'Ada', 'Lee', false, false, {now})"))
        await conn.execute(text(
            "INSERT INTO membership_plan (id, key, name, price, period, auto_invoice, "
            "remind_days_before) VALUES (1, 'monthly', 'Monthly', 49, 'monthly', true, 3)"))
        await conn.execute(text(
            "INSERT INTO membership (id, patient_id, plan_id, start, created_at) VALUES "
            f"(1, 1, 1, '2020-01-15', {now}), (2, 1, 1, '2020-02-01', {now})"))
        for n, (start, end, status) in enumerate((
                ("2020-01-15", "2020-02-15", "paid"), ("2020-02-15", "2020-03-15", "paid"),
                ("2020-03-15", "2020-04-15", "open")), start=1):
            await conn.execute(text(
                "INSERT INTO invoice (id, patient_id, kind, description, amount, paid, status, "
                "issued_on, due_on, membership_id, period_start, period_end, created_at) "
                f"VALUES ({n}, 1, 'membership', 'Monthly', 49, 0, '{status}', '{start}', "
                f"'{start}', 1, '{start}', '{end}', {now})"))
    await upgrade(engine)
    async with engine.connect() as conn:
        members = (await conn.execute(text(
            "SELECT membership_id, next_invoice_on, renewal_remind_on FROM membership_schedule "
            "ORDER BY membership_id"))).all()  # columns of the membership until 0027
        invoices = (await conn.execute(text(  # the column moved to a table of its own (0026)
            "SELECT invoice.id, remind_on FROM invoice LEFT JOIN invoice_reminder "
            "ON invoice_reminder.invoice_id = invoice.id ORDER BY invoice.id"))).all()
    assert [(m, _day(n), _day(r)) for m, n, r in members] == [
        (1, date(2020, 4, 15), date(2020, 4, 12)),
        (2, date(2020, 2, 1), date(2020, 2, 1)),
    ]
    assert [(i, _day(d)) for i, d in invoices] == [(1, None), (2, None), (3, date(2020, 3, 15))]
