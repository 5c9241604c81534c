"""Selling packages, paying for them and moving their uses (RULES.md 1-4), on both databases."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from bot.services import billing, package_scope, packages
from bot.services.errors import (
    AmountOutOfRange,
    NotAllowed,
    NoUsesLeft,
    PackageEnded,
    PackageExpired,
    PackageNotPaid,
    PackageNotUsable,
    WrongState,
)
from bot.storage.models import (
    Fee,
    Invoice,
    Location,
    PackageTemplate,
    PatientPackage,
    Payment,
    Practitioner,
)
from tests.integration._builders import book, counters, local, package_of, patient

pytestmark = pytest.mark.usefixtures("clinic")
TUESDAY_10 = local(2026, 11, 3, 10)
WEDNESDAY_9 = local(2026, 11, 4, 9)  # Ben at the East End


async def _sell(make_uow, patient_key: str, template: str) -> int:
    async with make_uow() as uow:
        package = await packages.sell_package(uow, (await patient(uow, patient_key)).id, template)
        await uow.commit()
        return package.id


async def _invoices(uow, package_id: int) -> list[Invoice]:
    rows = await uow.session.scalars(
        select(Invoice).where(Invoice.package_id == package_id).order_by(Invoice.id)
    )
    return list(rows.all())


def test_installments_split_into_equal_cents_summing_to_the_price():
    parts = packages.installment_amounts(Decimal("100.00"), 3)
    assert parts == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    assert sum(parts) == Decimal("100.00")


async def test_a_sale_copies_the_terms_so_template_edits_change_nothing(make_uow):
    package_id = await _sell(make_uow, "sofia", "physio-5")
    async with make_uow() as uow:
        template = await packages.get_template(uow, "physio-5")
        ben = await uow.session.scalar(select(Practitioner).where(Practitioner.key == "ben"))
        east = await uow.session.scalar(select(Location).where(Location.key == "east"))
        massage = await uow.session.scalar(select(Fee).where(Fee.key == "massage-60"))
        template.name, template.price, template.uses = "Renamed", Decimal("1.00"), 9
        template.patient_pays, template.valid_days, template.installments = Decimal("7"), 10, 4
        template.fees, template.practitioners, template.locations = [massage], [ben], [east]
        await uow.commit()
    async with make_uow() as uow:
        package = await packages.get_package(uow, package_id, scope_rows=True)
        assert (package.name, package.price, package.patient_pays) == (
            "Physio 5-pack", Decimal("400.00"), Decimal("0.00"),
        )
        assert (package.uses, package.available, package.installments) == (5, 5, 1)
        assert package.purchased_on == date(2026, 11, 2)
        assert package.expires_on == date(2026, 11, 2) + timedelta(days=180)
        assert [f.key for f in package.fees] == ["physio-follow"]
        assert [p.key for p in package.practitioners] == ["ana"]
        assert [loc.key for loc in package.locations] == ["downtown"]
        assert (await uow.session.get(PackageTemplate, package.template_id)).uses == 9


async def test_a_sale_creates_one_invoice_for_the_price(make_uow):
    package_id = await _sell(make_uow, "sofia", "physio-5")
    async with make_uow() as uow:
        [invoice] = await _invoices(uow, package_id)
        assert (invoice.kind, invoice.amount, invoice.status) == (
            "package", Decimal("400.00"), "open",
        )
        assert invoice.due_on == date(2026, 11, 2)
        assert not (await packages.get_package(uow, package_id)).paid_enough


async def test_installments_are_invoiced_a_month_apart(make_uow):
    package_id = await _sell(make_uow, "sofia", "massage-10")
    async with make_uow() as uow:
        invoices = await _invoices(uow, package_id)
        assert [(i.kind, i.installment_no, i.amount, i.due_on) for i in invoices] == [
            ("installment", 1, Decimal("330.00"), date(2026, 11, 2)),
            ("installment", 2, Decimal("330.00"), date(2026, 12, 2)),
            ("installment", 3, Decimal("330.00"), date(2027, 1, 2)),
        ]


async def test_desk_only_templates_cannot_be_bought_online(make_uow):
    async with make_uow() as uow:
        sofia = await patient(uow, "sofia")
        with pytest.raises(NotAllowed, match="desk"):
            await packages.sell_package(uow, sofia.id, "insurer-physio-6", online=True)
        assert (await packages.sell_package(uow, sofia.id, "physio-5", online=True)).uses == 5


async def test_a_package_is_usable_only_once_paid_in_full(make_uow):
    package_id = await _sell(make_uow, "sofia", "physio-5")
    async with make_uow() as uow:
        appointment = await book(uow, "sofia", TUESDAY_10)
        package = await packages.get_package(uow, package_id)
        with pytest.raises(PackageNotPaid):
            await packages.reserve_use(uow, package, appointment)
        [invoice] = await _invoices(uow, package_id)
        await billing.record_payment(uow, invoice.id, Decimal("399.99"))
        with pytest.raises(PackageNotPaid):
            await packages.reserve_use(uow, package, appointment)
        await billing.record_payment(uow, invoice.id, Decimal("0.01"))
        await packages.reserve_use(uow, package, appointment)
        assert await counters(uow, package_id) == (5, 0, 1, 4)
        assert appointment.package_use == "reserved"


async def test_with_installments_the_first_one_paid_makes_it_usable(make_uow):
    package_id = await _sell(make_uow, "sofia", "massage-10")
    async with make_uow() as uow:
        appointment = await book(
            uow, "sofia", WEDNESDAY_9, fee="massage-60", practitioner="ben", location="east"
        )
        package = await packages.get_package(uow, package_id)
        first, second, _ = await _invoices(uow, package_id)
        await billing.record_payment(uow, second.id, Decimal("330.00"))
        with pytest.raises(PackageNotPaid):
            await packages.reserve_use(uow, package, appointment)
        await billing.record_payment(uow, first.id, Decimal("330.00"))
        await packages.reserve_use(uow, package, appointment)
        assert package.paid_enough


async def test_uses_move_between_counters_and_arrival_bills_patient_pays(make_uow):
    async with make_uow() as uow:
        leo = await package_of(uow, "leo")
        assert await counters(uow, leo.id) == (10, 0, 0, 10)
        appointment = await book(
            uow, "leo", WEDNESDAY_9, fee="massage-60", practitioner="ben", location="east",
            package_id=leo.id,
        )
        assert await counters(uow, leo.id) == (10, 0, 1, 9)
        redemption = await packages.redeem_use(uow, appointment, "arrival")
        assert await counters(uow, leo.id) == (10, 1, 0, 9)
        session = await uow.session.get(Invoice, redemption.invoice_id)
        assert (session.kind, session.amount, session.appointment_id) == (
            "session", Decimal("10.00"), appointment.id,
        )
        await packages.unredeem_use(uow, appointment)
        assert session.status == "void" and appointment.package_use == "reserved"
        assert await counters(uow, leo.id) == (10, 0, 1, 9)
        await packages.release_use(uow, appointment)
        assert (appointment.package_id, appointment.package_use) == (None, None)
        assert await counters(uow, leo.id) == (10, 0, 0, 10)


async def test_zero_patient_pays_creates_no_session_invoice(make_uow):
    async with make_uow() as uow:
        maya = await package_of(uow, "maya")
        appointment = await book(uow, "maya", TUESDAY_10, package_id=maya.id)
        redemption = await packages.redeem_use(uow, appointment, "arrival")
        assert redemption.invoice_id is None
        assert await counters(uow, maya.id) == (5, 3, 0, 2)


async def test_reserving_stops_at_zero_available(make_uow):
    async with make_uow() as uow:
        maya = await package_of(uow, "maya")
        for hour in (9, 10, 11):
            await book(uow, "maya", local(2026, 11, 3, hour), package_id=maya.id)
        with pytest.raises(NoUsesLeft):
            await book(uow, "maya", local(2026, 11, 3, 12), package_id=maya.id)
        assert await counters(uow, maya.id) == (5, 2, 3, 0)


@pytest.mark.parametrize(
    "values",
    [{"available": -1, "uses": 1}, {"available": 4}, {"redeemed": -1, "available": 6}],
    ids=["negative-available", "uses-do-not-add-up", "negative-redeemed"],
)
async def test_the_database_refuses_counters_that_break_the_rule(make_uow, values):
    async with make_uow() as uow:
        maya = await package_of(uow, "maya")
        with pytest.raises(IntegrityError):
            await uow.session.execute(
                update(PatientPackage).where(PatientPackage.id == maya.id).values(**values)
            )


async def test_a_package_covers_its_own_patient_only(make_uow):
    async with make_uow() as uow:
        maya = await package_of(uow, "maya")
        appointment = await book(uow, "sofia", TUESDAY_10)
        with pytest.raises(NotAllowed):
            await packages.reserve_use(uow, maya, appointment)
        assert await counters(uow, maya.id) == (5, 2, 0, 3)


async def test_check_applies_to_eligible_fee_practitioner_location_and_date(make_uow):
    async with make_uow() as uow:
        maya = await package_of(uow, "maya")
        ids = {
            key: (await uow.session.scalar(select(model.id).where(model.key == key)))
            for model, key in [
                (Fee, "physio-follow"), (Fee, "physio-initial"), (Practitioner, "ana"),
                (Practitioner, "ben"), (Location, "downtown"), (Location, "east"),
            ]
        }
        good = {"fee_id": ids["physio-follow"], "practitioner_id": ids["ana"],
                "location_id": ids["downtown"]}
        assert maya.expires_on == date(2027, 3, 30)
        scope = await package_scope.scope_of(uow, maya.id)
        packages.check_applies(maya, scope, **good, on=maya.expires_on)
        with pytest.raises(PackageExpired):
            packages.check_applies(maya, scope, **good, on=date(2027, 3, 31))
        for wrong in ({"fee_id": ids["physio-initial"]}, {"practitioner_id": ids["ben"]},
                      {"location_id": ids["east"]}):
            with pytest.raises(PackageNotUsable):
                packages.check_applies(maya, scope, **{**good, **wrong}, on=date(2026, 11, 3))
        leo = await package_of(uow, "leo")  # no practitioners or locations listed: any
        massage = await uow.session.scalar(select(Fee.id).where(Fee.key == "massage-60"))
        packages.check_applies(leo, await package_scope.scope_of(uow, leo.id), fee_id=massage,
                               practitioner_id=ids["ana"], location_id=ids["downtown"],
                               on=date(2026, 11, 3))
        maya.refunded_at = uow.clock.now()
        with pytest.raises(PackageEnded):
            packages.check_applies(maya, scope, **good, on=date(2026, 11, 3))


async def test_an_expired_package_cannot_be_redeemed_even_with_uses_left(make_uow):
    async with make_uow() as uow:
        maya = await package_of(uow, "maya")
        appointment = await book(uow, "maya", TUESDAY_10, package_id=maya.id)
        maya.expires_on = date(2026, 11, 2)
        with pytest.raises(PackageExpired, match="extend the expiry"):
            await packages.redeem_use(uow, appointment, "arrival")
        assert await counters(uow, maya.id) == (5, 2, 1, 2)
        assert appointment.package_use == "reserved"


async def test_a_provider_payment_delivered_twice_is_recorded_once(make_uow):
    package_id = await _sell(make_uow, "sofia", "physio-5")
    for _ in range(2):
        async with make_uow() as uow:
            [invoice] = await _invoices(uow, package_id)
            await billing.record_payment(
                uow, invoice.id, Decimal("400.00"), method="telegram", external_id="charge-1"
            )
            await uow.commit()
    async with make_uow() as uow:
        [invoice] = await _invoices(uow, package_id)
        paid = await uow.session.scalars(select(Payment).where(Payment.invoice_id == invoice.id))
        assert [p.external_id for p in paid.all()] == ["charge-1"]
        assert (invoice.paid, invoice.status) == (Decimal("400.00"), "paid")
        assert await billing.package_collected(uow, package_id) == Decimal("400.00")


@pytest.mark.parametrize("amount", ["0", "-1.00", "400.01"])
async def test_a_payment_must_be_positive_and_at_most_what_is_owed(make_uow, amount):
    package_id = await _sell(make_uow, "sofia", "physio-5")
    async with make_uow() as uow:
        [invoice] = await _invoices(uow, package_id)
        with pytest.raises(AmountOutOfRange, match=r"at most 400\.00"):
            await billing.record_payment(uow, invoice.id, Decimal(amount))
        assert invoice.paid == Decimal("0.00")


async def test_paid_and_void_invoices_take_no_payment_and_paid_ones_cannot_be_voided(make_uow):
    package_id = await _sell(make_uow, "sofia", "physio-5")
    async with make_uow() as uow:
        [invoice] = await _invoices(uow, package_id)
        await billing.record_payment(uow, invoice.id, Decimal("400.00"))
        with pytest.raises(WrongState, match="already paid"):
            await billing.record_payment(uow, invoice.id, Decimal("1.00"))
        with pytest.raises(WrongState, match="refund"):
            await billing.void_invoice(uow, invoice)
        other = await billing.create_invoice(
            uow, patient_id=invoice.patient_id, kind="session", description="x",
            amount=Decimal("5"), issued_on=date(2026, 11, 2),
        )
        await billing.void_invoice(uow, other)
        with pytest.raises(WrongState, match="void"):
            await billing.record_payment(uow, other.id, Decimal("5.00"))


async def test_collected_counts_only_the_package_price_invoices(make_uow):
    async with make_uow() as uow:
        leo = await package_of(uow, "leo")
        assert await billing.package_collected(uow, leo.id) == Decimal("330.00")
        appointment = await book(
            uow, "leo", WEDNESDAY_9, fee="massage-60", practitioner="ben", location="east",
            package_id=leo.id,
        )
        redemption = await packages.redeem_use(uow, appointment, "arrival")
        await billing.record_payment(uow, redemption.invoice_id, Decimal("10.00"))
        assert await billing.package_collected(uow, leo.id) == Decimal("330.00")


async def test_a_locked_read_sees_the_latest_counters(make_uow):
    async with make_uow() as uow:
        maya = await package_of(uow, "maya")
        await uow.session.execute(
            text("UPDATE patient_package SET booked = 1, available = 2 WHERE id = :id"),
            {"id": maya.id},
        )
        assert maya.available == 3  # the session's copy is stale
        locked = await packages.get_package(uow, maya.id, lock=True)
        assert (locked.booked, locked.available) == (1, 2)


async def test_an_appointment_holds_at_most_one_use(make_uow):
    async with make_uow() as uow:
        maya = await package_of(uow, "maya")
        appointment = await book(uow, "maya", TUESDAY_10, package_id=maya.id)
        with pytest.raises(WrongState, match="already has a package"):
            await packages.reserve_use(uow, maya, appointment)
        assert await counters(uow, maya.id) == (5, 2, 1, 2)
