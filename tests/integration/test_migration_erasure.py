"""Migration 0022 (issue 21) on a clinic with patients on file: down to 0021 and up again, on
SQLite without copying ``patient`` (which every table points at) and on PostgreSQL; the
patients stay, none erased, and the clinic keeps the default retention."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.migrate import upgrade
from tests.integration.test_migration_sweeps import _downgrade


async def test_down_and_up_keeps_the_patients(engine: AsyncEngine) -> None:
    now = "'2026-11-02 13:00:00'"
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO patient (id, first_name, last_name, online_registration, opted_out, "
            f"created_at) VALUES (1, 'Ada', 'Lee', false, false, {now})"))
        await conn.execute(text(
            "INSERT INTO clinic (id, name, timezone, currency, locale, slot_minutes, "
            "booking_horizon_days, min_notice_minutes, cancel_notice_hours, "
            "no_show_grace_minutes, unpaid_invoice_days) VALUES "
            "(1, 'C', 'UTC', 'CAD', 'en', 15, 28, 0, 24, 15, '[]')"))
    await _downgrade(engine, "0021")
    async with engine.connect() as conn:
        columns = (await conn.execute(text("SELECT * FROM patient"))).keys()
    assert "erased_at" not in columns
    await upgrade(engine)
    async with engine.connect() as conn:
        patients = (await conn.execute(text("SELECT id, erased_at FROM patient"))).all()
        kept = (await conn.execute(text(
            "SELECT message_texts_days, inbound_ids_days, audit_years FROM clinic"))).all()
    assert [tuple(p) for p in patients] == [(1, None)]
    assert [tuple(k) for k in kept] == [(90, 400, 7)]
