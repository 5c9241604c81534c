"""The clinic's reports (RULES.md 12, 15, 22): package sales, package usage, unpaid invoices.

Pure queries: each returns typed rows (and totals) for a range of the clinic's local dates,
``date_from`` to ``date_to`` inclusive; money is ``Decimal``. Each report is a fixed number of
queries whatever the number of rows (aggregates are grouped in the database or from one joined
read).

* **Package sales**: packages whose purchase date is in the range. A transfer to a family member
  (RULES.md 10) is not a sale and is left out. ``collected`` and ``outstanding`` come from the
  package's own invoices (the price, or its installments), not from session or no-show charges.
* **Package usage**: uses redeemed at sessions held in the range (by the session's local date),
  per month, package, practitioner and seller. A sale assigned to a staff member paid them at
  sale; an unassigned sale credits the practitioner at redemption (``credited_at_redemption``,
  RULES.md 12). Uses recorded as redeemed *before* an import have no session, date or
  practitioner, so they are not usage in any range and are left out (a package's details still
  count them). No-shows of package appointments are counted per month: redeemed vs charged a fee.
* **Unpaid**: open invoices of any kind due on or before ``date_to`` (default: today).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, case, func, select, type_coerce
from sqlalchemy.orm import aliased

from bot.services.billing import PRICE_KINDS, ZERO
from bot.services.clinic import get_clinic, local_midnight_utc, local_today, zone
from bot.services.errors import InvalidInput
from bot.storage.models import (
    Appointment,
    Invoice,
    NoShow,
    PackageRedemption,
    Patient,
    PatientPackage,
    Payment,
    Practitioner,
    Staff,
)
from bot.storage.types import Money
from bot.storage.uow import UnitOfWork

UNASSIGNED = "unassigned"


def _money(expr: Any) -> ColumnElement[Decimal]:
    """A money aggregate (cents in SQL) read back as Decimal, 0 when there is nothing."""
    return type_coerce(func.coalesce(expr, 0), Money)


def check_range(date_from: date, date_to: date) -> None:
    """Refuse a range that ends before it starts (every report takes the same words)."""
    if date_from > date_to:
        raise InvalidInput(
            f"the report starts ({date_from.isoformat()}) after it ends "
            f"({date_to.isoformat()}); swap --from and --to"
        )


@dataclass(frozen=True)
class PackageSaleRow:
    """One package sold: when, to whom, by whom, and what it has brought in so far."""

    package_id: int
    sold_on: date
    patient_id: int
    patient_name: str
    package_name: str
    price: Decimal
    sold_by: str
    sold_by_staff_id: int | None
    collected: Decimal
    outstanding: Decimal
    refunded: Decimal


@dataclass(frozen=True)
class PackageSales:
    """The package-sales report with its totals."""

    date_from: date
    date_to: date
    rows: list[PackageSaleRow]
    total_price: Decimal
    total_collected: Decimal
    total_outstanding: Decimal
    total_refunded: Decimal


async def package_sales(uow: UnitOfWork, date_from: date, date_to: date) -> PackageSales:
    """Packages sold in the range, oldest first, with what was collected and is still owed."""
    check_range(date_from, date_to)
    # Per sold package (correlated, by the invoice's package index): summing every package's
    # invoices first would read all of them whatever the range.
    collected = (
        select(func.sum(Payment.amount))
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .where(Invoice.package_id == PatientPackage.id, Invoice.kind.in_(PRICE_KINDS))
        .correlate(PatientPackage)
        .scalar_subquery()
    )
    owed = (  # open ones only, but found by the package (not by the status index)
        select(func.sum(case((Invoice.status == "open", Invoice.amount - Invoice.paid),
                             else_=0)))
        .where(Invoice.package_id == PatientPackage.id, Invoice.kind.in_(PRICE_KINDS))
        .correlate(PatientPackage)
        .scalar_subquery()
    )
    rows = await uow.session.execute(
        select(
            PatientPackage.id,
            PatientPackage.purchased_on,
            PatientPackage.patient_id,
            Patient.first_name,
            Patient.last_name,
            PatientPackage.name,
            PatientPackage.price,
            PatientPackage.sold_by_staff_id,
            Staff.name,
            _money(collected),
            _money(owed),
            _money(PatientPackage.refund_amount),
        )
        .join(Patient, Patient.id == PatientPackage.patient_id)
        .outerjoin(Staff, Staff.id == PatientPackage.sold_by_staff_id)
        .where(
            PatientPackage.purchased_on >= date_from,
            PatientPackage.purchased_on <= date_to,
            PatientPackage.transferred_from_id.is_(None),
        )
        .order_by(PatientPackage.purchased_on, PatientPackage.id)
    )
    sales = [
        PackageSaleRow(
            package_id=pid,
            sold_on=sold_on,
            patient_id=patient_id,
            patient_name=f"{first} {last}",
            package_name=name,
            price=price,
            sold_by=staff_name or UNASSIGNED,
            sold_by_staff_id=staff_id,
            collected=paid,
            outstanding=due,
            refunded=refunded,
        )
        for pid, sold_on, patient_id, first, last, name, price, staff_id, staff_name, paid, due,
        refunded in rows.tuples()
    ]
    return PackageSales(
        date_from=date_from,
        date_to=date_to,
        rows=sales,
        total_price=sum((row.price for row in sales), ZERO),
        total_collected=sum((row.collected for row in sales), ZERO),
        total_outstanding=sum((row.outstanding for row in sales), ZERO),
        total_refunded=sum((row.refunded for row in sales), ZERO),
    )


@dataclass
class UsageRow:
    """Uses redeemed in one month for one package, practitioner and seller."""

    period: str
    package_name: str
    practitioner_id: int | None
    practitioner: str
    sold_by: str
    sold_by_staff_id: int | None
    credited_at_redemption: bool
    at_sessions: int = 0
    at_no_shows: int = 0

    @property
    def uses(self) -> int:
        return self.at_sessions + self.at_no_shows


@dataclass
class PractitionerUsage:
    """A practitioner's redeemed uses in the range; ``credited``: from unassigned sales."""

    practitioner_id: int | None
    practitioner: str
    uses: int = 0
    credited: int = 0


