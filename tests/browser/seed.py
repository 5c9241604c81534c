"""One row in each of the dashboard's queues, for the browser tests (run as a script, after
``clinicbot load``, with ``DATABASE_URL`` set): a no-show Maya missed yesterday, an online
registration that looks like her, an overdue invoice and a failed reminder; and a manager,
``mia`` (the example set-up file has none), for the manager's pages."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.clock import FixedClock, SystemClock
from bot.services import accounts, noshows
from bot.storage.db import create_engine
from bot.storage.models import Invoice, OutboxMessage, Staff
from bot.storage.uow import UnitOfWork
from tests.integration._builders import book, patient


async def seed() -> None:
    engine = create_engine(os.environ["DATABASE_URL"])
    now = SystemClock().now()
    starts_at = _a_downtown_morning(now - timedelta(days=1))
    try:
        async with UnitOfWork(engine, FixedClock(starts_at - timedelta(days=2))) as uow:
            maya = await patient(uow, "maya")
            maya_id, born = maya.id, maya.birth_date
            visit = await book(uow, "maya", starts_at)
            uow.session.add(Invoice(
                patient_id=maya_id, kind="session", description="Physio follow-up",
                amount=Decimal("85.00"), paid=Decimal("0"), status="open",
                issued_on=(now - timedelta(days=20)).date(),
                due_on=(now - timedelta(days=12)).date(), created_at=now))
            uow.session.add(OutboxMessage(
                purpose="seed:failed", kind="appointment_reminder", patient_id=maya_id,
                params={}, status="failed", not_before=now, attempts=3, created_at=now,
                last_error="the number cannot receive texts"))
            await accounts.register_online(uow, first_name="Maya", last_name="Chen",
                                           birth_date=born, phone="+14165550199")
            uow.session.add(Staff(key="mia", name="Mia Laurent", role="manager", alerts=[]))
            await uow.commit()
        async with UnitOfWork(engine, FixedClock(now)) as uow:
            await noshows.mark_no_show(uow, visit.id, by="desk")
            await uow.commit()
    finally:
        await engine.dispose()


def _a_downtown_morning(day: datetime) -> datetime:
    """10:00 Toronto time on ``day``, or on the last Monday to Thursday before it (Ana's days
    downtown in the example clinic)."""
    local = day.astimezone(ZoneInfo("America/Toronto"))
    while local.weekday() >= 4:
        local -= timedelta(days=1)
    return local.replace(hour=10, minute=0, second=0, microsecond=0).astimezone(UTC)


if __name__ == "__main__":
    asyncio.run(seed())
