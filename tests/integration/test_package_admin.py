"""The desk's package actions (RULES.md 5, 9, 10, 11): expiry, refund, transfer, details."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from bot.services import appointments, billing, package_admin, package_views, packages
from bot.services.errors import (
    AmountOutOfRange,
    InvalidInput,
    NotAllowed,
    NotFound,
    NoUsesLeft,
    PackageEnded,
    PackageExpired,
    PackageNotPaid,
    PastExpiry,
    WrongState,
)
from bot.storage.models import (
    Appointment,
    CreditEntry,
    Invoice,
    OutboxMessage,
    Patient,
    PatientPackage,
    Staff,
)
from tests.integration._builders import book, counters, local, package_of, patient

pytestmark = pytest.mark.usefixtures("clinic")
NOV_20 = local(2026, 11, 19, 10)  # a Thursday with Ana downtown
LEO = {"fee": "massage-60", "practitioner": "ben", "location": "east"}


async def _maya_package_id(make_uow) -> int:
    async with make_uow() as uow:
        return (await package_of(uow, "maya")).id


# RULES.md 5: expiry


async def test_staff_can_extend_shorten_or_clear_the_expiry(make_uow, clock):
    async with make_uow() as uow:
        maya = await package_of(uow, "maya")
        await package_admin.change_expiry(uow, maya.id, date(2027, 9, 1))
        assert maya.expires_on == date(2027, 9, 1)
        await package_admin.change_expiry(uow, maya.id, None)
        await uow.commit()
    async with make_uow() as uow:
        maya = await package_of(uow, "maya")
        assert maya.expires_on is None
        assert (await package_views.package_details(uow, maya.id)).expires_on is None
        await package_admin.change_expiry(uow, maya.id, date(2026, 10, 31))
        details = await package_views.package_details(uow, maya.id)
        assert (details.expires_on, details.status) == (date(2026, 10, 31), "expired")
        with pytest.raises(PackageExpired):
            await book(uow, "maya", NOV_20, package_id=maya.id)


async def test_the_expiry_cannot_be_before_the_purchase(make_uow):
    package_id = await _maya_package_id(make_uow)
    async with make_uow() as uow:
        with pytest.raises(InvalidInput, match="2026-10-01"):
            await package_admin.change_expiry(uow, package_id, date(2026, 9, 30))
        await package_admin.change_expiry(uow, package_id, date(2026, 10, 1))


async def test_shortening_before_a_booked_appointment_is_refused_naming_it(make_uow):
    package_id = await _maya_package_id(make_uow)
    async with make_uow() as uow:
        appointment = await book(uow, "maya", NOV_20, package_id=package_id)
        with pytest.raises(PastExpiry, match=rf"appointment {appointment.id} on 2026-11-19 10:00"):
            await package_admin.change_expiry(uow, package_id, date(2026, 11, 18))
        assert (await package_of(uow, "maya")).expires_on == date(2027, 3, 30)
        await package_admin.change_expiry(uow, package_id, date(2026, 11, 19))
        await appointments.remove_package(uow, appointment.id)
        await package_admin.change_expiry(uow, package_id, date(2026, 11, 2))


# RULES.md 9: refund


async def test_the_suggested_refund_is_the_unredeemed_share_of_the_price(make_uow):
    async with make_uow() as uow:
        maya = await package_of(uow, "maya")
        assert await package_admin.suggested_refund(uow, maya.id) == Decimal("240.00")
        leo = await package_of(uow, "leo")  # 990 for 10 unused, but only 330 was collected
        assert await package_admin.suggested_refund(uow, leo.id) == Decimal("330.00")


async def test_a_refund_ends_the_package_and_becomes_credit(make_uow, clock):
    package_id = await _maya_package_id(make_uow)
    async with make_uow() as uow:
        first = await book(uow, "maya", NOV_20, package_id=package_id)
        second = await book(uow, "maya", local(2026, 11, 26, 10), package_id=package_id)
        other = await book(uow, "maya", local(2026, 11, 26, 11), package_id=None)
        await package_admin.refund(uow, package_id, by="desk")
        await uow.commit()
    async with make_uow() as uow:
        maya = await package_of(uow, "maya")
        assert (maya.refunded_at, maya.refund_amount) == (clock.now(), Decimal("240.00"))
        assert await counters(uow, package_id) == (5, 2, 0, 3)
        for appointment_id in (first.id, second.id, other.id):
            appointment = await uow.session.get(Appointment, appointment_id)
            assert (appointment.status, appointment.package_id) == ("booked", None)
        [credit] = (await uow.session.scalars(select(CreditEntry))).all()
        assert (credit.patient_id, credit.amount, credit.package_id) == (
            maya.patient_id, Decimal("240.00"), package_id,
        )
        desk = await uow.session.scalar(select(Staff).where(Staff.key == "desk"))
        [told] = (await uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "package_refunded"))).all()
        assert (told.staff_id, told.purpose) == (desk.id, f"refund:{package_id}:staff:{desk.id}")
        assert told.params == {
            "package_id": package_id, "patient_id": maya.patient_id, "amount": "240.00",
            "appointment_ids": [first.id, second.id], "by": "desk",
        }
        assert (await package_views.package_details(uow, package_id)).status == "refunded"
        with pytest.raises(PackageEnded):
            await book(uow, "maya", local(2026, 11, 26, 12), package_id=package_id)
        with pytest.raises(PackageEnded):
            await package_admin.transfer(uow, package_id, maya.patient_id + 1, 1, by="desk")
        with pytest.raises(WrongState, match=r"already refunded \(240\.00\)"):
            await package_admin.refund(uow, package_id, Decimal("0"), by="desk")


@pytest.mark.parametrize("amount", ["-0.01", "400.01"])
async def test_a_refund_is_between_zero_and_what_was_collected(make_uow, amount):
    package_id = await _maya_package_id(make_uow)
    async with make_uow() as uow:
        with pytest.raises(AmountOutOfRange, match=r"from 0\.00 to 400\.00"):
            await package_admin.refund(uow, package_id, Decimal(amount), by="desk")
        assert (await package_of(uow, "maya")).refunded_at is None


@pytest.mark.parametrize("amount", ["0.00", "400.00", "123.45"])
async def test_staff_may_override_the_refund_within_bounds(make_uow, amount):
    package_id = await _maya_package_id(make_uow)
    async with make_uow() as uow:
        package = await package_admin.refund(uow, package_id, Decimal(amount), by="desk")
        assert package.refund_amount == Decimal(amount)
        credit = (await uow.session.scalars(select(CreditEntry.amount))).all()
        assert credit == ([] if amount == "0.00" else [Decimal(amount)])


async def test_a_refund_settles_every_open_installment(make_uow):
    async with make_uow() as uow:
        leo = await package_of(uow, "leo")
        invoices = (await uow.session.scalars(
            select(Invoice).where(Invoice.package_id == leo.id).order_by(Invoice.installment_no)
        )).all()
        await billing.record_payment(uow, invoices[1].id, Decimal("100.00"))
        with pytest.raises(AmountOutOfRange, match=r"to 430\.00"):
            await package_admin.refund(uow, leo.id, Decimal("430.01"), by="desk")
        await package_admin.refund(uow, leo.id, None, by="desk")
        assert leo.refund_amount == Decimal("430.00")
        # nothing more is owed for a refunded package; what was paid stays recorded
        assert [(i.status, i.paid) for i in invoices] == [
            ("paid", Decimal("330.00")), ("void", Decimal("100.00")), ("void", Decimal("0.00"))]
        assert [i.outstanding for i in invoices] == [Decimal("0.00")] * 3
        # the details, read in the same transaction (what it changed is flushed first)
        details = await package_views.package_details(uow, leo.id)
        assert (details.paid, details.outstanding, details.status) == (
            Decimal("430.00"), Decimal("0.00"), "refunded")


# RULES.md 10: transfer


async def test_a_transfer_moves_uses_to_a_ward_with_the_same_terms(make_uow):
    package_id = await _maya_package_id(make_uow)
    async with make_uow() as uow:
        leo_id = (await patient(uow, "leo")).id
        gift = await package_admin.transfer(uow, package_id, leo_id, 2, by="desk")
        await uow.commit()
    async with make_uow() as uow:
        source = await packages.get_package(uow, package_id)
        gift = await packages.get_package(uow, gift.id, scope_rows=True)
        assert await counters(uow, package_id) == (3, 2, 0, 1)
        assert await counters(uow, gift.id) == (2, 0, 0, 2)
        assert source.uses + gift.uses == 5
        assert (gift.patient_id, gift.transferred_from_id, gift.price, gift.paid_enough) == (
            leo_id, package_id, Decimal("0.00"), True,
        )
        assert (gift.name, gift.expires_on, gift.patient_pays) == (
            source.name, date(2027, 3, 30), source.patient_pays,
        )
        assert [f.key for f in gift.fees] == ["physio-follow"]
        assert [p.key for p in gift.practitioners] == ["ana"]
        assert [loc.key for loc in gift.locations] == ["downtown"]
        assert (await uow.session.scalars(
            select(Invoice).where(Invoice.package_id == gift.id))).all() == []
        appointment = await book(uow, "leo", NOV_20, package_id=gift.id)
        assert appointment.package_use == "reserved"
        # the price of a use stays 400 / 5: the one unredeemed use left is worth 80.00
        assert await package_admin.suggested_refund(uow, package_id) == Decimal("80.00")
        assert await package_admin.suggested_refund(uow, gift.id) == Decimal("0.00")


async def test_a_ward_can_give_to_a_guardian_and_a_sibling(make_uow):
    async with make_uow() as uow:
        maya = await patient(uow, "maya")
        mia = Patient(first_name="Mia", last_name="Chen", created_at=uow.clock.now(),
                      guardians=[maya])
        uow.session.add(mia)
        await uow.session.flush()
        leo_package = await package_of(uow, "leo")
        to_guardian = await package_admin.transfer(uow, leo_package.id, maya.id, 1, by="desk")
        to_sibling = await package_admin.transfer(uow, leo_package.id, mia.id, 3, by="desk")
        assert (to_guardian.patient_id, to_sibling.patient_id) == (maya.id, mia.id)
        assert await counters(uow, leo_package.id) == (6, 0, 0, 6)
        assert to_guardian.expires_on == leo_package.expires_on
        assert (to_sibling.patient_pays, to_sibling.practitioners) == (Decimal("10.00"), [])


async def test_a_transfer_outside_the_family_is_refused(make_uow):
    package_id = await _maya_package_id(make_uow)
    async with make_uow() as uow:
        sofia = await patient(uow, "sofia")
        maya = await patient(uow, "maya")
        for who in (sofia.id, maya.id):
            with pytest.raises(NotAllowed, match="family"):
                await package_admin.transfer(uow, package_id, who, 1, by="desk")
        with pytest.raises(NotFound):
            await package_admin.transfer(uow, package_id, 9999, 1, by="desk")
        assert await counters(uow, package_id) == (5, 2, 0, 3)


@pytest.mark.parametrize("uses", [0, -1, 4])
async def test_only_available_uses_can_be_transferred(make_uow, uses):
    package_id = await _maya_package_id(make_uow)
    async with make_uow() as uow:
        leo_id = (await patient(uow, "leo")).id
        with pytest.raises(InvalidInput, match="from 1 to 3"):
            await package_admin.transfer(uow, package_id, leo_id, uses, by="desk")
        for hour in (9, 10, 11):
            await book(uow, "maya", local(2026, 11, 19, hour), package_id=package_id)
        with pytest.raises(NoUsesLeft):
            await package_admin.transfer(uow, package_id, leo_id, 1, by="desk")
        assert await counters(uow, package_id) == (5, 2, 3, 0)


async def test_expired_and_unpaid_packages_cannot_be_transferred(make_uow):
    package_id = await _maya_package_id(make_uow)
    async with make_uow() as uow:
        maya = await patient(uow, "maya")
        leo = await patient(uow, "leo")
        await package_admin.change_expiry(uow, package_id, date(2026, 11, 1))
        with pytest.raises(PackageExpired):
            await package_admin.transfer(uow, package_id, leo.id, 1, by="desk")
        unpaid = await packages.sell_package(uow, leo.id, "physio-5")
        with pytest.raises(PackageNotPaid):
            await package_admin.transfer(uow, unpaid.id, maya.id, 1, by="desk")


# RULES.md 11: details


async def test_details_show_money_counters_and_every_session(make_uow, clock):
    package_id = await _maya_package_id(make_uow)
    async with make_uow() as uow:
        arrived = await book(uow, "maya", local(2026, 11, 3, 10), package_id=package_id)
        upcoming = await book(uow, "maya", NOV_20, package_id=package_id)
        await uow.commit()
    clock.set(local(2026, 11, 3, 10, 5))
    async with make_uow() as uow:
        await appointments.arrive(uow, arrived.id)
        await uow.commit()
    async with make_uow() as uow:
        details = await package_views.package_details(uow, package_id)
    assert (details.name, details.purchased_on, details.price) == (
        "Physio 5-pack", date(2026, 10, 1), Decimal("400.00"),
    )
    assert (details.paid, details.outstanding, details.status) == (
        Decimal("400.00"), Decimal("0.00"), "active",
    )
    assert (details.uses, details.redeemed, details.booked, details.available) == (5, 3, 1, 1)
    assert details.expires_on == date(2027, 3, 30)
    assert [(s.kind, s.day, s.fee, s.practitioner, s.upcoming) for s in details.sessions] == [
        ("imported", date(2026, 11, 2), None, None, False),
        ("imported", date(2026, 11, 2), None, None, False),
        ("arrival", date(2026, 11, 3), "Physiotherapy follow-up", "Ana Silva", False),
        ("booked", date(2026, 11, 19), "Physiotherapy follow-up", "Ana Silva", True),
    ]
    assert [s.appointment_id for s in details.sessions[2:]] == [arrived.id, upcoming.id]


async def test_details_of_an_installment_package_and_an_unpaid_one(make_uow):
    async with make_uow() as uow:
        leo = await package_of(uow, "leo")
        details = await package_views.package_details(uow, leo.id)
        assert (details.paid, details.outstanding, details.status) == (
            Decimal("330.00"), Decimal("660.00"), "active",
        )
        sofia = await patient(uow, "sofia")
        unpaid = await packages.sell_package(uow, sofia.id, "physio-5")
        details = await package_views.package_details(uow, unpaid.id)
        assert (details.paid, details.outstanding, details.status) == (
            Decimal("0.00"), Decimal("400.00"), "awaiting_payment",
        )


async def test_packages_for_lists_a_patients_packages_oldest_first(make_uow):
    package_id = await _maya_package_id(make_uow)
    async with make_uow() as uow:
        leo = await patient(uow, "leo")
        gift = await package_admin.transfer(uow, package_id, leo.id, 1, by="desk")
        listed = await package_views.packages_for(uow, leo.id)
        massage = await package_of(uow, "leo")
        assert [(d.id, d.purchased_on, d.status) for d in listed] == [
            (massage.id, date(2026, 9, 15), "active"),
            (gift.id, date(2026, 11, 2), "active"),
        ]
        assert listed[1].transferred_from_id == package_id
        massage.name = "Massage 10-pack, renamed"  # not flushed: read as a query would see it
        assert (await package_views.packages_for(uow, leo.id))[0].name == massage.name
        assert await package_views.packages_for(uow, (await patient(uow, "sofia")).id) == []
        assert (await uow.session.get(PatientPackage, package_id)).uses == 4


async def test_packages_for_reads_many_packages_with_as_many_queries_as_one(make_uow):
    """No query per package: five packages with sessions and payments cost what one does."""
    async with make_uow() as uow:
        sofia = await patient(uow, "sofia")
        first = await packages.sell_package(uow, sofia.id, "physio-5")
        await uow.commit()
    statements: list[str] = []

    async def listed() -> tuple[list[package_views.PackageDetails], int]:
        statements.clear()
        async with make_uow() as uow:
            found = await package_views.packages_for(uow, sofia.id)
            return found, len(statements)

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    engine = make_uow().engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        one, alone = await listed()
        async with make_uow() as uow:
            for _ in range(4):
                more = await packages.sell_package(uow, sofia.id, "physio-5")
                invoice = (await packages.package_invoices(uow, more.id))[0]
                await billing.record_payment(uow, invoice.id, invoice.amount, method="card")
            await book(uow, "sofia", NOV_20, package_id=more.id)
            await uow.commit()
        five, together = await listed()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert [d.id for d in one] == [first.id] and len(five) == 5
    assert together == alone
    # the packages' fees, practitioners and locations are not read for the list
    assert not [s for s in statements if "package_fee" in s or "package_location" in s]
    async with make_uow() as uow:
        assert five == [await package_views.package_details(uow, d.id) for d in five]
    assert five[-1].paid == Decimal("400.00") and five[-1].sessions[0].kind == "booked"
    assert (five[0].paid, five[0].status) == (Decimal("0.00"), "awaiting_payment")
