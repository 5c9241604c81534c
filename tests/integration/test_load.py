"""Loading a set-up file into the database (bot.services.setup), on both databases.

The example file loads with every value in its column, loading it again changes nothing
(row counts and values), an edited file updates by key, and purchases and memberships on
file are imported with their payments, used sessions and past invoices.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from bot.clinicfile import parse_clinic_text
from bot.services.setup import LoadSummary, load_clinic
from bot.storage.models import (
    Base,
    Clinic,
    Fee,
    Invoice,
    Location,
    Membership,
    PackageRedemption,
    PackageTemplate,
    Patient,
    PatientPackage,
    Payment,
    Practitioner,
    Staff,
    guardianship,
)
from tests.conftest import EXAMPLE_FILE

EXAMPLE = EXAMPLE_FILE.read_text(encoding="utf-8")


def edited(*pairs: tuple[str, str]) -> str:
    text = EXAMPLE
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


async def load(make_uow, text: str = EXAMPLE) -> LoadSummary:
    spec = parse_clinic_text(text, "clinic.toml")
    async with make_uow() as uow:
        summary = await load_clinic(uow, spec)
        await uow.commit()
    return summary


async def snapshot(make_uow) -> dict[str, list[str]]:
    """Every row of every table, as text, sorted: equal snapshots mean an untouched database."""
    tables: dict[str, list[str]] = {}
    async with make_uow() as uow:
        for table in Base.metadata.sorted_tables:
            rows = (await uow.session.execute(select(table))).all()
            tables[table.name] = sorted(repr(tuple(row)) for row in rows)
    return tables


async def guardians_of(uow, ward_key: str) -> list[str]:
    ward = await by_key(uow, Patient, ward_key)
    keys = await uow.session.scalars(
        select(Patient.key)
        .join(guardianship, guardianship.c.guardian_id == Patient.id)
        .where(guardianship.c.ward_id == ward.id)
        .order_by(Patient.key)
    )
    return list(keys)


async def by_key(uow, model, key):
    return await uow.session.scalar(select(model).where(model.key == key))


async def test_the_example_clinic_is_written_to_its_columns(clinic, make_uow):
    async with make_uow() as uow:
        row = await uow.session.get(Clinic, 1)
        assert (row.name, row.timezone, row.currency, row.locale, row.phone) == (
            "Harbour Physio & Wellness", "America/Toronto", "CAD", "en_CA", "+14165550100"
        )
        assert (row.slot_minutes, row.booking_horizon_days, row.min_notice_minutes) == (15, 28, 120)
        assert (row.cancel_notice_hours, row.no_show_grace_minutes) == (24, 15)
        assert (row.quiet_start, row.quiet_end) == (time(21, 0), time(8, 0))
        assert row.unpaid_invoice_days == [3, 10, 24]
        assert (row.appointment_hours_before, row.package_expiry_days_before) == (24, 14)
        east = await by_key(uow, Location, "east")
        assert east.address == "900 Danforth Ave, Toronto"
        ana = await by_key(uow, Practitioner, "ana")
        await uow.session.refresh(ana, ["hours"])
        hours = sorted((h.weekday, h.start, h.end, h.location_id) for h in ana.hours)
        downtown = (await by_key(uow, Location, "downtown")).id
        assert hours == [
            *[(day, time(9), time(17), downtown) for day in range(4)],
            (4, time(10), time(16), east.id),
        ]
        massage = await by_key(uow, Fee, "massage-60")
        assert (massage.minutes, massage.price) == (60, Decimal("110.00"))
        await uow.session.refresh(massage, ["practitioners"])
        assert [p.key for p in massage.practitioners] == ["ben"]
        physio5 = await by_key(uow, PackageTemplate, "physio-5")
        assert [f.key for f in physio5.fees] == ["physio-follow"]
        assert [p.key for p in physio5.practitioners] == ["ana"]
        assert [loc.key for loc in physio5.locations] == ["downtown"]
        assert (physio5.valid_days, physio5.installments, physio5.online_purchase) == (
            180, 1, True
        )
        insurer = await by_key(uow, PackageTemplate, "insurer-physio-6")
        assert insurer.valid_days is None and insurer.online_purchase is False
        assert sorted(f.key for f in insurer.fees) == ["physio-follow", "physio-initial"]
        desk = await by_key(uow, Staff, "desk")
        assert (desk.role, desk.telegram_chat_id) == ("reception", -1001234567890)
        assert desk.alerts == ["no_show", "registration", "unpaid"]
        staff_ana = await by_key(uow, Staff, "ana")
        assert staff_ana.practitioner_id == ana.id and staff_ana.telegram_chat_id is None
        leo = await by_key(uow, Patient, "leo")
        assert await guardians_of(uow, "leo") == ["maya"]
        assert leo.phone is None and leo.birth_date == date(2015, 6, 11)
        sofia = await by_key(uow, Patient, "sofia")
        assert (sofia.first_name, sofia.phone, sofia.locale) == ("Sofía", "+14165550102", "es")


async def _package(uow, patient_key: str) -> PatientPackage:
    patient = await by_key(uow, Patient, patient_key)
    return await uow.session.scalar(
        select(PatientPackage).where(PatientPackage.patient_id == patient.id)
    )


async def _invoices(uow, **where) -> list[Invoice]:
    stmt = select(Invoice).filter_by(**where).order_by(Invoice.due_on)
    return list((await uow.session.scalars(stmt)).all())


async def test_a_paid_purchase_with_used_sessions_is_imported(clinic, make_uow):
    async with make_uow() as uow:
        package = await _package(uow, "maya")
        assert (package.uses, package.redeemed, package.booked, package.available) == (5, 2, 0, 3)
        assert package.paid_enough is True
        assert package.purchased_on == date(2026, 10, 1)
        assert package.expires_on == date(2027, 3, 30)  # purchased_on + valid_days
        [invoice] = await _invoices(uow, package_id=package.id)
        assert (invoice.kind, invoice.amount, invoice.status) == ("package", Decimal("400.00"),
                                                                  "paid")
        payments = (await uow.session.scalars(select(Payment).filter_by(invoice_id=invoice.id)))
        assert [(p.amount, p.method) for p in payments] == [(Decimal("400.00"), "import")]
        redemptions = await uow.session.scalars(
            select(PackageRedemption).filter_by(package_id=package.id)
        )
        assert [(r.kind, r.appointment_id, r.invoice_id) for r in redemptions] == [
            ("imported", None, None)
        ] * 2


async def test_a_purchase_in_installments_pays_the_first(clinic, make_uow):
    async with make_uow() as uow:
        package = await _package(uow, "leo")
        assert package.paid_enough is True
        assert (package.redeemed, package.available) == (0, 10)
        invoices = await _invoices(uow, package_id=package.id)
        assert [(i.installment_no, i.amount, i.paid, i.status, i.due_on) for i in invoices] == [
            (1, Decimal("330.00"), Decimal("330.00"), "paid", date(2026, 9, 15)),
            (2, Decimal("330.00"), Decimal("0.00"), "open", date(2026, 10, 15)),
            (3, Decimal("330.00"), Decimal("0.00"), "open", date(2026, 11, 15)),
        ]


async def test_a_membership_gets_its_past_invoices_paid_through_its_date(clinic, make_uow):
    async with make_uow() as uow:
        sofia = await by_key(uow, Patient, "sofia")
        [membership] = (await uow.session.scalars(select(Membership))).all()
        assert (membership.patient_id, membership.start) == (sofia.id, date(2026, 9, 1))
        invoices = await _invoices(uow, membership_id=membership.id)
        # The test clock is 2026-11-02: November's period has started and is not paid.
        assert [(i.period_start, i.status, i.paid) for i in invoices] == [
            (date(2026, 9, 1), "paid", Decimal("49.00")),
            (date(2026, 10, 1), "paid", Decimal("49.00")),
            (date(2026, 11, 1), "open", Decimal("0.00")),
        ]


async def test_loading_the_same_file_twice_changes_nothing(clinic, make_uow, clock):
    before = await snapshot(make_uow)
    assert sum(len(rows) for rows in before.values()) > 40
    clock.advance(timedelta(hours=1))  # a rewrite would show in created_at / redeemed_at
    summary = await load(make_uow)
    assert await snapshot(make_uow) == before
    assert not summary.changed
    assert summary.sections["fees"].unchanged == 3
    assert summary.sections["purchases"].unchanged == 2
    assert summary.sections["memberships"].unchanged == 1


async def test_an_edited_file_updates_rows_by_key(clinic, make_uow):
    async with make_uow() as uow:
        ids = {key: (await by_key(uow, Fee, key)).id for key in ("massage-60", "physio-follow")}
        ben_id = (await by_key(uow, Practitioner, "ben")).id
    text = edited(
        ('price = "110.00"', 'price = "115.50"'),
        ('name = "Ben Okafor"', 'name = "Benjamin Okafor"'),
        ('days = ["mon", "wed", "fri", "sat"], start = "08:00", end = "14:00"',
         'days = ["tue"], start = "12:00", end = "18:00"'),
        ('eligible_fees = ["physio-follow"]',
         'eligible_fees = ["physio-follow", "physio-initial"]'),
        ('alerts = ["no_show"]', 'alerts = ["no_show", "message"]'),
        ("valid_days = 365\n", ""),
        ('first_name = "Sofía"', 'first_name = "Sofia"'),
        ("unpaid_invoice_days = [3, 10, 24]", "unpaid_invoice_days = [7]"),
    )
    summary = await load(make_uow, text)
    assert vars(summary.sections["fees"]) == {
        "created": 0, "updated": 1, "unchanged": 2, "removed": 0}
    assert vars(summary.sections["practitioners"]) == {
        "created": 0, "updated": 1, "unchanged": 1, "removed": 0}
    assert summary.sections["package_templates"].updated == 2
    assert summary.sections["clinic"].updated == 1
    async with make_uow() as uow:
        massage = await by_key(uow, Fee, "massage-60")
        assert (massage.id, massage.price) == (ids["massage-60"], Decimal("115.50"))
        ben = await by_key(uow, Practitioner, "ben")
        await uow.session.refresh(ben, ["hours"])
        assert (ben.id, ben.name) == (ben_id, "Benjamin Okafor")
        assert [(h.weekday, h.start, h.end) for h in ben.hours] == [(1, time(12), time(18))]
        physio5 = await by_key(uow, PackageTemplate, "physio-5")
        assert sorted(f.key for f in physio5.fees) == ["physio-follow", "physio-initial"]
        assert (await by_key(uow, PackageTemplate, "massage-10")).valid_days is None
        assert (await by_key(uow, Staff, "ana")).alerts == ["no_show", "message"]
        assert (await by_key(uow, Patient, "sofia")).first_name == "Sofia"
        assert (await uow.session.get(Clinic, 1)).unpaid_invoice_days == [7]
    # The edited file, loaded again, is now what the database holds.
    assert not (await load(make_uow, text)).changed


async def test_what_people_set_in_chat_survives_a_reload(clinic, make_uow):
    async with make_uow() as uow:
        (await by_key(uow, Staff, "ana")).telegram_chat_id = 424242  # /staff CODE
        (await by_key(uow, Patient, "leo")).locale = "fr"  # chose a language in chat
        await uow.commit()
    await load(make_uow)
    async with make_uow() as uow:
        assert (await by_key(uow, Staff, "ana")).telegram_chat_id == 424242
        assert (await by_key(uow, Patient, "leo")).locale == "fr"


async def test_guardians_follow_the_file(clinic, make_uow):
    await load(make_uow, edited(('guardians = ["maya"]', 'guardians = ["sofia", "maya"]')))
    async with make_uow() as uow:
        assert await guardians_of(uow, "leo") == ["maya", "sofia"]
    await load(make_uow, edited(('guardians = ["maya"]', 'guardians = ["sofia"]')))
    async with make_uow() as uow:
        assert await guardians_of(uow, "leo") == ["sofia"]
    await load(make_uow, edited(('guardians = ["maya"]', "guardians = []")))
    async with make_uow() as uow:
        assert await guardians_of(uow, "leo") == []


async def test_a_part_payment_is_spread_over_installments_in_order(make_uow):
    await load(make_uow, edited(
        ('paid = "330.00"', 'paid = "500.00"'),
        ('used = 2 ', 'expires_on = "2027-01-31"\nused = 2 '),
    ))
    async with make_uow() as uow:
        leo = await _package(uow, "leo")
        invoices = await _invoices(uow, package_id=leo.id)
        assert [(i.paid, i.status) for i in invoices] == [
            (Decimal("330.00"), "paid"), (Decimal("170.00"), "open"), (Decimal("0.00"), "open")
        ]
        assert (await _package(uow, "maya")).expires_on == date(2027, 1, 31)


async def test_an_unpaid_purchase_is_not_usable(make_uow):
    await load(make_uow, edited(('paid = "330.00"', 'paid = "0.00"')))
    async with make_uow() as uow:
        leo = await _package(uow, "leo")
        assert leo.paid_enough is False
        assert {i.status for i in await _invoices(uow, package_id=leo.id)} == {"open"}
        assert (await uow.session.scalar(select(Payment).filter_by(patient_id=leo.patient_id))
                is None)


async def test_a_membership_paid_ahead_is_invoiced_and_paid_through_that_date(make_uow):
    await load(make_uow, edited(
        ('start = "2026-09-01"', 'start = "2026-10-01"'),
        ('paid_through = "2026-10-31"', 'paid_through = "2026-12-31"'),
    ))
    async with make_uow() as uow:
        invoices = await _invoices(uow, kind="membership")
        assert [(i.period_start, i.period_end, i.status) for i in invoices] == [
            (date(2026, 10, 1), date(2026, 11, 1), "paid"),
            (date(2026, 11, 1), date(2026, 12, 1), "paid"),
            (date(2026, 12, 1), date(2027, 1, 1), "paid"),
        ]


async def test_a_new_purchase_in_an_edited_file_is_added_once(clinic, make_uow):
    text = EXAMPLE + (
        '\n[[purchases]]\npatient = "sofia"\ntemplate = "insurer-physio-6"\n'
        'purchased_on = "2026-10-20"\n'
    )
    summary = await load(make_uow, text)
    assert vars(summary.sections["purchases"]) == {
        "created": 1, "updated": 0, "unchanged": 2, "removed": 0}
    await load(make_uow, text)
    async with make_uow() as uow:
        packages = (await uow.session.scalars(select(PatientPackage))).all()
        assert sorted(p.name for p in packages) == [
            "Insurer-friendly physio 6", "Massage 10-pack", "Physio 5-pack"
        ]


async def test_a_reload_after_a_merge_finds_the_purchases_on_the_kept_profile(clinic, make_uow,
                                                                                 clock):
    from bot.services.merging import merge

    async with make_uow() as uow:
        maya = await by_key(uow, Patient, "maya")
        registration = Patient(
            first_name="Maya", last_name="Chen", phone="+14165550101",
            online_registration=True, created_at=clock.now(),
        )
        uow.session.add(registration)
        await uow.session.flush()
        kept_id = registration.id
        await merge(uow, kept_id, maya.id, by="test")
        await uow.commit()
    before = await snapshot(make_uow)
    summary = await load(make_uow)
    assert summary.sections["purchases"].unchanged == 2
    assert await snapshot(make_uow) == before
    async with make_uow() as uow:
        assert (await by_key(uow, Patient, "maya")).id == kept_id
        assert (await _package(uow, "maya")).redeemed == 2


async def test_a_reload_after_merging_two_file_patients_imports_nothing_twice(clinic, make_uow):
    from bot.services.merging import merge

    async with make_uow() as uow:
        maya, sofia = [await by_key(uow, Patient, key) for key in ("maya", "sofia")]
        await merge(uow, maya.id, sofia.id, by="test")  # sofia keeps her key, merged into maya
        await uow.commit()
    before = await snapshot(make_uow)
    summary = await load(make_uow)
    assert summary.sections["memberships"].unchanged == 1
    assert await snapshot(make_uow) == before
