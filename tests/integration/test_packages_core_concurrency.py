"""The last use of a package under concurrency (RULES.md 3, 10): exactly one taker, always.

Each task has its own unit of work (its own connection and transaction), as two phones, two
channels or two server processes would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import func, select

from bot.services import package_admin, packages
from bot.services.errors import PackageNotUsable, WrongState
from bot.storage.models import Appointment, PackageRedemption
from tests.integration._builders import book, counters, local, package_of, patient

pytestmark = pytest.mark.usefixtures("clinic")
TAKERS = 6


async def _one_use_left(make_uow) -> tuple[int, list[int]]:
    """Maya's package with 1 available (2 booked), and TAKERS appointments without a package."""
    async with make_uow() as uow:
        maya = await package_of(uow, "maya")
        for hour in (9, 10):
            await book(uow, "maya", local(2026, 11, 3, hour), package_id=maya.id)
        free = [await book(uow, "maya", local(2026, 11, 4, 9 + n)) for n in range(TAKERS)]
        await uow.commit()
        assert await counters(uow, maya.id) == (5, 2, 2, 1)
        return maya.id, [a.id for a in free]


async def _race(make_uow, actions: list[Callable[..., Awaitable[object]]]) -> list[str]:
    async def attempt(action: Callable[..., Awaitable[object]]) -> str:
        async with make_uow() as uow:
            try:
                await action(uow)
            except (PackageNotUsable, WrongState) as exc:
                return exc.code
            await uow.commit()
            return "won"

    return list(await asyncio.gather(*(attempt(action) for action in actions)))


def _reserve(package_id: int, appointment_id: int) -> Callable[..., Awaitable[object]]:
    async def action(uow) -> None:
        package = await packages.get_package(uow, package_id)
        appointment = await uow.session.get(Appointment, appointment_id)
        await packages.reserve_use(uow, package, appointment)

    return action


async def test_many_bookings_race_for_the_last_use_and_one_gets_it(make_uow):
    package_id, free = await _one_use_left(make_uow)
    outcomes = await _race(make_uow, [_reserve(package_id, a) for a in free])
    assert sorted(outcomes) == ["no_uses_left"] * (TAKERS - 1) + ["won"]
    async with make_uow() as uow:
        assert await counters(uow, package_id) == (5, 2, 3, 0)
        covered = await uow.session.scalar(
            select(func.count())
            .select_from(Appointment)
            .where(Appointment.package_id == package_id)
        )
        assert covered == 3


async def test_a_transfer_and_bookings_race_for_the_last_use(make_uow):
    package_id, free = await _one_use_left(make_uow)
    async with make_uow() as uow:
        leo_id = (await patient(uow, "leo")).id

    async def give(uow) -> None:
        await package_admin.transfer(uow, package_id, leo_id, 1, by="desk")

    outcomes = await _race(make_uow, [give, *(_reserve(package_id, a) for a in free[:3])])
    assert outcomes.count("won") == 1
    assert set(outcomes) - {"won"} == {"no_uses_left"}
    async with make_uow() as uow:
        uses, _, booked, available = await counters(uow, package_id)
        assert available == 0
        if outcomes[0] == "won":  # the transfer took it
            assert (uses, booked) == (4, 2)
        else:
            assert (uses, booked) == (5, 3)


async def test_an_arrival_recorded_twice_at_once_redeems_one_use(make_uow):
    package_id, _ = await _one_use_left(make_uow)
    async with make_uow() as uow:
        appointment_id = (
            await uow.session.scalar(
                select(Appointment.id).where(Appointment.package_id == package_id).limit(1)
            )
        )

    async def arrive(uow) -> None:
        appointment = await uow.session.get(Appointment, appointment_id)
        await packages.redeem_use(uow, appointment, "arrival")

    outcomes = await _race(make_uow, [arrive] * 4)
    assert sorted(outcomes) == ["won"] + ["wrong_state"] * 3
    async with make_uow() as uow:
        assert await counters(uow, package_id) == (5, 3, 1, 1)
        assert await uow.session.scalar(
            select(func.count()).select_from(PackageRedemption).where(
                PackageRedemption.appointment_id == appointment_id
            )
        ) == 1


async def test_a_cancellation_recorded_twice_at_once_returns_one_use(make_uow):
    package_id, _ = await _one_use_left(make_uow)
    async with make_uow() as uow:
        appointment_id = (
            await uow.session.scalar(
                select(Appointment.id).where(Appointment.package_id == package_id).limit(1)
            )
        )

    async def cancel(uow) -> None:
        appointment = await uow.session.get(Appointment, appointment_id)
        await packages.release_use(uow, appointment)  # a second release finds nothing to return

    await _race(make_uow, [cancel] * 4)
    async with make_uow() as uow:
        assert await counters(uow, package_id) == (5, 2, 1, 2)