@dataclass
class NoShowRow:
    """Package no-shows in one month: uses redeemed vs no-show fees charged (and their sum)."""

    period: str
    redeemed: int = 0
    charged: int = 0
    charged_amount: Decimal = ZERO


@dataclass(frozen=True)
class PackageUsage:
    """The package-usage report."""

    date_from: date
    date_to: date
    rows: list[UsageRow]
    practitioners: list[PractitionerUsage]
    no_shows: list[NoShowRow]
    total_uses: int = field(default=0)


async def package_usage(uow: UnitOfWork, date_from: date, date_to: date) -> PackageUsage:
    """Uses redeemed at sessions in the range, and package no-shows redeemed vs charged."""
    check_range(date_from, date_to)
    clinic = await get_clinic(uow)
    tz = zone(clinic)
    start = local_midnight_utc(clinic, date_from)
    end = local_midnight_utc(clinic, date_to + timedelta(days=1))
    in_range = (Appointment.starts_at >= start, Appointment.starts_at < end)
    practitioner_id = func.coalesce(PackageRedemption.practitioner_id, Appointment.practitioner_id)
    redemptions = await uow.session.execute(
        select(
            Appointment.starts_at,
            PackageRedemption.kind,
            PatientPackage.name,
            practitioner_id,
            Practitioner.name,
            PatientPackage.sold_by_staff_id,
            Staff.name,
        )
        .join(Appointment, Appointment.id == PackageRedemption.appointment_id)
        .join(PatientPackage, PatientPackage.id == PackageRedemption.package_id)
        .outerjoin(Practitioner, Practitioner.id == practitioner_id)
        .outerjoin(Staff, Staff.id == PatientPackage.sold_by_staff_id)
        .where(PackageRedemption.kind != "imported", *in_range)
    )
    rows: dict[tuple[str, str, int | None, int | None], UsageRow] = {}
    people: dict[int | None, PractitionerUsage] = {}
    for starts_at, kind, package, pid, pname, staff_id, staff_name in redemptions.tuples():
        period = starts_at.astimezone(tz).strftime("%Y-%m")
        row = rows.setdefault(
            (period, package, pid, staff_id),
            UsageRow(
                period=period,
                package_name=package,
                practitioner_id=pid,
                practitioner=pname or "",
                sold_by=staff_name or UNASSIGNED,
                sold_by_staff_id=staff_id,
                credited_at_redemption=staff_id is None,
            ),
        )
        if kind == "no_show":
            row.at_no_shows += 1
        else:
            row.at_sessions += 1
        person = people.setdefault(pid, PractitionerUsage(pid, pname or ""))
        person.uses += 1
        person.credited += staff_id is None
    return PackageUsage(
        date_from=date_from,
        date_to=date_to,
        rows=sorted(
            rows.values(),
            key=lambda r: (r.period, r.package_name, r.practitioner, r.sold_by),
        ),
        practitioners=sorted(
            people.values(), key=lambda p: (p.practitioner, p.practitioner_id or 0)
        ),
        no_shows=await _package_no_shows(uow, tz, in_range),
        total_uses=sum(row.uses for row in rows.values()),
    )


async def _package_no_shows(
    uow: UnitOfWork, tz: ZoneInfo, in_range: tuple[ColumnElement[bool], ...]
) -> list[NoShowRow]:
    # A fee keeps the use and unlinks the package from the appointment, but the fee invoice
    # keeps the package's id: that is how a charged no-show is known to be a package one.
    resolved = await uow.session.execute(
        select(Appointment.starts_at, NoShow.resolution, Invoice.amount, Invoice.package_id)
        .join(Appointment, Appointment.id == NoShow.appointment_id)
        .outerjoin(Invoice, Invoice.id == NoShow.invoice_id)
        .where(NoShow.resolution.in_(("redeemed", "fee")), *in_range)
    )
    periods: dict[str, NoShowRow] = defaultdict(lambda: NoShowRow(period=""))
    for starts_at, resolution, amount, package_id in resolved.tuples():
        period = starts_at.astimezone(tz).strftime("%Y-%m")
        row = periods[period]
        row.period = period
        if resolution == "redeemed":
            row.redeemed += 1
        elif package_id is not None:
            row.charged += 1
            row.charged_amount += amount or ZERO
    return [periods[key] for key in sorted(periods) if periods[key].redeemed + periods[key].charged]


