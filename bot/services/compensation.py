"""Staff compensation both ways (RULES.md 12): what each person sold (paid at sale) and the uses
of unassigned sales they redeemed (credited at redemption), for a range of clinic dates.

* **At sale**: packages whose purchase date is in the range and that were assigned to a staff
  member, counted with their prices. Transfers to family are not sales (as in
  :func:`bot.services.reports.package_sales`).
* **At redemption**: uses redeemed at sessions (and redeemed no-shows) held in the range, of
  packages sold unassigned, counted for the practitioner who saw the patient (as in
  :func:`bot.services.reports.package_usage`; imported uses have no session and are left out).

A staff member who is also a practitioner (``staff.practitioner_id``) is one row with both
figures. Four queries whatever the number of sales or uses: the two grouped counts, and the
staff and practitioners (the clinic's own lists) for the names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, func, select, type_coerce

from bot.services.billing import ZERO
from bot.services.clinic import get_clinic, local_midnight_utc
from bot.services.reports import check_range
from bot.storage.models import Appointment, PackageRedemption, PatientPackage, Practitioner, Staff
from bot.storage.types import Money
from bot.storage.uow import UnitOfWork


def _money(expr: Any) -> ColumnElement[Decimal]:
    """A money sum (cents in SQL) read back as Decimal, 0 when there is nothing."""
    return type_coerce(func.coalesce(expr, 0), Money)


@dataclass
class CompensationRow:
    """One person: packages assigned to them at sale, and uses credited to them at redemption."""

    name: str
    staff_id: int | None
    practitioner_id: int | None
    sales: int = 0
    sales_amount: Decimal = ZERO
    credited_uses: int = 0
    credited_no_shows: int = 0


@dataclass(frozen=True)
class Compensation:
    """The compensation report; ``unassigned_*``: sales nobody was paid for at sale."""

    date_from: date
    date_to: date
    rows: list[CompensationRow]
    unassigned_sales: int
    unassigned_amount: Decimal

    @property
    def total_sales(self) -> int:
        return sum(row.sales for row in self.rows)

    @property
    def total_sales_amount(self) -> Decimal:
        return sum((row.sales_amount for row in self.rows), ZERO)

    @property
    def total_credited_uses(self) -> int:
        return sum(row.credited_uses for row in self.rows)


async def compensation(uow: UnitOfWork, date_from: date, date_to: date) -> Compensation:
    """Per person, the range's sales assigned to them and uses credited to them, by name."""
    check_range(date_from, date_to)
    clinic = await get_clinic(uow)
    sold = await uow.session.execute(
        select(PatientPackage.sold_by_staff_id, func.count(),
               _money(func.sum(PatientPackage.price)))
        .where(
            PatientPackage.purchased_on >= date_from,
            PatientPackage.purchased_on <= date_to,
            PatientPackage.transferred_from_id.is_(None),
        )
        .group_by(PatientPackage.sold_by_staff_id)
    )
    practitioner_id = func.coalesce(PackageRedemption.practitioner_id, Appointment.practitioner_id)
    credited = await uow.session.execute(
        select(practitioner_id, func.count(),
               func.sum(case((PackageRedemption.kind == "no_show", 1), else_=0)))
        .join(Appointment, Appointment.id == PackageRedemption.appointment_id)
        .join(PatientPackage, PatientPackage.id == PackageRedemption.package_id)
        .where(
            PackageRedemption.kind != "imported",
            PatientPackage.sold_by_staff_id.is_(None),
            Appointment.starts_at >= local_midnight_utc(clinic, date_from),
            Appointment.starts_at < local_midnight_utc(clinic, date_to + timedelta(days=1)),
        )
        .group_by(practitioner_id)
    )
    staff = (await uow.session.execute(
        select(Staff.id, Staff.name, Staff.practitioner_id))).tuples().all()
    names = dict((await uow.session.execute(
        select(Practitioner.id, Practitioner.name))).tuples().all())
    as_staff = {pid: (sid, name) for sid, name, pid in staff if pid is not None}
    people: dict[tuple[int | None, int | None], CompensationRow] = {}

    def person(staff_id: int | None, pid: int | None, name: str) -> CompensationRow:
        return people.setdefault((staff_id, pid), CompensationRow(name, staff_id, pid))

    staff_names = {sid: (name, pid) for sid, name, pid in staff}
    unassigned, unassigned_amount = 0, ZERO
    for staff_id, count, amount in sold.tuples():
        if staff_id is None:
            unassigned, unassigned_amount = count, amount
            continue
        name, pid = staff_names.get(staff_id, ("", None))
        row = person(staff_id, pid, name)
        row.sales, row.sales_amount = count, amount
    for pid, count, no_shows in credited.tuples():
        sid, name = as_staff.get(pid, (None, names.get(pid, "")))
        row = person(sid, pid, name)
        row.credited_uses, row.credited_no_shows = count, int(no_shows or 0)
    return Compensation(
        date_from=date_from,
        date_to=date_to,
        rows=sorted(people.values(),
                    key=lambda r: (r.name, r.staff_id or 0, r.practitioner_id or 0)),
        unassigned_sales=unassigned,
        unassigned_amount=unassigned_amount,
    )
