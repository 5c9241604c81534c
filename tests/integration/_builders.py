"""Small helpers for package and no-show tests on the example clinic (clinic.example.toml)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.services import appointments
from bot.storage.models import (
    Appointment,
    CreditEntry,
    Fee,
    Invoice,
    Location,
    NoShow,
    PackageRedemption,
    Patient,
    PatientPackage,
    Practitioner,
)
from bot.storage.uow import UnitOfWork

TORONTO = ZoneInfo("America/Toronto")


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A clinic-local wall time as an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=TORONTO).astimezone(UTC)


async def patient(uow: UnitOfWork, key: str) -> Patient:
    found = await uow.session.scalar(select(Patient).where(Patient.key == key))
    assert found is not None, key
    return found


async def package_of(uow: UnitOfWork, patient_key: str) -> PatientPackage:
    """The patient's first package (maya: physio-5, leo: massage-10)."""
    owner = await patient(uow, patient_key)
    found = await uow.session.scalar(
        select(PatientPackage)
        .where(PatientPackage.patient_id == owner.id)
        .order_by(PatientPackage.id)
    )
    assert found is not None, patient_key
    return found


async def book(
    uow: UnitOfWork,
    patient_key: str,
    starts_at: datetime,
    *,
    fee: str = "physio-follow",
    practitioner: str = "ana",
    location: str = "downtown",
    package_id: int | None = None,
) -> Appointment:
    """A staff booking for the patient (``appointments.book``); ``package_id`` None: none."""
    fee_row = await uow.session.scalar(select(Fee).where(Fee.key == fee))
    who = await uow.session.scalar(select(Practitioner).where(Practitioner.key == practitioner))
    where = await uow.session.scalar(select(Location).where(Location.key == location))
    assert fee_row is not None and who is not None and where is not None
    return await appointments.book(
        uow,
        patient_id=(await patient(uow, patient_key)).id,
        practitioner_id=who.id,
        location_id=where.id,
        fee_id=fee_row.id,
        starts_at=starts_at,
        package_id=package_id,
        booked_by="staff",
    )


async def counters(uow: UnitOfWork, package_id: int) -> tuple[int, int, int, int]:
    """(uses, redeemed, booked, available) as stored."""
    row = (
        await uow.session.execute(
            select(
                PatientPackage.uses,
                PatientPackage.redeemed,
                PatientPackage.booked,
                PatientPackage.available,
            ).where(PatientPackage.id == package_id)
        )
    ).one()
    return (row[0], row[1], row[2], row[3])


@dataclass(frozen=True)
class State:
    """Everything a no-show resolution may touch, for comparing before and after an undo."""

    counters: tuple[int, int, int, int]
    appointment: tuple[str, int | None, str | None]
    live_invoices: frozenset[tuple[int, str, Decimal, Decimal, str]]
    redemptions: frozenset[tuple[int, int | None, str]]
    credit: frozenset[tuple[int, Decimal]]
    no_show: tuple[str | None, int | None, int | None, str | None]


async def state(uow: UnitOfWork, package_id: int, appointment_id: int) -> State:
    appointment = await uow.session.scalar(
        select(Appointment)
        .where(Appointment.id == appointment_id)
        .execution_options(populate_existing=True)
    )
    assert appointment is not None
    invoices = await uow.session.scalars(
        select(Invoice)
        .where(Invoice.patient_id == appointment.patient_id, Invoice.status != "void")
        .execution_options(populate_existing=True)
    )
    redemptions = await uow.session.scalars(
        select(PackageRedemption).where(PackageRedemption.package_id == package_id)
    )
    credit = await uow.session.scalars(select(CreditEntry))
    no_show = await uow.session.scalar(
        select(NoShow)
        .where(NoShow.appointment_id == appointment_id)
        .execution_options(populate_existing=True)
    )
    return State(
        counters=await counters(uow, package_id),
        appointment=(appointment.status, appointment.package_id, appointment.package_use),
        live_invoices=frozenset(
            (i.id, i.kind, i.amount, i.paid, i.status) for i in invoices.all()
        ),
        redemptions=frozenset((r.package_id, r.appointment_id, r.kind) for r in redemptions.all()),
        credit=frozenset((c.patient_id, c.amount) for c in credit.all()),
        no_show=(
            (no_show.resolution, no_show.no_show_fee_id, no_show.invoice_id, no_show.resolved_by)
            if no_show is not None
            else (None, None, None, None)
        ),
    )
