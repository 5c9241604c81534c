"""No-shows under concurrency (RULES.md 8): separate transactions racing, as on two servers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.services import noshows
from bot.services.errors import WrongState
from bot.storage.models import Invoice, NoShow, OutboxMessage
from tests.integration._builders import book, counters, local, package_of

pytestmark = pytest.mark.usefixtures("clinic")
STARTS = local(2026, 11, 3, 10)


async def _marked_no_show(make_uow, clock) -> tuple[int, int]:
    async with make_uow() as uow:
        maya = await package_of(uow, "maya")
        appointment = await book(uow, "maya", STARTS, package_id=maya.id)
        clock.set(appointment.ends_at)
        no_show = await noshows.mark_no_show(uow, appointment.id, by="desk")
        await uow.commit()
        return no_show.id, maya.id


@pytest.mark.parametrize("with_version", [False, True], ids=["locked", "versioned"])
async def test_two_staff_resolving_at_once_get_one_outcome(make_uow, clock, with_version):
    no_show_id, package_id = await _marked_no_show(make_uow, clock)
    version = 0 if with_version else None

    async def press(choice: str, by: str) -> str:
        async with make_uow() as uow:
            try:
                await noshows.resolve(
                    uow, no_show_id, choice, no_show_fee_key="missed", by=by,
                    expected_version=version,
                )
            except WrongState as exc:
                return exc.message
            await uow.commit()
            return "won"

    outcomes = await asyncio.gather(press("redeem", "desk"), press("fee", "ana"))
    assert sorted(outcomes).count("won") == 1
    [lost] = [o for o in outcomes if o != "won"]
    async with make_uow() as uow:
        no_show = await noshows.get_no_show(uow, no_show_id)
        assert no_show.version == 1
        fees = await uow.session.scalar(
            select(func.count()).select_from(Invoice).where(Invoice.kind == "no_show")
        )
        if no_show.resolution == "redeemed":
            assert (no_show.resolved_by, fees) == ("desk", 0)
            assert await counters(uow, package_id) == (5, 3, 0, 2)
            assert "redeeming a package use by desk" in lost
        else:
            assert (no_show.resolved_by, fees) == ("ana", 1)
            assert await counters(uow, package_id) == (5, 2, 0, 3)
            assert "Missed appointment fee by ana" in lost


async def test_sweeps_running_at_once_raise_each_no_show_once(make_uow, clock):
    async with make_uow() as uow:
        for hour in (9, 10, 11):
            await book(uow, "sofia", local(2026, 11, 3, hour))
        await uow.commit()
    sweep_at = local(2026, 11, 3, 13)

    async def sweep() -> int:
        async with make_uow() as uow:
            raised = await noshows.raise_overdue(uow, sweep_at)
            await uow.commit()
            return raised

    results = await asyncio.gather(*(sweep() for _ in range(4)))
    assert sum(results) == 3
    async with make_uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(NoShow)) == 3
        assert await uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == 6
    clock.set(sweep_at + timedelta(hours=1))
    assert await sweep() == 0
