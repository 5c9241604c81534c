"""The dry run of ``clinicbot jobs run`` (bot.scheduler.preview) writes nothing (issue 14).

Its units of work are savepoints in one transaction that is rolled back, so even a sweep that
commits as it goes (several times, and in a unit of work of its own) leaves every table as it
was, while the dry run still reports what it did; on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import FixedClock
from bot.delivery.channels import SMS
from bot.scheduler.preview import preview
from bot.services import outbox
from bot.services.reminders import SWEEPS
from bot.storage.models import Base
from bot.storage.uow import UnitOfWork
from tests.booking_support import load_ids
from tests.conftest import START


async def every_row(engine) -> dict[str, list[tuple[Any, ...]]]:
    async with engine.connect() as conn:
        return {table.name: sorted((tuple(row) for row in await conn.execute(select(table))),
                                   key=repr)
                for table in Base.metadata.sorted_tables}


@pytest.mark.usefixtures("clinic")
async def test_a_dry_run_writes_nothing_even_where_a_sweep_commits(engine, make_uow, monkeypatch):
    async with make_uow(readonly=True) as uow:
        maya = (await load_ids(uow)).maya

    async def committing(uow: UnitOfWork) -> int:
        for n in (1, 2):
            await outbox.enqueue(uow, purpose=f"committed:{n}", kind="unpaid_reminder",
                                 patient_id=maya, params={"invoice_id": 3})
            await uow.commit()
        async with uow.fresh() as other:
            await outbox.enqueue(other, purpose="committed:3", kind="unpaid_reminder",
                                 patient_id=maya, params={"invoice_id": 3})
            await other.commit()
        return 3

    monkeypatch.setitem(SWEEPS, "committing", committing)
    before = await every_row(engine)
    found = await preview(engine, FixedClock(START), [SMS])
    assert await every_row(engine) == before
    assert found.report.ok and found.report.sweeps["committing"] == 3
    assert found.report.sweeps["unpaid reminders"] == 2
    assert found.report.delivery is not None and found.report.delivery.sent == 4
    queued = {m.purpose: m for m in found.queued}
    assert {"committed:1", "committed:2", "committed:3"} <= set(queued)
    assert queued["committed:1"].to == f"patient {maya}"
    outcomes = {m.purpose: m.outcome for m in found.delivered}
    assert outcomes["committed:3"] == "send by sms"
    assert outcomes["invoice:3:overdue:staff:1"] == "stay queued", "staff need Telegram"
