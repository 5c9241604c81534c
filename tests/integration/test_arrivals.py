"""Arrival and its undo (RULES.md 3; issue 14 items 17-18), on SQLite and PostgreSQL.

An arrival is refused before the appointment can have begun (from 15 minutes before its start),
saying when it can be marked, in the clinic's time. ``undo_arrival`` restores exactly what was
there before: the package counters, the appointment (booked, use reserved) and the invoices.
Racing undos (and an arrival racing its undo) in separate transactions, as on two servers,
restore the use once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.i18n import translator
from bot.services import arrivals, billing, noshows, package_admin
from bot.services.errors import DomainError, NotFound, WrongState
from bot.storage.models import Appointment, Invoice, PackageRedemption
from tests.integration._builders import book, counters, local, package_of, state

pytestmark = pytest.mark.usefixtures("clinic")
STARTS = local(2026, 11, 4, 9)  # Wednesday 09:00 in Toronto (14:00 UTC)


async def _leos_massage(make_uow) -> tuple[int, int]:
    """Leo's massage with Ben at East on Wednesday 09:00, covered by his Massage 10-pack (10.00
    per session); returns (appointment id, package id)."""
    async with make_uow() as uow:
        package = await package_of(uow, "leo")
        appointment = await book(uow, "leo", STARTS, fee="massage-60", practitioner="ben",
                                 location="east", package_id=package.id)
        await uow.commit()
        return appointment.id, package.id


async def _run(
    make_uow, action: Callable[..., Awaitable[object]], *args: object, **kwargs: object
) -> object:
    async with make_uow() as uow:
        result = await action(uow, *args, **kwargs)
        await uow.commit()
        return result


async def _race(make_uow, actions: list[Callable[..., Awaitable[object]]]) -> list[str]:
    """Each action in its own unit of work, all at once: "won" or the refusal's code."""

    async def attempt(action: Callable[..., Awaitable[object]]) -> str:
        async with make_uow() as uow:
            try:
                await action(uow)
            except DomainError as exc:
                return exc.code
            await uow.commit()
            return "won"

    return list(await asyncio.gather(*(attempt(action) for action in actions)))


def _arrive(appointment_id: int) -> Callable[..., Awaitable[object]]:
    return lambda uow: arrivals.arrive(uow, appointment_id)


def _undo(appointment_id: int) -> Callable[..., Awaitable[object]]:
    return lambda uow: arrivals.undo_arrival(uow, appointment_id)


async def test_an_arrival_days_ahead_is_refused_saying_when_in_clinic_time(make_uow, clock):
    appointment_id, package_id = await _leos_massage(make_uow)
    before = await _state(make_uow, package_id, appointment_id)
    with pytest.raises(WrongState) as refused:
        await _run(make_uow, arrivals.arrive, appointment_id)
    assert refused.value.message == (
        f"appointment {appointment_id} starts 2026-11-04 09:00; it can be marked arrived from "
        "2026-11-04 08:45 (15 minutes before it starts)"
    )
    # A staff chat reads it in the clinic's locale (en_CA) and zone, never UTC.
    staff_text = translator("en_CA").error_text(refused.value)
    assert "Wed 4 Nov, 9:00" in staff_text and "8:45" in staff_text and "14:00" not in staff_text
    assert "mer. 4 nov., 09:00" in translator("fr").error_text(refused.value)
    clock.set(STARTS - timedelta(minutes=16))
    with pytest.raises(WrongState, match="can be marked arrived from"):
        await _run(make_uow, arrivals.arrive, appointment_id)
    assert await _state(make_uow, package_id, appointment_id) == before
    clock.set(STARTS - timedelta(minutes=15))  # the patient came early: the desk may mark it
    arrived = await _run(make_uow, arrivals.arrive, appointment_id)
    assert isinstance(arrived, Appointment) and arrived.arrived_at == clock.now()


async def test_undo_restores_the_use_and_voids_the_session_invoice(make_uow, clock):
    appointment_id, package_id = await _leos_massage(make_uow)
    before = await _state(make_uow, package_id, appointment_id)
    async with make_uow() as uow:
        assert await counters(uow, package_id) == (10, 0, 1, 9)
    clock.set(STARTS)
    await _run(make_uow, arrivals.arrive, appointment_id)
    arrived = await _state(make_uow, package_id, appointment_id)
    assert arrived.counters == (10, 1, 0, 9)
    assert arrived.appointment == ("arrived", package_id, "redeemed")
    assert len(arrived.live_invoices - before.live_invoices) == 1  # the 10.00 session

    voided = await _run(make_uow, arrivals.undo_arrival, appointment_id)
    assert [(i.kind, i.amount, i.status) for i in voided] == [  # type: ignore[attr-defined]
        ("session", Decimal("10.00"), "void")
    ]
    assert await _state(make_uow, package_id, appointment_id) == before
    async with make_uow() as uow:
        appointment = await uow.session.get(Appointment, appointment_id)
        assert appointment is not None and appointment.arrived_at is None
    with pytest.raises(WrongState, match="is booked; there is no arrival to undo"):
        await _run(make_uow, arrivals.undo_arrival, appointment_id)
    assert await _state(make_uow, package_id, appointment_id) == before

    await _run(make_uow, arrivals.arrive, appointment_id)  # and it can be marked again
    assert (await _state(make_uow, package_id, appointment_id)).counters == (10, 1, 0, 9)