@dataclass(frozen=True)
class UnpaidRow:
    """An open invoice due by the report's day."""

    invoice_id: int
    patient_id: int
    patient_name: str
    kind: str
    description: str
    issued_on: date
    due_on: date
    days_overdue: int
    amount: Decimal
    paid: Decimal
    outstanding: Decimal


@dataclass(frozen=True)
class Unpaid:
    """The unpaid-invoices report as of ``as_of``."""

    as_of: date
    rows: list[UnpaidRow]
    total_outstanding: Decimal


@dataclass(frozen=True)
class UnpaidOverview:
    """The unpaid-invoices report in brief (the console's Reports page): its first ``rows``, how
    many there are in all, their total and the outstanding per due day (for the overdue
    buckets), however many invoices are open."""

    as_of: date
    rows: list[UnpaidRow]
    count: int
    total_outstanding: Decimal
    by_due_on: list[tuple[date, Decimal]]


def _open_between(date_to: date, date_from: date | None) -> list[ColumnElement[bool]]:
    """Open invoices due on ``date_from`` (if given) to ``date_to``."""
    where = [Invoice.status == "open", Invoice.due_on <= date_to]
    return where if date_from is None else [*where, Invoice.due_on >= date_from]


def _open_due(date_to: date, date_from: date | None) -> Select[Any]:
    """Open invoices due on ``date_from`` (if given) to ``date_to``, with their patient's name."""
    return (
        select(Invoice, Patient.first_name, Patient.last_name)
        .join(Patient, Patient.id == Invoice.patient_id)
        .where(*_open_between(date_to, date_from))
    )


async def _unpaid_rows(uow: UnitOfWork, stmt: Select[Any], date_to: date) -> list[UnpaidRow]:
    return [
        UnpaidRow(
            invoice_id=invoice.id,
            patient_id=invoice.patient_id,
            patient_name=f"{first} {last}",
            kind=invoice.kind,
            description=invoice.description,
            issued_on=invoice.issued_on,
            due_on=invoice.due_on,
            days_overdue=(date_to - invoice.due_on).days,
            amount=invoice.amount,
            paid=invoice.paid,
            outstanding=invoice.outstanding,
        )
        for invoice, first, last in (await uow.session.execute(stmt)).tuples()
    ]


async def _as_of(uow: UnitOfWork, date_to: date | None, date_from: date | None) -> date:
    if date_to is None:
        date_to = local_today(await get_clinic(uow), uow.clock.now())
    if date_from is not None:
        check_range(date_from, date_to)
    return date_to


async def unpaid(
    uow: UnitOfWork, date_to: date | None = None, *, date_from: date | None = None
) -> Unpaid:
    """Open invoices due on or before ``date_to`` (default: the clinic's today), most overdue
    first; ``date_from`` leaves out those due before it."""
    date_to = await _as_of(uow, date_to, date_from)
    stmt = _open_due(date_to, date_from).order_by(Invoice.due_on, Invoice.id)
    rows = await _unpaid_rows(uow, stmt, date_to)
    return Unpaid(
        as_of=date_to,
        rows=rows,
        total_outstanding=sum((row.outstanding for row in rows), ZERO),
    )


async def unpaid_overview(
    uow: UnitOfWork, date_to: date | None = None, *, date_from: date | None = None,
    rows: int = 100,
) -> UnpaidOverview:
    """:func:`unpaid` in brief: its first ``rows`` rows, and the count and outstanding of all of
    them summed by the database per due day (two statements, a page's worth of rows)."""
    date_to = await _as_of(uow, date_to, date_from)
    # The page's rows first, then their patients' names (joined before the limit, every
    # invoice of the first due day was looked up); the sums need no names at all.
    page = aliased(Invoice, select(Invoice).where(*_open_between(date_to, date_from))
                   .order_by(Invoice.due_on, Invoice.id).limit(rows).subquery())
    first = await _unpaid_rows(
        uow, select(page, Patient.first_name, Patient.last_name)
        .join(Patient, Patient.id == page.patient_id).order_by(page.due_on, page.id), date_to)
    per_day = (
        select(Invoice.due_on, func.count(), _money(func.sum(Invoice.amount - Invoice.paid)))
        .where(*_open_between(date_to, date_from))
        .group_by(Invoice.due_on).order_by(Invoice.due_on)
    )
    days = (await uow.session.execute(per_day)).tuples().all()
    return UnpaidOverview(
        as_of=date_to, rows=first, count=sum(count for _, count, _ in days),
        total_outstanding=sum((amount for _, _, amount in days), ZERO),
        by_due_on=[(day, amount) for day, _, amount in days])
