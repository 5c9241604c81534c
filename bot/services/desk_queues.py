"""What waits for the desk, and finding a patient by what the desk types.

The staff console's dashboard (``/desk/``) and the CLI (``clinicbot staff duplicates``) read the
same queues from here: no-shows waiting for a decision (:func:`no_shows_to_decide`), online
registrations that resemble a profile on file (:func:`registrations_to_merge`), unpaid invoices
oldest first with days overdue (:func:`unpaid`), and messages that could not be delivered
(:func:`failed_deliveries`). :func:`search_patients` finds live profiles by id, by phone as
typed (any form the set-up file accepts, read in the clinic's country) or by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from bot.services import accounts, noshows
from bot.services.clinic import get_clinic, local_today
from bot.services.errors import InvalidInput
from bot.services.identity import clinic_region, normalise_phone
from bot.services.lookup import as_id
from bot.storage.models import Appointment, Invoice, OutboxMessage, Patient
from bot.storage.uow import UnitOfWork

QUEUE_LIMIT = 100
SEARCH_LIMIT = 50
BATCH = 500


@dataclass(frozen=True)
class NoShowItem:
    """A no-show to decide: the appointment, who missed it, and why it was raised."""

    no_show_id: int
    appointment_id: int
    starts_at: datetime
    patient_id: int
    patient_name: str
    reason: str


async def no_shows_to_decide(uow: UnitOfWork, limit: int = QUEUE_LIMIT) -> list[NoShowItem]:
    """Open no-shows, oldest first (:func:`bot.services.noshows.open_no_shows`)."""
    items = (await noshows.open_no_shows(uow))[:limit]
    appointments = {a.id: a for a in (await uow.session.scalars(select(Appointment).where(
        Appointment.id.in_([i.appointment_id for i in items])))).all()} if items else {}
    people = await _patients(uow, {a.patient_id for a in appointments.values()})
    return [
        NoShowItem(i.id, i.appointment_id, appointments[i.appointment_id].starts_at,
                   appointments[i.appointment_id].patient_id,
                   people[appointments[i.appointment_id].patient_id].full_name, i.reason)
        for i in items
    ]


@dataclass(frozen=True)
class Registration:
    """An online registration and the live profiles it resembles (same phone, or same name and
    birth date): staff merge it into one or keep it separate."""

    patient: Patient
    resembles: list[Patient]


async def registrations_to_merge(uow: UnitOfWork, limit: int | None = QUEUE_LIMIT
                                 ) -> list[Registration]:
    """Online registrations that resemble a profile, oldest first (``limit=None``: all);
    read :data:`BATCH` registrations at a time, a few queries each batch."""
    found: list[Registration] = []
    after = 0
    while limit is None or len(found) < limit:
        batch = (await uow.session.scalars(
            select(Patient)
            .where(Patient.online_registration.is_(True), Patient.merged_into_id.is_(None),
                   Patient.id > after)
            .order_by(Patient.id).limit(BATCH))).all()
        if not batch:
            break
        similar = await accounts.likely_duplicates_of(uow, batch)
        found += [Registration(p, similar[p.id]) for p in batch if similar[p.id]]
        after = batch[-1].id
    return found if limit is None else found[:limit]


@dataclass(frozen=True)
class UnpaidItem:
    """An open invoice past its due day: what is left to pay and for how many days overdue."""

    invoice_id: int
    kind: str
    description: str
    patient_id: int
    patient_name: str
    outstanding: Decimal
    due_on: date
    days_overdue: int


async def unpaid(uow: UnitOfWork, limit: int = QUEUE_LIMIT) -> list[UnpaidItem]:
    """Open invoices due before today (clinic time), oldest due first."""
    today = local_today(await get_clinic(uow), uow.clock.now())
    rows = (await uow.session.execute(
        select(Invoice, Patient)
        .join(Patient, Patient.id == Invoice.patient_id)
        .where(Invoice.status == "open", Invoice.due_on < today)
        .order_by(Invoice.due_on, Invoice.id).limit(limit))).all()
    return [
        UnpaidItem(invoice.id, invoice.kind, invoice.description, patient.id,
                   patient.full_name, invoice.amount - invoice.paid, invoice.due_on,
                   (today - invoice.due_on).days)
        for invoice, patient in rows
    ]


@dataclass(frozen=True)
class FailedDelivery:
    """A message to a patient that could not be delivered (newest first)."""

    message_id: int
    kind: str
    patient_id: int
    patient_name: str
    created_at: datetime
    note: str | None


async def failed_deliveries(uow: UnitOfWork, limit: int = QUEUE_LIMIT) -> list[FailedDelivery]:
    """Patients' messages whose delivery failed, newest first."""
    rows = (await uow.session.execute(
        select(OutboxMessage, Patient)
        .join(Patient, Patient.id == OutboxMessage.patient_id)
        .where(OutboxMessage.status == "failed")
        .order_by(OutboxMessage.id.desc()).limit(limit))).all()
    return [FailedDelivery(m.id, m.kind, p.id, p.full_name, m.created_at, m.last_error)
            for m, p in rows]


async def search_patients(uow: UnitOfWork, text: str, limit: int = SEARCH_LIMIT
                          ) -> list[Patient]:
    """Live profiles matching ``text``: its id, its phone as typed, or every word of it in the
    name (case aside). InvalidInput for an empty search."""
    text = text.strip()
    if not text:
        raise InvalidInput("type a name, a phone number or a patient id")
    found: dict[int, Patient] = {}
    number = as_id(text)
    if number is not None:
        patient = await uow.session.get(Patient, number)
        if patient is not None and patient.merged_into_id is None:
            found[patient.id] = patient
    if sum(ch.isdigit() for ch in text) >= 7:
        clinic = await get_clinic(uow)
        try:
            phone = normalise_phone(text, clinic_region(clinic.phone, clinic.locale))
        except InvalidInput:
            phone = None
        if phone is not None:
            for patient in (await uow.session.scalars(
                    select(Patient).where(Patient.phone == phone, Patient.merged_into_id.is_(None))
                    .order_by(Patient.id).limit(limit))).all():
                found.setdefault(patient.id, patient)
    words = text.lower().split()
    if words and not text.replace(" ", "").isdecimal():
        stmt = select(Patient).where(Patient.merged_into_id.is_(None))
        full = func.lower(Patient.first_name + " " + Patient.last_name)
        for word in words:
            stmt = stmt.where(full.contains(word, autoescape=True))
        for patient in (await uow.session.scalars(
                stmt.order_by(Patient.last_name, Patient.first_name, Patient.id)
                .limit(limit))).all():
            found.setdefault(patient.id, patient)
    return list(found.values())[:limit]


async def _patients(uow: UnitOfWork, ids: set[int]) -> dict[int, Patient]:
    if not ids:
        return {}
    rows = await uow.session.scalars(select(Patient).where(Patient.id.in_(ids)))
    return {p.id: p for p in rows.all()}