async def test_undo_without_a_package_voids_the_fee_unless_it_was_paid(make_uow, clock):
    async with make_uow() as uow:
        appointment_id = (await book(uow, "sofia", STARTS)).id
        await uow.commit()
    clock.set(STARTS + timedelta(minutes=5))
    await _run(make_uow, arrivals.arrive, appointment_id)
    await _run(make_uow, arrivals.undo_arrival, appointment_id)
    async with make_uow() as uow:
        statuses = (await uow.session.scalars(
            select(Invoice.status).where(Invoice.appointment_id == appointment_id)
        )).all()
        assert statuses == ["void"]
        appointment = await uow.session.get(Appointment, appointment_id)
        assert appointment is not None and appointment.status == "booked"

    await _run(make_uow, arrivals.arrive, appointment_id)
    async with make_uow() as uow:
        invoice = await uow.session.scalar(select(Invoice).where(
            Invoice.appointment_id == appointment_id, Invoice.status == "open"))
        assert invoice is not None and invoice.amount == Decimal("90.00")
        await billing.record_payment(uow, invoice.id, Decimal("90.00"))
        await uow.commit()
    with pytest.raises(WrongState, match=r"already has 90\.00 paid; refund it at the desk first"):
        await _run(make_uow, arrivals.undo_arrival, appointment_id)
    async with make_uow() as uow:
        appointment = await uow.session.get(Appointment, appointment_id)
        assert appointment is not None and appointment.status == "arrived"


async def test_undo_is_refused_for_what_was_not_arrived_or_a_refunded_package(make_uow, clock):
    with pytest.raises(NotFound):
        await _run(make_uow, arrivals.undo_arrival, 9999)
    appointment_id, package_id = await _leos_massage(make_uow)
    clock.set(STARTS)
    async with make_uow() as uow:
        no_show = await noshows.mark_no_show(uow, appointment_id, by="desk")
        await uow.commit()
    assert no_show.reason == "marked"
    with pytest.raises(WrongState, match="is no-show; there is no arrival to undo"):
        await _run(make_uow, arrivals.undo_arrival, appointment_id)

    other, _ = await _leos_massage_at(make_uow, local(2026, 11, 4, 10), package_id)
    clock.set(local(2026, 11, 4, 10))
    await _run(make_uow, arrivals.arrive, other)
    await _run(make_uow, package_admin.refund, package_id, None, by="desk")
    arrived = await _state(make_uow, package_id, other)
    with pytest.raises(WrongState, match="was refunded since"):
        await _run(make_uow, arrivals.undo_arrival, other)
    assert await _state(make_uow, package_id, other) == arrived


async def _leos_massage_at(make_uow, starts, package_id: int) -> tuple[int, int]:
    async with make_uow() as uow:
        appointment = await book(uow, "leo", starts, fee="massage-60", practitioner="ben",
                                 location="east", package_id=package_id)
        await uow.commit()
        return appointment.id, package_id


async def test_two_undos_at_once_restore_the_use_once(make_uow, clock):
    appointment_id, package_id = await _leos_massage(make_uow)
    before = await _state(make_uow, package_id, appointment_id)
    clock.set(STARTS)
    await _run(make_uow, arrivals.arrive, appointment_id)
    outcomes = await _race(make_uow, [_undo(appointment_id)] * 4)
    assert sorted(outcomes) == ["won"] + ["wrong_state"] * 3
    assert await _state(make_uow, package_id, appointment_id) == before


async def test_arrivals_and_undos_racing_keep_the_counters_exact(make_uow, clock):
    appointment_id, package_id = await _leos_massage(make_uow)
    clock.set(STARTS)
    for _ in range(4):
        outcomes = await _race(
            make_uow, [_arrive(appointment_id), _undo(appointment_id)] * 2
        )
        assert set(outcomes) <= {"won", "wrong_state"} and "won" in outcomes
        async with make_uow() as uow:
            appointment = await uow.session.get(Appointment, appointment_id)
            assert appointment is not None
            live = await uow.session.scalar(select(func.count()).select_from(Invoice).where(
                Invoice.appointment_id == appointment_id, Invoice.status != "void"))
            redeemed = await uow.session.scalar(
                select(func.count()).select_from(PackageRedemption).where(
                    PackageRedemption.appointment_id == appointment_id))
            if appointment.status == "arrived":
                assert await counters(uow, package_id) == (10, 1, 0, 9)
                assert (appointment.package_use, live, redeemed) == ("redeemed", 1, 1)
            else:
                assert appointment.status == "booked"
                assert await counters(uow, package_id) == (10, 0, 1, 9)
                assert (appointment.package_use, live, redeemed) == ("reserved", 0, 0)


async def _state(make_uow, package_id: int, appointment_id: int):
    async with make_uow(readonly=True) as uow:
        return await state(uow, package_id, appointment_id)
