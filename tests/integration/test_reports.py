"""The reports (RULES.md 12, 15, 22) on the example clinic, with known sales, sessions, no-shows
and invoices, and exact totals. Dates are the clinic's (America/Toronto).

Loaded from the example file: maya's Physio 5-pack (2026-10-01, paid 400, 2 uses redeemed
before the import), leo's Massage 10-pack (2026-09-15, 3 x 330, first paid), sofia's monthly
membership (September and October paid, November open).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from bot.services import billing, noshows, package_admin, packages, reports
from bot.services.errors import InvalidInput
from bot.services.invoices import unpaid_invoices
from bot.storage.models import (
    Appointment,
    Fee,
    Invoice,
    Location,
    NoShow,
    PackageRedemption,
    Practitioner,
    Staff,
)
from tests.integration._builders import local, package_of, patient

pytestmark = pytest.mark.usefixtures("clinic")
D = Decimal
LEO = {"fee": "massage-60", "practitioner": "ben", "location": "east"}


def _sales(report: reports.PackageSales) -> list[tuple]:
    return [
        (r.sold_on, r.patient_name, r.package_name, r.price, r.sold_by, r.collected,
         r.outstanding, r.refunded)
        for r in report.rows
    ]


async def _invoice_of(uow, package_id: int, number: int | None = None) -> Invoice:
    stmt = select(Invoice).where(
        Invoice.package_id == package_id, Invoice.kind.in_(("package", "installment"))
    )
    if number is not None:
        stmt = stmt.where(Invoice.installment_no == number)
    found = await uow.session.scalar(stmt.order_by(Invoice.id))
    assert found is not None
    return found


# --- package sales -----------------------------------------------------------------------


async def _november_sales(make_uow, clock) -> None:
    clock.set(datetime(2026, 11, 20, 17, 0, tzinfo=UTC))
    async with make_uow() as uow:
        desk = await uow.session.scalar(select(Staff).where(Staff.key == "desk"))
        sofia, maya, leo = [await patient(uow, k) for k in ("sofia", "maya", "leo")]
        by_desk = await packages.sell_package(
            uow, sofia.id, "physio-5", sold_by_staff_id=desk.id, purchased_on=date(2026, 11, 2)
        )
        await billing.record_payment(uow, (await _invoice_of(uow, by_desk.id)).id, D("150"))
        # A no-show fee carries the package's id but is not part of its price.
        fee = await billing.create_invoice(
            uow, patient_id=sofia.id, kind="no_show", description="Missed appointment fee",
            amount=D("45.00"), issued_on=date(2026, 11, 10), package_id=by_desk.id,
        )
        await billing.record_payment(uow, fee.id, D("45.00"))
        online = await packages.sell_package(
            uow, maya.id, "massage-10", online=True, purchased_on=date(2026, 11, 30)
        )
        await billing.record_payment(uow, (await _invoice_of(uow, online.id, 1)).id, D("330"))
        await package_admin.refund(uow, online.id, D("100.00"), by="desk")
        await packages.sell_package(uow, leo.id, "insurer-physio-6", purchased_on=date(2026, 12, 1))
        # A transfer (today, 2026-11-20) is not a sale.
        mayas_physio = await package_of(uow, "maya")
        await package_admin.transfer(uow, mayas_physio.id, leo.id, 1, by="desk")
        await uow.commit()


async def test_package_sales_show_seller_collected_outstanding_and_refunds(make_uow, clock):
    await _november_sales(make_uow, clock)
    async with make_uow() as uow:
        report = await reports.package_sales(uow, date(2026, 11, 1), date(2026, 11, 30))
    assert _sales(report) == [
        (date(2026, 11, 2), "Sofía Ramírez", "Physio 5-pack", D("400.00"), "Front desk",
         D("150.00"), D("250.00"), D("0.00")),
        # refunded: the two unpaid installments were voided, 100.00 went to credit
        (date(2026, 11, 30), "Maya Chen", "Massage 10-pack", D("990.00"), "unassigned",
         D("330.00"), D("0.00"), D("100.00")),
    ]
    assert (report.total_price, report.total_collected, report.total_outstanding,
            report.total_refunded) == (D("1390.00"), D("480.00"), D("250.00"), D("100.00"))
    assert report.rows[0].sold_by_staff_id is not None and report.rows[1].sold_by_staff_id is None


async def test_imported_purchases_are_sales_on_their_purchase_date(make_uow):
    async with make_uow() as uow:
        report = await reports.package_sales(uow, date(2026, 9, 1), date(2026, 10, 31))
        only_october = await reports.package_sales(uow, date(2026, 10, 1), date(2026, 10, 1))
        nothing = await reports.package_sales(uow, date(2026, 10, 2), date(2026, 10, 31))
    assert _sales(report) == [
        (date(2026, 9, 15), "Leo Chen", "Massage 10-pack", D("990.00"), "unassigned",
         D("330.00"), D("660.00"), D("0.00")),
        (date(2026, 10, 1), "Maya Chen", "Physio 5-pack", D("400.00"), "unassigned",
         D("400.00"), D("0.00"), D("0.00")),
    ]
    assert (report.total_price, report.total_collected, report.total_outstanding) == (
        D("1390.00"), D("730.00"), D("660.00")
    )
    assert [r.package_name for r in only_october.rows] == ["Physio 5-pack"]
    assert nothing.rows == [] and nothing.total_price == D("0.00")


async def test_a_range_that_ends_before_it_starts_is_refused(make_uow):
    async with make_uow() as uow:
        with pytest.raises(InvalidInput, match="swap --from and --to"):
            await reports.package_sales(uow, date(2026, 11, 2), date(2026, 11, 1))
        with pytest.raises(InvalidInput):
            await reports.package_usage(uow, date(2026, 11, 2), date(2026, 11, 1))


# --- package usage -----------------------------------------------------------------------


async def _held(
    uow, patient_key: str, starts_at: datetime, *, fee: str = "physio-follow",
    practitioner: str = "ana", location: str = "downtown", package_id: int | None = None,
) -> Appointment:
    """A session row as it stands once held (any time, even late at night), its use reserved.

    Written directly: these tests are about what the report counts, not about booking rules.
    """
    fee_row = await uow.session.scalar(select(Fee).where(Fee.key == fee))
    who = await uow.session.scalar(select(Practitioner).where(Practitioner.key == practitioner))
    where = await uow.session.scalar(select(Location).where(Location.key == location))
    appointment = Appointment(
        patient_id=(await patient(uow, patient_key)).id, practitioner_id=who.id,
        location_id=where.id, fee_id=fee_row.id, starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=fee_row.minutes), status="booked",
        booked_by="staff", created_at=uow.clock.now(),
    )
    uow.session.add(appointment)
    await uow.session.flush()
    if package_id is not None:
        await packages.reserve_use(uow, await packages.get_package(uow, package_id), appointment)
    return appointment


async def _arrive(uow, appointment: Appointment) -> None:
    await packages.redeem_use(uow, appointment, "arrival")
    appointment.status = "arrived"
    appointment.arrived_at = uow.clock.now()


async def _no_show(uow, appointment: Appointment, choice: str, fee: str | None = None) -> None:
    raised = await noshows.mark_no_show(uow, appointment.id, by="desk")
    await noshows.resolve(uow, raised.id, choice, no_show_fee_key=fee, by="desk")


async def _sessions(make_uow, clock) -> None:
    """Sessions from late October to early December, with their package uses."""
    clock.set(datetime(2026, 12, 5, 17, 0, tzinfo=UTC))
    async with make_uow() as uow:
        desk = await uow.session.scalar(select(Staff).where(Staff.key == "desk"))
        sofia = await patient(uow, "sofia")
        sold = await packages.sell_package(
            uow, sofia.id, "physio-5", sold_by_staff_id=desk.id, purchased_on=date(2026, 11, 1)
        )
        await billing.record_payment(uow, (await _invoice_of(uow, sold.id)).id, D("400"))
        physio = (await package_of(uow, "maya")).id
        massage = (await package_of(uow, "leo")).id
        # 23:30 on Oct 31 in Toronto is already Nov 1 in UTC: it belongs to October.
        await _arrive(uow, await _held(uow, "maya", local(2026, 10, 31, 23, 30), package_id=physio))
        await _arrive(uow, await _held(uow, "maya", local(2026, 11, 3, 10), package_id=physio))
        await _no_show(uow, await _held(uow, "maya", local(2026, 11, 4, 10), package_id=physio),
                       "redeem")
        await _arrive(uow, await _held(uow, "sofia", local(2026, 11, 5, 10), package_id=sold.id))
        await _no_show(uow, await _held(uow, "leo", local(2026, 11, 6, 9), package_id=massage,
                                       **LEO), "fee", "missed")
        await _arrive(uow, await _held(uow, "leo", local(2026, 11, 9, 9), package_id=massage,
                                      **LEO))
        # 23:00 on Nov 30 in Toronto is Dec 1 in UTC: it belongs to November.
        await _arrive(uow, await _held(uow, "leo", local(2026, 11, 30, 23), package_id=massage,
                                      **LEO))
        await _arrive(uow, await _held(uow, "leo", local(2026, 12, 1, 9), package_id=massage,
                                      **LEO))
        # Not a package no-show: sofia without a package, charged the late-cancel fee.
        await _no_show(uow, await _held(uow, "sofia", local(2026, 11, 10, 11)), "fee",
                       "late-cancel")
        await uow.commit()


def _usage(report: reports.PackageUsage) -> list[tuple]:
    return [
        (r.period, r.package_name, r.practitioner, r.sold_by, r.credited_at_redemption,
         r.at_sessions, r.at_no_shows, r.uses)
        for r in report.rows
    ]


async def test_usage_per_month_package_practitioner_and_seller(make_uow, clock):
    await _sessions(make_uow, clock)
    async with make_uow() as uow:
        report = await reports.package_usage(uow, date(2026, 11, 1), date(2026, 11, 30))
        imported = await uow.session.scalar(
            select(PackageRedemption.redeemed_at).where(PackageRedemption.kind == "imported")
        )
    assert imported.date() == date(2026, 11, 2)  # inside the range, yet not usage
    assert _usage(report) == [
        ("2026-11", "Massage 10-pack", "Ben Okafor", "unassigned", True, 2, 0, 2),
        ("2026-11", "Physio 5-pack", "Ana Silva", "Front desk", False, 1, 0, 1),
        ("2026-11", "Physio 5-pack", "Ana Silva", "unassigned", True, 1, 1, 2),
    ]
    assert [(p.practitioner, p.uses, p.credited) for p in report.practitioners] == [
        ("Ana Silva", 3, 2), ("Ben Okafor", 2, 2)
    ]
    assert [(n.period, n.redeemed, n.charged, n.charged_amount) for n in report.no_shows] == [
        ("2026-11", 1, 1, D("45.00"))
    ]
    assert report.total_uses == 5


async def test_usage_over_several_months_is_split_by_month(make_uow, clock):
    await _sessions(make_uow, clock)
    async with make_uow() as uow:
        report = await reports.package_usage(uow, date(2026, 10, 1), date(2026, 12, 31))
        october = await reports.package_usage(uow, date(2026, 10, 31), date(2026, 10, 31))
    assert _usage(report)[0] == (
        "2026-10", "Physio 5-pack", "Ana Silva", "unassigned", True, 1, 0, 1
    )
    assert _usage(report)[-1] == (
        "2026-12", "Massage 10-pack", "Ben Okafor", "unassigned", True, 1, 0, 1
    )
    assert len(report.rows) == 5 and report.total_uses == 7
    assert [(p.practitioner, p.uses) for p in report.practitioners] == [
        ("Ana Silva", 4), ("Ben Okafor", 3)
    ]
    assert _usage(october) == [
        ("2026-10", "Physio 5-pack", "Ana Silva", "unassigned", True, 1, 0, 1)
    ]
    assert october.no_shows == []


async def test_an_undone_no_show_leaves_the_report(make_uow, clock):
    await _sessions(make_uow, clock)
    async with make_uow() as uow:
        resolved = await uow.session.scalars(select(NoShow).where(NoShow.resolution.is_not(None)))
        for no_show in resolved.all():
            await noshows.undo(uow, no_show.id, by="desk")
        await uow.commit()
    async with make_uow() as uow:
        report = await reports.package_usage(uow, date(2026, 11, 1), date(2026, 11, 30))
    assert report.no_shows == [] and report.total_uses == 4


# --- unpaid invoices ---------------------------------------------------------------------


async def _part_pay_leos_second_installment(make_uow) -> dict[str, int]:
    async with make_uow() as uow:
        massage = await package_of(uow, "leo")
        second = await _invoice_of(uow, massage.id, 2)
        third = await _invoice_of(uow, massage.id, 3)
        await billing.record_payment(uow, second.id, D("30.00"))
        sofia = await patient(uow, "sofia")
        membership = await uow.session.scalar(
            select(Invoice).where(Invoice.patient_id == sofia.id, Invoice.status == "open")
        )
        void = await billing.create_invoice(
            uow, patient_id=sofia.id, kind="session", description="voided",
            amount=D("10.00"), issued_on=date(2026, 10, 1),
        )
        await billing.void_invoice(uow, void)
        await uow.commit()
        return {"second": second.id, "third": third.id, "membership": membership.id,
                "leo": massage.patient_id, "sofia": sofia.id}


def _unpaid(report: reports.Unpaid) -> list[tuple]:
    return [
        (r.invoice_id, r.patient_name, r.kind, r.due_on, r.days_overdue, r.amount, r.paid,
         r.outstanding)
        for r in report.rows
    ]


async def test_unpaid_lists_open_invoices_due_by_today_with_days_overdue(make_uow):
    ids = await _part_pay_leos_second_installment(make_uow)
    async with make_uow() as uow:
        report = await reports.unpaid(uow)  # today: 2026-11-02 in Toronto
    assert report.as_of == date(2026, 11, 2)
    assert _unpaid(report) == [
        (ids["second"], "Leo Chen", "installment", date(2026, 10, 15), 18, D("330.00"),
         D("30.00"), D("300.00")),
        (ids["membership"], "Sofía Ramírez", "membership", date(2026, 11, 1), 1, D("49.00"),
         D("0.00"), D("49.00")),
    ]
    assert report.total_outstanding == D("349.00")


async def test_unpaid_up_to_a_later_day_and_from_a_day(make_uow):
    ids = await _part_pay_leos_second_installment(make_uow)
    async with make_uow() as uow:
        later = await reports.unpaid(uow, date(2026, 11, 15))
        window = await reports.unpaid(uow, date(2026, 11, 15), date_from=date(2026, 11, 1))
    assert [(r.invoice_id, r.days_overdue) for r in later.rows] == [
        (ids["second"], 31), (ids["membership"], 14), (ids["third"], 0)
    ]
    assert later.total_outstanding == D("679.00")
    assert [r.invoice_id for r in window.rows] == [ids["membership"], ids["third"]]
    assert window.total_outstanding == D("379.00")


async def test_the_unpaid_overview_is_the_report_in_brief(make_uow):
    """The console's page: the first rows, and the count, total and outstanding per due day of
    all of them, summed by the database (the same figures as the whole report)."""
    await _part_pay_leos_second_installment(make_uow)
    async with make_uow() as uow:
        for date_from in (None, date(2026, 11, 1)):
            whole = await reports.unpaid(uow, date(2026, 11, 15), date_from=date_from)
            for shown in (1, 2, 5):  # the page's rows are the report's first, in its order
                brief = await reports.unpaid_overview(
                    uow, date(2026, 11, 15), date_from=date_from, rows=shown)
                assert brief.as_of == whole.as_of and brief.rows == whole.rows[:shown]
            assert brief.count == len(whole.rows) == (3 if date_from is None else 2)
            assert brief.total_outstanding == whole.total_outstanding
            per_day: dict[date, Decimal] = {}
            for row in whole.rows:
                per_day[row.due_on] = per_day.get(row.due_on, D("0")) + row.outstanding
            assert brief.by_due_on == sorted(per_day.items())
        none = await reports.unpaid_overview(uow, date(2026, 9, 1), rows=1)
        assert (none.rows, none.count, none.total_outstanding, none.by_due_on) == (
            [], 0, D("0.00"), [])
        with pytest.raises(InvalidInput, match="swap"):
            await reports.unpaid_overview(uow, date(2026, 9, 1), date_from=date(2026, 10, 1))


async def test_a_paid_invoice_leaves_the_unpaid_list(make_uow):
    ids = await _part_pay_leos_second_installment(make_uow)
    async with make_uow() as uow:
        await billing.record_payment(uow, ids["membership"], D("49.00"))
        await uow.commit()
    async with make_uow() as uow:
        assert [r.invoice_id for r in (await reports.unpaid(uow)).rows] == [ids["second"]]


async def test_unpaid_invoices_as_of_a_day_for_everyone_or_one_patient(make_uow):
    ids = await _part_pay_leos_second_installment(make_uow)
    async with make_uow() as uow:
        everyone = await unpaid_invoices(uow, date(2026, 11, 2))
        leos = await unpaid_invoices(uow, date(2026, 11, 30), patient_id=ids["leo"])
        before = await unpaid_invoices(uow, date(2026, 10, 14))
        assert [i.id for i in everyone] == [ids["second"], ids["membership"]]
        assert [i.id for i in leos] == [ids["second"], ids["third"]]
        assert before == []


# --- a fixed number of queries, whatever the number of rows ------------------------------


async def _statements(engine, make_uow, date_from: date, date_to: date) -> tuple[int, ...]:
    seen: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        counts = []
        async with make_uow() as uow:
            await reports.get_clinic(uow)  # the clinic row is read once per unit of work
            for run in (
                reports.package_sales(uow, date_from, date_to),
                reports.package_usage(uow, date_from, date_to),
                reports.unpaid(uow, date_to, date_from=date_from),
            ):
                before = len(seen)
                rows = await run
                counts.append(len(seen) - before)
                assert rows.rows, "the range must have rows for this test to mean anything"
        return tuple(counts)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_reports_run_the_same_queries_for_few_or_many_rows(engine, make_uow, clock):
    await _sessions(make_uow, clock)
    few = await _statements(engine, make_uow, date(2026, 10, 1), date(2026, 10, 31))
    async with make_uow() as uow:
        sofia = await patient(uow, "sofia")
        for day in range(1, 21):  # twenty more sales, sessions would be alike
            await packages.sell_package(
                uow, sofia.id, "physio-5", purchased_on=date(2026, 9, 1) + timedelta(days=day)
            )
        await uow.commit()
    many = await _statements(engine, make_uow, date(2026, 9, 1), date(2026, 12, 31))
    assert few == many
