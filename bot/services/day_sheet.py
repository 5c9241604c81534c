"""A day at the clinic, as the desk reads it: each practitioner's appointments and free gaps.

:func:`day_sheet` gives one :class:`Column` per practitioner and location working that day
(their weekly hours there) or with an appointment there: the live appointments (not
cancelled) in start order, with the patient, the fee and its price, the package applied and
the status, and between them the :class:`Gap` s where the practitioner is free: their hours at
that location minus their appointments (at any location) and closed time (the clinic closed
there, or the practitioner away; the set-up copy holds them, :mod:`bot.services.clinic_setup`).
Days run in the clinic's time zone, daylight-saving days included
(:func:`bot.services.availability.first_moment_at`).

Read with a fixed number of queries whatever the day holds: the staff console's ``/desk/today``
calls it; the actions on an appointment are :mod:`bot.services.arrivals` and
:mod:`bot.services.noshows`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from bot.services.availability import Interval, first_moment_at, merge
from bot.services.clinic import get_clinic, local_midnight_utc, zone
from bot.services.clinic_setup import ClinicSetup, PlaceFacts, PractitionerFacts, clinic_setup
from bot.storage.models import Appointment, NoShow, Patient, PatientPackage
from bot.storage.uow import UnitOfWork


@dataclass(frozen=True)
class Visit:
    """One appointment on the sheet."""

    appointment_id: int
    starts_at: datetime
    ends_at: datetime
    patient_id: int
    patient_name: str
    fee_name: str
    price: Decimal
    package_id: int | None
    package_name: str | None
    status: str
    no_show_id: int | None
    no_show_open: bool


@dataclass(frozen=True)
class Gap:
    """Free time in the practitioner's hours at this location."""

    starts_at: datetime
    ends_at: datetime


@dataclass
class Column:
    """A practitioner at a location: their day, appointments and gaps in time order."""

    practitioner: PractitionerFacts
    location: PlaceFacts
    entries: list[Visit | Gap] = field(default_factory=list)


def working_blocks(setup: ClinicSetup, practitioner_id: int, location_id: int, day: date
                   ) -> list[Interval]:
    """The practitioner's hours at the location on ``day`` (local), as UTC intervals."""
    tz = zone(setup.clinic)
    blocks = []
    for hours in setup.week.get((practitioner_id, location_id), []):
        if hours.weekday != day.weekday() or hours.start >= hours.end:
            continue
        blocks.append((first_moment_at(datetime.combine(day, hours.start), tz),
                       first_moment_at(datetime.combine(day, hours.end), tz)))
    return merge(blocks)


def free_gaps(blocks: list[Interval], busy: list[Interval]) -> list[Gap]:
    """What is left of ``blocks`` once ``busy`` is taken out (both UTC intervals)."""
    taken = merge(busy)
    gaps: list[Gap] = []
    for start, end in blocks:
        cursor = start
        for busy_start, busy_end in taken:
            if busy_end <= cursor or busy_start >= end:
                continue
            if busy_start > cursor:
                gaps.append(Gap(cursor, busy_start))
            cursor = max(cursor, busy_end)
        if cursor < end:
            gaps.append(Gap(cursor, end))
    return gaps


async def day_sheet(uow: UnitOfWork, day: date, *, practitioner_id: int | None = None
                    ) -> list[Column]:
    """The clinic's ``day`` (local), by practitioner then location; ``practitioner_id``: only
    that practitioner's columns."""
    clinic = await get_clinic(uow)
    setup = await clinic_setup(uow)
    start = local_midnight_utc(clinic, day)
    end = local_midnight_utc(clinic, day + timedelta(days=1))
    wanted = ([practitioner_id] if practitioner_id is not None
              else sorted(setup.practitioners))
    rows = (await uow.session.execute(
        select(Appointment, Patient.first_name, Patient.last_name, PatientPackage.name, NoShow.id,
               NoShow.resolution)
        .join(Patient, Patient.id == Appointment.patient_id)
        .outerjoin(PatientPackage, PatientPackage.id == Appointment.package_id)
        .outerjoin(NoShow, NoShow.appointment_id == Appointment.id)
        .where(Appointment.practitioner_id.in_(wanted), Appointment.starts_at >= start,
               Appointment.starts_at < end, Appointment.status != "cancelled")
        .order_by(Appointment.starts_at, Appointment.id)
    )).all()
    columns: dict[tuple[int, int], Column] = {}
    busy: dict[int, list[Interval]] = {}
    for appointment, first, last, package_name, no_show_id, resolution in rows:
        fee = setup.fee(appointment.fee_id)
        key = (appointment.practitioner_id, appointment.location_id)
        if key not in columns:
            columns[key] = Column(setup.practitioner(key[0]), setup.location(key[1]))
        columns[key].entries.append(Visit(
            appointment.id, appointment.starts_at, appointment.ends_at, appointment.patient_id,
            f"{first} {last}", fee.name, fee.price, appointment.package_id, package_name,
            appointment.status, no_show_id, no_show_id is not None and resolution is None))
        busy.setdefault(appointment.practitioner_id, []).append(
            (appointment.starts_at, appointment.ends_at))
    for who, where in setup.week:
        if who not in wanted:
            continue
        blocks = working_blocks(setup, who, where, day)
        if not blocks:
            continue
        column = columns.setdefault((who, where), Column(setup.practitioner(who),
                                                         setup.location(where)))
        taken = busy.get(who, []) + setup.closed_during(who, where, start, end)
        column.entries.extend(free_gaps(blocks, taken))
    for column in columns.values():
        column.entries.sort(key=lambda entry: entry.starts_at)
    return sorted(columns.values(), key=lambda c: (c.practitioner.name, c.location.name,
                                                   c.practitioner.id, c.location.id))
