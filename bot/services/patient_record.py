"""One patient's file as the desk reads it (the console's profile page), in a few queries.

:func:`patient_record` loads what ``/desk/patients/{id}`` shows: contact, language, opt-out,
channels, guardians and wards, upcoming and recent appointments, packages
(:func:`bot.services.package_views.packages_for`), memberships
(:func:`bot.services.invoices.memberships_for`), open invoices with days overdue, and the
credit ledger. A merged-away profile is answered with the profile it was merged into.
:func:`unpaid_page` is the ``/desk/unpaid`` list: every open invoice, oldest due first, 50 a
page, walked by a keyset on ``(due_on, id)`` (the ``ix_invoice_status_due`` index), so a page
costs the same at any depth.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import and_, or_, select

from bot.services import credit
from bot.services.clinic import get_clinic, local_today
from bot.services.errors import NotFound
from bot.services.identity import clinic_region, normalise_phone
from bot.services.invoices import MembershipState, memberships_for
from bot.services.lookup import as_id, find_patient
from bot.services.package_views import PackageDetails, packages_for
from bot.storage.models import (
    Appointment,
    CreditEntry,
    Fee,
    Invoice,
    MembershipPlan,
    Patient,
    Practitioner,
    guardianship,
)
from bot.storage.uow import UnitOfWork

UPCOMING_LIMIT = 50
PAST_LIMIT = 5
PAGE_SIZE = 50
LINK = guardianship.c


@dataclass(frozen=True)
class Relative:
    """A guardian or ward: who, and who made the link (``file`` or ``desk``)."""

    id: int
    name: str
    source: str


@dataclass(frozen=True)
class Visit:
    """An appointment as the profile lists it."""

    id: int
    starts_at: datetime
    status: str
    fee: str
    practitioner: str
    package_id: int | None


@dataclass(frozen=True)
class OpenInvoice:
    """An invoice still owed: what is left and how many days past its due day (0: not yet)."""

    id: int
    kind: str
    description: str
    amount: Decimal
    paid: Decimal
    outstanding: Decimal
    due_on: date
    days_overdue: int


@dataclass(frozen=True)
class PatientRecord:
    """Everything the profile page shows. ``merged_into``: set (and nothing else loaded)
    when the profile was merged into another one."""

    patient: Patient
    merged_into: Patient | None
    guardians: list[Relative]
    wards: list[Relative]
    upcoming: list[Visit]
    past: list[Visit]
    packages: list[PackageDetails]
    memberships: list[MembershipState]
    invoices: list[OpenInvoice]
    credit: Decimal
    credit_entries: list[CreditEntry]
    plans: list[MembershipPlan]
    today: date


async def patient_record(uow: UnitOfWork, patient_id: int) -> PatientRecord:
    """The profile of ``patient_id`` (NotFound when there is no such patient)."""
    patient = await uow.session.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"there is no patient {patient_id}")
    today = local_today(await get_clinic(uow), uow.clock.now())
    if patient.merged_into_id is not None:
        kept = await _surviving(uow, patient)
        return PatientRecord(patient, kept, [], [], [], [], [], [], [], Decimal("0.00"), [], [],
                             today)
    guardians, wards = await _relatives(uow, patient.id)
    upcoming, past = await _visits(uow, patient.id)
    owed = (await uow.session.scalars(
        select(Invoice).where(Invoice.patient_id == patient.id, Invoice.status == "open")
        .order_by(Invoice.due_on, Invoice.id))).all()
    plans = (await uow.session.scalars(select(MembershipPlan).order_by(MembershipPlan.name))).all()
    return PatientRecord(
        patient=patient, merged_into=None, guardians=guardians, wards=wards,
        upcoming=upcoming, past=past,
        packages=await packages_for(uow, patient.id),
        memberships=await memberships_for(uow, patient.id, today),
        invoices=[_open(invoice, today) for invoice in owed],
        credit=await credit.balance(uow, patient.id),
        credit_entries=await credit.entries(uow, patient.id),
        plans=list(plans), today=today,
    )


async def _surviving(uow: UnitOfWork, patient: Patient) -> Patient | None:
    """The live profile a merged one ended in (None if the chain is broken)."""
    seen: set[int] = set()
    current: Patient | None = patient
    while current is not None and current.merged_into_id is not None and current.id not in seen:
        seen.add(current.id)
        current = await uow.session.get(Patient, current.merged_into_id)
    return current if current is not None and current.merged_into_id is None else None


async def _relatives(uow: UnitOfWork, patient_id: int) -> tuple[list[Relative], list[Relative]]:
    rows = (await uow.session.execute(
        select(LINK.guardian_id, LINK.ward_id, LINK.source, Patient.id, Patient.first_name,
               Patient.last_name)
        .join(Patient, or_(
            and_(LINK.ward_id == patient_id, Patient.id == LINK.guardian_id),
            and_(LINK.guardian_id == patient_id, Patient.id == LINK.ward_id)))
        .where(or_(LINK.ward_id == patient_id, LINK.guardian_id == patient_id))
        .order_by(Patient.last_name, Patient.first_name, Patient.id))).all()
    guardians = [Relative(r.id, f"{r.first_name} {r.last_name}", r.source)
                 for r in rows if r.ward_id == patient_id]
    wards = [Relative(r.id, f"{r.first_name} {r.last_name}", r.source)
             for r in rows if r.guardian_id == patient_id]
    return guardians, wards


async def _visits(uow: UnitOfWork, patient_id: int) -> tuple[list[Visit], list[Visit]]:
    now = uow.clock.now()
    base = (select(Appointment.id, Appointment.starts_at, Appointment.status, Fee.name,
                   Practitioner.name, Appointment.package_id)
            .join(Fee, Fee.id == Appointment.fee_id)
            .join(Practitioner, Practitioner.id == Appointment.practitioner_id)
            .where(Appointment.patient_id == patient_id))
    ahead = (await uow.session.execute(
        base.where(Appointment.starts_at >= now)
        .order_by(Appointment.starts_at, Appointment.id).limit(UPCOMING_LIMIT))).all()
    behind = (await uow.session.execute(
        base.where(Appointment.starts_at < now)
        .order_by(Appointment.starts_at.desc(), Appointment.id.desc()).limit(PAST_LIMIT))).all()
    return [Visit(*row) for row in ahead], [Visit(*row) for row in behind]


def _open(invoice: Invoice, today: date) -> OpenInvoice:
    return OpenInvoice(invoice.id, invoice.kind, invoice.description, invoice.amount,
                       invoice.paid, invoice.outstanding, invoice.due_on,
                       max(0, (today - invoice.due_on).days))


@dataclass(frozen=True)
class UnpaidRow:
    """One line of the Unpaid page: the invoice and whose it is."""

    invoice: OpenInvoice
    patient_id: int
    patient_name: str


@dataclass(frozen=True)
class UnpaidPage:
    """A page of open invoices, and the keys to the pages around it (None: no such page).
    ``newer`` continues after the last row (later due days); ``older`` goes back before the
    first."""

    rows: list[UnpaidRow]
    older: tuple[date, int] | None
    newer: tuple[date, int] | None


async def unpaid_page(uow: UnitOfWork, *, after: tuple[date, int] | None = None,
                      before: tuple[date, int] | None = None, size: int = PAGE_SIZE
                      ) -> UnpaidPage:
    """Open invoices of every kind, oldest due first: the first page, the page after the
    invoice ``after`` (its due day and id) or the page before ``before``. One query."""
    today = local_today(await get_clinic(uow), uow.clock.now())
    stmt = (select(Invoice, Patient.first_name, Patient.last_name)
            .join(Patient, Patient.id == Invoice.patient_id)
            .where(Invoice.status == "open"))
    backwards = before is not None and after is None
    if after is not None:
        stmt = stmt.where(or_(Invoice.due_on > after[0],
                              and_(Invoice.due_on == after[0], Invoice.id > after[1])))
    elif before is not None:
        stmt = stmt.where(or_(Invoice.due_on < before[0],
                              and_(Invoice.due_on == before[0], Invoice.id < before[1])))
    if backwards:
        stmt = stmt.order_by(Invoice.due_on.desc(), Invoice.id.desc())
    else:
        stmt = stmt.order_by(Invoice.due_on, Invoice.id)
    found = (await uow.session.execute(stmt.limit(size + 1))).all()
    more = len(found) > size
    found = found[:size]
    if backwards:
        found = list(reversed(found))
    rows = [UnpaidRow(_open(invoice, today), invoice.patient_id, f"{first} {last}")
            for invoice, first, last in found]
    if not rows:
        return UnpaidPage(rows, None, None)
    first_key = (rows[0].invoice.due_on, rows[0].invoice.id)
    last_key = (rows[-1].invoice.due_on, rows[-1].invoice.id)
    if backwards:
        return UnpaidPage(rows, first_key if more else None, last_key)
    return UnpaidPage(rows, first_key if after is not None else None,
                      last_key if more else None)


async def find_as_typed(uow: UnitOfWork, text: str) -> Patient:
    """A live patient by what the desk typed: an id, a set-up key, a ``+phone`` or a phone
    in the clinic's national format (``(416) 555-0101``). A merged profile resolves to the
    one kept; NotFound / InvalidInput say what to type."""
    text = text.strip()
    digits = sum(ch.isdigit() for ch in text)
    if not text.startswith("+") and digits >= 7 and (not text.isdecimal() or as_id(text) is None):
        clinic = await get_clinic(uow)
        text = normalise_phone(text, clinic_region(clinic.phone, clinic.locale))
    return await find_patient(uow, text)
