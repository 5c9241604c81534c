"""A package's remaining sessions booked as a series (issue 19): propose, book, cancel.

:func:`propose` lays the sessions out from a first time at a rhythm (every ``every_days``
days, at the same clinic wall-clock time): as many as the package has uses available (or fewer
when asked), none after the package's expiry nor, for patients, past the booking horizon. Each
is checked against the times availability offers (hours, closures, notice, other bookings); one
that does not fit gets the nearest free start with the same practitioner at the same location,
the same day first, then one, two, three days either side. Nothing is booked.

:func:`book_series` books the proposed times in one savepoint: each booking takes the
practitioner's lock and re-checks its time (:func:`bot.services.appointments.book`), and each
reserves one use of the package, so a series never double-books and never over-redeems the
package, whatever runs at once. If anything was taken meanwhile nothing is booked:
:class:`SeriesChanged` says so, and a fresh proposal can be made.

Cancelling one appointment of a series is an ordinary cancel (one use back);
:func:`cancel_rest` cancels it and the series' later booked appointments (all their uses back),
with the patients' notice rule checked on the first of them before anything changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.services import appointments, audit, packages
from bot.services.appointments import BookedBy
from bot.services.availability import first_moment_at, last_bookable_day, offered_slots
from bot.services.clinic import get_clinic, zone
from bot.services.clinic_setup import clinic_setup
from bot.services.errors import (
    InvalidInput,
    NoUsesLeft,
    PackageNotUsable,
    SlotTaken,
    SlotUnavailable,
    WrongState,
)
from bot.services.package_scope import scope_of
from bot.storage.models import Appointment, AppointmentSeries
from bot.storage.uow import UnitOfWork

MAX_EVERY_DAYS = 60
NEAR_DAYS = 3  # an alternative is looked for this many days either side of the rhythm's day
# The rhythm's day first, then the nearer days before the farther ones, the later before the
# earlier (a session moved before the first one chosen would surprise).
OFFSETS = (0, *(d for k in range(1, NEAR_DAYS + 1) for d in (k, -k)))


class SeriesChanged(SlotTaken):
    """A proposed time was taken (or the package changed) meanwhile; nothing was booked."""

    code = "series_changed"


@dataclass(frozen=True)
class Occurrence:
    """One session of the series: the rhythm's time and the time proposed for it."""

    wanted: datetime
    starts_at: datetime

    @property
    def moved(self) -> bool:
        """Whether the rhythm's time did not fit and the nearest free time is proposed."""
        return self.starts_at != self.wanted


@dataclass(frozen=True)
class SeriesProposal:
    """What :func:`propose` found; ``skipped``: rhythm times with no free time near them."""

    package_id: int
    patient_id: int
    practitioner_id: int
    location_id: int
    fee_id: int
    every_days: int
    occurrences: tuple[Occurrence, ...]
    skipped: tuple[datetime, ...]

    @property
    def starts(self) -> list[datetime]:
        """The times to book, in order."""
        return [occurrence.starts_at for occurrence in self.occurrences]


def check_rhythm(every_days: int) -> None:
    """Raise unless ``every_days`` is a rhythm a series can have (1 to 60 days)."""
    if not 1 <= every_days <= MAX_EVERY_DAYS:
        raise InvalidInput(f"a series repeats every 1 to {MAX_EVERY_DAYS} days")


