"""Read-only views for the console's booking pages: one appointment as the desk reads it, the
packages that could cover a booking, and the closures and time off still to come.

Rules stay where they are (:mod:`bot.services.appointments`, :mod:`bot.services.packages`,
:mod:`bot.services.closures`); these only gather what a page shows, in a few queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from bot.services import closures
from bot.services.catalog import usable_packages
from bot.services.clinic import zone
from bot.services.clinic_setup import clinic_setup
from bot.services.errors import NotFound
from bot.services.package_scope import PackageScope, scopes_of
from bot.storage.models import Appointment, Closure, NoShow, Patient, PatientPackage
from bot.storage.models.closures import CLOSURE_FROM_FILE
from bot.storage.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class AppointmentView:
    """One appointment with the names the desk reads (times aware UTC)."""

    id: int
    patient_id: int
    patient_name: str
    practitioner_id: int
    practitioner_name: str
    location_id: int
    location_name: str
    fee_id: int
    fee_name: str
    price: Decimal
    minutes: int
    starts_at: datetime
    ends_at: datetime
    status: str
    package_id: int | None
    package_name: str | None
    booked_by: str
    no_show_id: int | None


async def live_patient(uow: UnitOfWork, patient_id: int) -> Patient:
    """A patient who can be booked (not merged into another), or NotFound."""
    found = await uow.session.get(Patient, patient_id)
    if found is None or found.merged_into_id is not None:
        raise NotFound(f"there is no patient {patient_id}")
    return found


async def appointment_view(uow: UnitOfWork, appointment_id: int) -> AppointmentView:
    """The appointment ``appointment_id`` with its patient, practitioner, place, fee, package."""
    row = (await uow.session.execute(
        select(Appointment, Patient.first_name, Patient.last_name, PatientPackage.name,
               NoShow.id)
        .join(Patient, Patient.id == Appointment.patient_id)
        .outerjoin(PatientPackage, PatientPackage.id == Appointment.package_id)
        .outerjoin(NoShow, NoShow.appointment_id == Appointment.id)
        .where(Appointment.id == appointment_id)
    )).tuples().first()
    if row is None:
        raise NotFound(f"there is no appointment {appointment_id}")
    appointment, first, last, package_name, no_show_id = row
    setup = await clinic_setup(uow)
    fee = setup.fees.get(appointment.fee_id)
    practitioner = setup.practitioners.get(appointment.practitioner_id)
    location = setup.locations.get(appointment.location_id)
    return AppointmentView(
        id=appointment.id, patient_id=appointment.patient_id, patient_name=f"{first} {last}",
        practitioner_id=appointment.practitioner_id,
        practitioner_name=practitioner.name if practitioner else "?",
        location_id=appointment.location_id, location_name=location.name if location else "?",
        fee_id=appointment.fee_id, fee_name=fee.name if fee else "?",
        price=fee.price if fee else Decimal(0), minutes=fee.minutes if fee else 0,
        starts_at=appointment.starts_at, ends_at=appointment.ends_at, status=appointment.status,
        package_id=appointment.package_id, package_name=package_name,
        booked_by=appointment.booked_by, no_show_id=no_show_id,
    )


@dataclass(frozen=True, slots=True)
class PackageChoice:
    """A package of the patient that could cover a booking of the fee (its scope applies)."""

    package: PatientPackage
    scope: PackageScope


async def packages_for_fee(uow: UnitOfWork, patient_id: int, fee_id: int
                           ) -> list[PackageChoice]:
    """The patient's usable packages (paid, not ended or expired, a use available) covering
    ``fee_id``, the one booking pre-selects first (earliest expiry)."""
    found = await usable_packages(uow, patient_id)
    scopes = await scopes_of(uow, (package.id for package in found))
    return [PackageChoice(package, scopes[package.id]) for package in found
            if scopes[package.id].covers_fee(fee_id)]


@dataclass(frozen=True, slots=True)
class ClosedTime:
    """A clinic closure (``practitioner_name`` None) or a practitioner's time off."""

    id: int
    practitioner_name: str | None
    location_name: str | None  # a closure at one location; None: everywhere (or time off)
    starts_at: datetime
    ends_at: datetime
    first_day: date | None  # whole days: the first and last local day
    last_day: date | None
    reason: str | None
    from_file: bool
    booked: list[int]  # booked appointments (ids), not over yet, that fall in it

    @property
    def time_off(self) -> bool:
        return self.practitioner_name is not None


async def closed_times(uow: UnitOfWork, since: datetime) -> list[ClosedTime]:
    """Closures and time off ending after ``since``, by start, with their booked appointments."""
    rows = list(await uow.session.scalars(
        select(Closure).where(Closure.ends_at > since)
        .order_by(Closure.starts_at, Closure.id)))
    setup = await clinic_setup(uow)
    tz = zone(setup.clinic)
    found = []
    for closure in rows:
        days = closures.whole_days(closure, tz)
        who = (setup.practitioners[closure.practitioner_id].name
               if closure.practitioner_id in setup.practitioners else None)
        where = (setup.locations[closure.location_id].name
                 if closure.location_id in setup.locations else None)
        found.append(ClosedTime(
            id=closure.id, practitioner_name=who, location_name=where,
            starts_at=closure.starts_at, ends_at=closure.ends_at,
            first_day=days[0] if days else None, last_day=days[1] if days else None,
            reason=closure.reason, from_file=closure.source == CLOSURE_FROM_FILE,
            booked=[a.id for a in await closures.booked_in(uow, [closure])]))
    return found
