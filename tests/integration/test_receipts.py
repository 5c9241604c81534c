"""Insurance-friendly packages (issue 18, item 2): a receipt per redeemed session, and totals
that stay exact through undos, refunds, transfers and desks redeeming at once (SQLite and
PostgreSQL)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from bot.services import (
    arrivals,
    billing,
    noshows,
    package_admin,
    packages,
    receipts,
)
from bot.services.errors import DomainError
from bot.storage.models import PackageTemplate, SessionReceipt
from tests.integration._builders import book, local, patient

pytestmark = pytest.mark.usefixtures("clinic")
THURSDAY = (2026, 11, 5)  # Ana is downtown
D = Decimal


async def _insured(
    make_uow, *, price: str = "100.00", uses: int = 3, paid: bool = True, installments: int = 1
) -> int:
    """Maya's insurance-friendly package (the example's insurer template, reshaped), paid."""
    async with make_uow() as uow:
        await uow.session.execute(
            update(PackageTemplate).where(PackageTemplate.key == "insurer-physio-6")
            .values(insurance_friendly=True, price=D(price), uses=uses, patient_pays=D("15.00"),
                    installments=installments)
        )
        maya = await patient(uow, "maya")
        package = await packages.sell_package(uow, maya.id, "insurer-physio-6")
        if paid:
            (invoice,) = await packages.package_invoices(uow, package.id)
            await billing.record_payment(uow, invoice.id, D(price))
        await uow.commit()
        return package.id


async def _booked(make_uow, package_id: int, hours: list[int], who: str = "maya") -> list[int]:
    async with make_uow() as uow:
        ids = [(await book(uow, who, local(*THURSDAY, hour), package_id=package_id)).id
               for hour in hours]
        await uow.commit()
        return ids


async def _arrive(make_uow, clock, appointment_ids: list[int]) -> None:
    clock.set(local(*THURSDAY, 17))
    for appointment_id in appointment_ids:
        async with make_uow() as uow:
            await arrivals.arrive(uow, appointment_id)
            await uow.commit()


async def _values(make_uow, package_id: int) -> list[Decimal]:
    async with make_uow() as uow:
        return [line.value for line in await receipts.receipts_of(uow, package_id)]


async def test_each_session_gets_a_receipt_and_the_last_takes_the_odd_cents(make_uow, clock):
    package_id = await _insured(make_uow)
    await _arrive(make_uow, clock, await _booked(make_uow, package_id, [9, 10, 11]))
    async with make_uow() as uow:
        lines = await receipts.receipts_of(uow, package_id)
        collected = await billing.package_collected(uow, package_id)
    assert [line.value for line in lines] == [D("33.33"), D("33.33"), D("33.34")]
    assert sum(line.value for line in lines) == collected == D("100.00")
    assert {line.patient_pays for line in lines} == {D("15.00")}
    assert {line.practitioner for line in lines} == {"Ana Silva"}
    assert lines[0].fee and lines[0].day == local(*THURSDAY, 9).date()
    assert lines[0].total == D("48.33")


async def test_a_package_not_insurance_friendly_gets_no_receipt(make_uow, clock):
    async with make_uow() as uow:
        maya = await patient(uow, "maya")
        package = await packages.sell_package(uow, maya.id, "insurer-physio-6")
        (invoice,) = await packages.package_invoices(uow, package.id)
        await billing.record_payment(uow, invoice.id, D("540.00"))
        await uow.commit()
    await _arrive(make_uow, clock, await _booked(make_uow, package.id, [9]))
    assert await _values(make_uow, package.id) == []


async def test_undoing_a_redemption_voids_its_receipt_and_keeps_the_total(make_uow, clock):
    package_id = await _insured(make_uow)
    first, second, third = await _booked(make_uow, package_id, [9, 10, 11])
    await _arrive(make_uow, clock, [first, second, third])
    async with make_uow() as uow:
        await arrivals.undo_arrival(uow, third)  # the one with the odd cent
        await uow.commit()
    assert await _values(make_uow, package_id) == [D("33.33"), D("33.33")]
    async with make_uow() as uow:
        await arrivals.undo_arrival(uow, first)
        await uow.commit()
    await _arrive(make_uow, clock, [third, first])
    values = await _values(make_uow, package_id)
    assert sorted(values) == [D("33.33"), D("33.33"), D("33.34")]
    async with make_uow() as uow:
        voided = await uow.session.scalars(
            select(SessionReceipt).where(SessionReceipt.voided_at.is_not(None)))
        assert len(voided.all()) == 2  # kept, numbered, never deleted


async def test_a_no_show_redemption_gets_a_receipt_and_its_undo_voids_it(make_uow, clock):
    package_id = await _insured(make_uow)
    (appointment_id,) = await _booked(make_uow, package_id, [9])
    clock.set(local(*THURSDAY, 17))
    async with make_uow() as uow:
        no_show = await noshows.mark_no_show(uow, appointment_id, by="desk")
        await noshows.resolve(uow, no_show.id, "redeem", by="desk")
        await uow.commit()
    assert await _values(make_uow, package_id) == [D("33.33")]
    async with make_uow() as uow:
        await noshows.undo(uow, no_show.id, by="desk")
        await uow.commit()
    assert await _values(make_uow, package_id) == []


@pytest.mark.parametrize("amount", [None, "0.00", "50.00", "100.00"])
async def test_receipts_and_the_refund_add_up_to_what_was_collected(make_uow, clock, amount):
    package_id = await _insured(make_uow)
    await _arrive(make_uow, clock, await _booked(make_uow, package_id, [9, 10]))
    async with make_uow() as uow:
        if amount is None:
            assert await package_admin.suggested_refund(uow, package_id) == D("33.34")
        package = await package_admin.refund(
            uow, package_id, None if amount is None else D(amount), by="desk")
        refunded = package.refund_amount
        await uow.commit()
    async with make_uow() as uow:
        lines = await receipts.receipts_of(uow, package_id)
        collected = await billing.package_collected(uow, package_id)
    assert refunded is not None
    assert sum(line.value for line in lines) + refunded == collected
    adjustments = [line for line in lines if line.kind == receipts.ADJUSTMENT]
    assert len(adjustments) == (0 if amount is None else 1)


async def test_a_refund_of_installments_partly_paid_keeps_the_totals(make_uow, clock):
    package_id = await _insured(make_uow, paid=False, installments=2)
    async with make_uow() as uow:
        first, _ = await packages.package_invoices(uow, package_id)
        await billing.record_payment(uow, first.id, D("50.00"))
        await uow.commit()
    await _arrive(make_uow, clock, await _booked(make_uow, package_id, [9, 10]))
    async with make_uow() as uow:
        package = await package_admin.refund(uow, package_id, by="desk")
        refunded = package.refund_amount
        await uow.commit()
    async with make_uow() as uow:
        total = sum(line.value for line in await receipts.receipts_of(uow, package_id))
    assert refunded == D("0.00") and total == D("50.00")  # the adjustment takes 16.66 off


@pytest.mark.parametrize("keep_booked", [False, True])
async def test_a_transfer_carries_the_session_value_and_keeps_the_total(
    make_uow, clock, keep_booked
):
    package_id = await _insured(make_uow)
    hours = [9, 10] if keep_booked else [9]
    booked = await _booked(make_uow, package_id, hours)
    await _arrive(make_uow, clock, booked[:1])
    async with make_uow() as uow:
        leo = await patient(uow, "leo")
        gift = await package_admin.transfer(uow, package_id, leo.id, 3 - len(hours), by="desk")
        gift_id = gift.id
        await uow.commit()
    clock.set(local(2026, 11, 2, 13))
    later = (2026, 11, 12)
    async with make_uow() as uow:
        leos = [(await book(uow, "leo", local(*later, hour), package_id=gift_id)).id
                for hour in range(9, 9 + 3 - len(hours))]
        await uow.commit()
    clock.set(local(*later, 17))
    for appointment_id in [*booked[1:], *leos]:
        async with make_uow() as uow:
            await arrivals.arrive(uow, appointment_id)
            await uow.commit()
    mayas, leos_values = await _values(make_uow, package_id), await _values(make_uow, gift_id)
    assert D("33.33") in leos_values
    assert sum(mayas) + sum(leos_values) == D("100.00")


@pytest.mark.parametrize("amount", [None, "10.00"])
async def test_a_refund_after_a_transfer_keeps_the_family_total(make_uow, clock, amount):
    package_id = await _insured(make_uow)
    (first,) = await _booked(make_uow, package_id, [9])
    await _arrive(make_uow, clock, [first])
    async with make_uow() as uow:
        leo = await patient(uow, "leo")
        gift_id = (await package_admin.transfer(uow, package_id, leo.id, 1, by="desk")).id
        if amount is None:
            assert await package_admin.suggested_refund(uow, package_id) == D("33.34")
        refunded = (await package_admin.refund(
            uow, package_id, None if amount is None else D(amount), by="desk")).refund_amount
        await uow.commit()
    clock.set(local(2026, 11, 2, 13))
    async with make_uow() as uow:
        leos = (await book(uow, "leo", local(2026, 11, 12, 9), package_id=gift_id)).id
        await uow.commit()
    clock.set(local(2026, 11, 12, 17))
    async with make_uow() as uow:
        await arrivals.arrive(uow, leos)
        await uow.commit()
    assert refunded is not None
    total = sum(await _values(make_uow, package_id)) + sum(await _values(make_uow, gift_id))
    assert total + refunded == D("100.00")


async def test_refunding_a_transferred_package_keeps_the_family_total(make_uow, clock):
    package_id = await _insured(make_uow)
    mayas = await _booked(make_uow, package_id, [9, 10])
    async with make_uow() as uow:
        leo = await patient(uow, "leo")
        gift_id = (await package_admin.transfer(uow, package_id, leo.id, 1, by="desk")).id
        assert await package_admin.suggested_refund(uow, gift_id) == D("0.00")  # nothing paid
        await package_admin.refund(uow, gift_id, by="desk")  # its unused value is kept
        await uow.commit()
    await _arrive(make_uow, clock, mayas)
    total = sum(await _values(make_uow, package_id)) + sum(await _values(make_uow, gift_id))
    assert total == D("100.00")


async def _race(make_uow, actions) -> list[str]:
    async def attempt(action) -> str:
        async with make_uow() as uow:
            try:
                await action(uow)
            except DomainError as exc:
                return exc.code
            await uow.commit()
            return "won"

    return list(await asyncio.gather(*(attempt(action) for action in actions)))


async def test_desks_redeeming_the_last_uses_at_once_receipt_each_use_once(make_uow, clock):
    package_id = await _insured(make_uow)
    ids = await _booked(make_uow, package_id, [9, 10, 11])
    await _arrive(make_uow, clock, ids[:1])

    def arrive(appointment_id: int):
        async def action(uow) -> None:
            await arrivals.arrive(uow, appointment_id)
        return action

    outcomes = await _race(make_uow, [arrive(a) for a in (ids[1], ids[2], ids[1], ids[2])])
    assert sorted(outcomes) == ["won", "won", "wrong_state", "wrong_state"]
    values = await _values(make_uow, package_id)
    assert sorted(values) == [D("33.33"), D("33.33"), D("33.34")]


async def test_an_undo_racing_a_redemption_keeps_the_total(make_uow, clock):
    package_id = await _insured(make_uow)
    ids = await _booked(make_uow, package_id, [9, 10, 11])
    await _arrive(make_uow, clock, ids[:2])

    async def undo(uow) -> None:
        await arrivals.undo_arrival(uow, ids[0])

    async def arrive(uow) -> None:
        await arrivals.arrive(uow, ids[2])

    assert await _race(make_uow, [undo, arrive]) == ["won", "won"]
    await _arrive(make_uow, clock, ids[:1])
    values = await _values(make_uow, package_id)
    assert sorted(values) == [D("33.33"), D("33.33"), D("33.34")]


async def test_a_transfer_racing_the_last_redemption_keeps_the_total(make_uow, clock):
    package_id = await _insured(make_uow)
    first, second = await _booked(make_uow, package_id, [9, 10])
    await _arrive(make_uow, clock, [first])
    async with make_uow() as uow:
        leo_id = (await patient(uow, "leo")).id
    gifts: list[int] = []

    async def give(uow) -> None:
        gifts.append((await package_admin.transfer(uow, package_id, leo_id, 1, by="desk")).id)

    async def arrive(uow) -> None:
        await arrivals.arrive(uow, second)

    assert await _race(make_uow, [give, arrive]) == ["won", "won"]
    clock.set(local(2026, 11, 2, 13))
    async with make_uow() as uow:
        leos = (await book(uow, "leo", local(2026, 11, 12, 9), package_id=gifts[0])).id
        await uow.commit()
    clock.set(local(2026, 11, 12, 17))
    async with make_uow() as uow:
        await arrivals.arrive(uow, leos)
        await uow.commit()
    total = sum(await _values(make_uow, package_id)) + sum(await _values(make_uow, gifts[0]))
    assert total == D("100.00")