async def propose(
    uow: UnitOfWork,
    *,
    package_id: int,
    practitioner_id: int,
    location_id: int,
    fee_id: int,
    first_start: datetime,
    every_days: int,
    count: int | None = None,
    booked_by: BookedBy = "patient",
) -> SeriesProposal:
    """The series from ``first_start`` every ``every_days`` days (see the module docstring)."""
    check_rhythm(every_days)
    if first_start.tzinfo is None:
        raise InvalidInput("give the first time with its timezone")
    clinic, package = await get_clinic(uow), await packages.get_package(uow, package_id)
    tz = zone(clinic)
    first_day = first_start.astimezone(tz).date()
    packages.check_applies(
        package, await scope_of(uow, package.id), fee_id=fee_id,
        practitioner_id=practitioner_id, location_id=location_id, on=first_day,
    )
    fee = (await clinic_setup(uow)).fee(fee_id)  # NotFound if there is none
    wanted_count = package.available if count is None else min(count, package.available)
    if wanted_count < 1:
        raise NoUsesLeft(f"{package.name} has no uses left")
    last_day = package.expires_on
    if booked_by == "patient":
        horizon = last_bookable_day(uow.clock.now(), tz, clinic.booking_horizon_days)
        last_day = horizon if last_day is None else min(last_day, horizon)
    wall = first_start.astimezone(tz).replace(tzinfo=None)
    rhythm = []
    for k in range(wanted_count):
        moment = first_moment_at(wall + timedelta(days=k * every_days), tz)
        if last_day is not None and moment.astimezone(tz).date() > last_day:
            break
        rhythm.append(moment)
    minutes = timedelta(minutes=fee.minutes)
    chosen: list[Occurrence] = []
    skipped: list[datetime] = []

    async def free_on(day_offset: int, wanted: datetime) -> list[datetime]:
        day = wanted.astimezone(tz).date() + timedelta(days=day_offset)
        others = [o.starts_at for o in chosen] + [w for w in rhythm if w != wanted]
        if (last_day is not None and day > last_day) or (
            day_offset and day in {t.astimezone(tz).date() for t in others}
        ):
            return []  # past the end, or a day that already has a session of the series
        slots = await offered_slots(
            uow, practitioner_id, location_id, fee_id, day, 1, booked_by=booked_by
        )
        return [s for s in slots if all(abs(s - t) >= minutes for t in others)]

    for wanted in rhythm:
        for offset in OFFSETS:
            near = await free_on(offset, wanted)
            if near:
                moved = wanted + timedelta(days=offset)  # the same time of day, that day
                chosen.append(Occurrence(wanted, min(near, key=lambda s: (abs(s - moved), s))))
                break
        else:
            skipped.append(wanted)
    return SeriesProposal(
        package_id=package.id, patient_id=package.patient_id, practitioner_id=practitioner_id,
        location_id=location_id, fee_id=fee_id, every_days=every_days,
        occurrences=tuple(sorted(chosen, key=lambda o: o.starts_at)), skipped=tuple(skipped),
    )


async def book_series(
    uow: UnitOfWork,
    *,
    package_id: int,
    practitioner_id: int,
    location_id: int,
    fee_id: int,
    every_days: int,
    starts: Sequence[datetime],
    booked_by: BookedBy = "patient",
    actor: audit.Actor | None = None,
) -> AppointmentSeries:
    """Book every time of ``starts`` with the package, all or nothing; the caller commits.

    Raises :class:`SeriesChanged` (nothing booked) when any time no longer fits or the package
    ran out of uses meanwhile.
    """
    check_rhythm(every_days)
    if len(starts) < 1 or len(set(starts)) != len(starts):
        raise InvalidInput("a series needs its times, each once")
    package = await packages.get_package(uow, package_id)
    try:
        async with uow.session.begin_nested():
            series = AppointmentSeries(
                package_id=package.id, patient_id=package.patient_id, every_days=every_days,
                booked_by=booked_by, created_at=uow.clock.now(),
            )
            uow.session.add(series)
            await uow.session.flush()
            for starts_at in sorted(starts):
                appointment = await appointments.book(
                    uow, patient_id=package.patient_id, practitioner_id=practitioner_id,
                    location_id=location_id, fee_id=fee_id, starts_at=starts_at,
                    package_id=package.id, booked_by=booked_by, actor=actor,
                )
                appointment.series_id = series.id
            await uow.session.flush()
    except (SlotTaken, SlotUnavailable, PackageNotUsable) as exc:
        raise SeriesChanged(
            f"the series could not be booked, so nothing was: {exc.message}",
        ) from exc
    return series


async def series_appointments(uow: UnitOfWork, series_id: int) -> list[Appointment]:
    """The series' appointments, in time order (whatever their status)."""
    rows = await uow.session.scalars(
        select(Appointment)
        .where(Appointment.series_id == series_id)
        .order_by(Appointment.starts_at, Appointment.id)
    )
    return list(rows)


async def rest_of_series(uow: UnitOfWork, appointment: Appointment) -> list[Appointment]:
    """This appointment and the series' later ones still booked (empty: not in a series)."""
    if appointment.series_id is None:
        return []
    return [
        a for a in await series_appointments(uow, appointment.series_id)
        if a.status == "booked" and a.starts_at >= appointment.starts_at
    ]


async def cancel_rest(
    uow: UnitOfWork,
    appointment_id: int,
    *,
    by: BookedBy = "patient",
    acting_patient_id: int | None = None,
    actor: audit.Actor | None = None,
) -> list[Appointment]:
    """Cancel this appointment and the series' later booked ones; every use goes back.

    All or nothing: a refusal (too late to cancel online, not allowed) changes nothing.
    """
    appointment = await appointments.get_appointment(uow, appointment_id)
    if appointment.series_id is None:
        raise WrongState(f"appointment {appointment_id} is not part of a series")
    if appointment.status != "booked":
        raise WrongState(
            f"appointment {appointment_id} is {appointment.status}; it cannot be cancelled"
        )
    cancelled = []
    async with uow.session.begin_nested():
        for each in await rest_of_series(uow, appointment):
            cancelled.append(await appointments.cancel(
                uow, each.id, by=by, acting_patient_id=acting_patient_id, actor=actor,
            ))
    return cancelled
