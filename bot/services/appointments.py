"""Booking, cancelling and moving appointments (RULES.md 3-7, 20, 21).

Arrival and its undo are in bot/services/arrivals.py (``arrive`` is re-exported here).

Two bookings of one practitioner never overlap, whatever runs at once: the overlap check and
the insert happen under a lock on the practitioner (PostgreSQL ``SELECT ... FOR NO KEY
UPDATE``; SQLite's write transactions are ``BEGIN IMMEDIATE`` and so already exclusive), and on
PostgreSQL the ``appointment_no_overlap`` exclusion constraint backs it up (its violation,
caught in a savepoint so the unit of work stays usable, is reported as :class:`SlotTaken`).

Patients book within the clinic's notice and horizon; staff may book outside both, but never
outside the practitioner's hours, off the slot grid, in the past, over another booking, or in
closed time (a clinic closure or the practitioner's time off, read after the lock: see
:mod:`bot.services.closures` for what that guarantees when a closure is added meanwhile).
Times are aware UTC; refusals carry them with the clinic's zone (bot/services/errors.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from bot.services import audit, closures, deposits, packages, waitlist_offers
from bot.services.arrivals import arrive as arrive  # arrival lives in bot/services/arrivals.py
from bot.services.availability import busy_intervals, grid_starts, last_bookable_day
from bot.services.clinic import get_clinic, zone
from bot.services.clinic_setup import FeeFacts, clinic_setup
from bot.services.errors import (
    ClosedThen,
    InvalidInput,
    NotAllowed,
    NotFound,
    NoUsesLeft,
    PackageNotUsable,
    PastExpiry,
    SlotTaken,
    SlotUnavailable,
    TooLateToCancel,
    WrongState,
)
from bot.services.identity import refuse_erased
from bot.services.package_scope import scope_of, scopes_of
from bot.storage.models import (
    Appointment,
    Clinic,
    Patient,
    PatientPackage,
    Practitioner,
    guardianship,
)
from bot.storage.uow import UnitOfWork

BookedBy = Literal["patient", "staff"]
OVERLAP_CONSTRAINT = "appointment_no_overlap"


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise InvalidInput("give the appointment time with its timezone")
    return moment.astimezone(UTC)


async def get_appointment(
    uow: UnitOfWork, appointment_id: int, *, lock: bool = False
) -> Appointment:
    """An appointment by id; ``lock`` holds its row until the transaction ends (PostgreSQL)."""
    stmt = select(Appointment).where(Appointment.id == appointment_id)
    if lock:
        stmt = stmt.with_for_update(key_share=True)
    appointment = await uow.session.scalar(stmt)
    if appointment is None:
        raise NotFound(f"there is no appointment {appointment_id}")
    return appointment


async def upcoming_for(uow: UnitOfWork, patient_id: int) -> list[Appointment]:
    """The patient's booked appointments that have not started yet, soonest first."""
    rows = await uow.session.scalars(
        select(Appointment)
        .where(
            Appointment.patient_id == patient_id,
            Appointment.status == "booked",
            Appointment.starts_at >= uow.clock.now(),
        )
        .order_by(Appointment.starts_at, Appointment.id)
    )
    return list(rows)


async def lock_practitioner(uow: UnitOfWork, practitioner_id: int) -> Practitioner:
    """The practitioner, locked: bookings of them wait until this transaction ends."""
    return await _lock_practitioner(uow, practitioner_id)


async def check_bookable(
    uow: UnitOfWork, *, practitioner_id: int, location_id: int, fee_id: int,
    starts_at: datetime, booked_by: BookedBy = "patient",
) -> None:
    """Raise why ``starts_at`` cannot be booked now (as :func:`book` would), else nothing.

    Takes the booking lock on the practitioner, so the answer holds until the caller commits.
    """
    clinic = await get_clinic(uow)
    practitioner = await _lock_practitioner(uow, practitioner_id)
    fee = (await clinic_setup(uow)).fee(fee_id)
    starts_at = _aware(starts_at)
    await _check_slot(
        uow, clinic, practitioner=practitioner, location_id=location_id, fee=fee,
        starts_at=starts_at, booked_by=booked_by,
    )
    ends_at = starts_at + timedelta(minutes=fee.minutes)
    await _check_free(uow, clinic, practitioner, starts_at, ends_at)


# Built once (every booking): building a statement costs more than running it.
# NO KEY UPDATE: serialises bookings of this practitioner, yet lets other transactions insert
# rows that merely refer to them (foreign keys take KEY SHARE).
_PRACTITIONER_LOCKED = select(Practitioner).where(
    Practitioner.id == bindparam("id")).with_for_update(key_share=True)
# FOR KEY SHARE (PostgreSQL): bookings of one patient never wait for one another, but one waits
# for an erasure in progress (which holds the row FOR UPDATE) and then sees it.
_PATIENT_SHARED = (
    select(Patient).where(Patient.id == bindparam("id"))
    .with_for_update(read=True, key_share=True)
    .execution_options(populate_existing=True)
)


async def _lock_practitioner(uow: UnitOfWork, practitioner_id: int) -> Practitioner:
    if uow.readonly:
        raise RuntimeError("bookings need a writing unit of work (readonly=False)")
    practitioner = await uow.session.scalar(_PRACTITIONER_LOCKED, {"id": practitioner_id})
    if practitioner is None:
        raise NotFound(f"there is no practitioner {practitioner_id}")
    return practitioner


async def _check_slot(
    uow: UnitOfWork,
    clinic: Clinic,
    *,
    practitioner: Practitioner,
    location_id: int,
    fee: FeeFacts,
    starts_at: datetime,
    booked_by: BookedBy,
) -> None:
    """Raise unless ``starts_at`` is a time this practitioner can be booked for ``fee``."""
    setup = await clinic_setup(uow)  # what availability offers from, checked by its version
    if practitioner.id not in fee.practitioner_ids:
        raise InvalidInput(f"{practitioner.name} does not offer {fee.name}")
    location = setup.location(location_id)
    now, tz = uow.clock.now(), zone(clinic)
    if starts_at < now:
        raise SlotUnavailable(
            "{when} has already passed; choose a later time", zone=tz, when=starts_at
        )
    if booked_by == "patient":
        if starts_at < now + timedelta(minutes=clinic.min_notice_minutes):
            raise SlotUnavailable(
                f"appointments can be booked online at least {clinic.min_notice_minutes} "
                "minutes ahead; choose a later time than {when} or message the clinic",
                zone=tz, when=starts_at,
            )
        last_day = last_bookable_day(now, tz, clinic.booking_horizon_days)
        if starts_at.astimezone(tz).date() > last_day:
            raise SlotUnavailable(
                f"appointments can be booked online up to {clinic.booking_horizon_days} days "
                "ahead (until {last_day}); choose an earlier date", zone=tz, last_day=last_day,
            )
    day = starts_at.astimezone(tz).date()
    hours = setup.week.get((practitioner.id, location_id), [])
    starts = grid_starts(
        day, hours, minutes=fee.minutes, slot_minutes=clinic.slot_minutes, tz=tz
    )
    if starts_at not in starts:
        raise SlotUnavailable(
            f"{practitioner.name} cannot start {fee.name} at {{when}} at {location.name}: "
            "outside their hours there or not one of the offered start times",
            zone=tz, when=starts_at,
        )
    ends_at = starts_at + timedelta(minutes=fee.minutes)
    closed = await closures.closed_over(uow, practitioner.id, location_id, starts_at, ends_at)
    if closed is not None:
        why = f" ({closed.reason})" if closed.reason else ""
        who = (f"{practitioner.name} is away" if closed.practitioner_id is not None
               else f"the clinic is closed at {location.name}")
        days = closures.whole_days(closed, tz)
        start: date | datetime = days[0] if days else closed.starts_at
        end: date | datetime = days[1] if days else closed.ends_at
        raise ClosedThen(
            f"{who} from {{start}} to {{end}}{why}, so {{when}} cannot be booked; "
            "choose another time", zone=tz, start=start, end=end, when=starts_at,
        )


async def _check_free(
    uow: UnitOfWork,
    clinic: Clinic,
    practitioner: Practitioner,
    starts_at: datetime,
    ends_at: datetime,
    exclude_appointment_id: int | None = None,
) -> None:
    if await busy_intervals(
        uow, practitioner.id, starts_at, ends_at, exclude_appointment_id=exclude_appointment_id
    ):
        raise SlotTaken(
            f"{practitioner.name} is already booked at {{when}}; choose another time",
            zone=zone(clinic), when=starts_at,
        )


@asynccontextmanager
async def _all_or_nothing(
    uow: UnitOfWork, clinic: Clinic, starts_at: datetime
) -> AsyncIterator[None]:
    """Run the block in a savepoint: any error undoes it all and leaves the unit of work usable.

    PostgreSQL's exclusion constraint firing (a booking that raced past the lock) is SlotTaken.
    """
    try:
        async with uow.session.begin_nested():
            yield
            await uow.session.flush()
    except IntegrityError as exc:
        if OVERLAP_CONSTRAINT in str(exc.orig):
            raise SlotTaken(
                "that time ({when}) was just taken; choose another time",
                zone=zone(clinic), when=starts_at,
            ) from None
        raise


async def applicable_packages(
    uow: UnitOfWork,
    patient_id: int,
    *,
    fee_id: int,
    practitioner_id: int,
    location_id: int,
    starts_at: datetime,
) -> list[PatientPackage]:
    """The patient's packages that could cover this booking, the one to pre-select first.

    Paid, not ended, not expired on that day, covering the fee, practitioner and location,
    with a use available; earliest expiry first (no expiry last).
    """
    clinic = await get_clinic(uow)
    day = starts_at.astimezone(zone(clinic)).date()
    candidates = await uow.session.scalars(
        select(PatientPackage).where(
            PatientPackage.patient_id == patient_id,
            PatientPackage.available > 0,
            PatientPackage.paid_enough.is_(True),
            PatientPackage.refunded_at.is_(None),
        )
    )
    found = list(candidates)
    scopes = await scopes_of(uow, (package.id for package in found))
    usable = []
    for package in found:
        try:
            packages.check_applies(
                package, scopes[package.id], fee_id=fee_id, practitioner_id=practitioner_id,
                location_id=location_id, on=day,
            )
        except PackageNotUsable:
            continue
        usable.append(package)
    return sorted(usable, key=lambda p: (p.expires_on is None, p.expires_on, p.id))


async def book(
    uow: UnitOfWork,
    *,
    patient_id: int,
    practitioner_id: int,
    location_id: int,
    fee_id: int,
    starts_at: datetime,
    package_id: int | Literal["auto"] | None = "auto",
    booked_by: BookedBy = "patient",
    actor: audit.Actor | None = None,
) -> Appointment:
    """Book an appointment (RULES.md 3, 20); the caller commits. A patient's booking without a
    package opens the clinic's deposit invoice, if it asks one (bot/services/deposits.py).

    ``package_id="auto"`` pre-selects the applicable package with the earliest expiry (none
    applies: booked without one; all that applied ran out meanwhile: NoUsesLeft); ``None``
    declines any package; an id uses that package or raises why it cannot.
    """
    seen = await audit.watch(uow, actor, patient_id=patient_id)
    starts_at = _aware(starts_at)
    clinic = await get_clinic(uow)
    practitioner = await _lock_practitioner(uow, practitioner_id)
    patient = await uow.session.scalar(_PATIENT_SHARED, {"id": patient_id})
    if patient is None or patient.merged_into_id is not None:
        raise NotFound(f"there is no patient {patient_id}")
    refuse_erased(patient)
    fee = (await clinic_setup(uow)).fee(fee_id)  # NotFound if there is none
    await _check_slot(
        uow, clinic, practitioner=practitioner, location_id=location_id, fee=fee,
        starts_at=starts_at, booked_by=booked_by,
    )
    ends_at = starts_at + timedelta(minutes=fee.minutes)
    await _check_free(uow, clinic, practitioner, starts_at, ends_at)
    async with _all_or_nothing(uow, clinic, starts_at):
        appointment = Appointment(
            patient_id=patient.id, practitioner_id=practitioner.id, location_id=location_id,
            fee_id=fee.id, starts_at=starts_at, ends_at=ends_at, status="booked",
            booked_by=booked_by, created_at=uow.clock.now(),
        )
        uow.session.add(appointment)
        await uow.session.flush()
        if package_id == "auto":
            await _reserve_auto(uow, appointment)
        elif package_id is not None:
            package = await packages.get_package(uow, package_id)
            if package.patient_id != patient.id:
                raise NotAllowed("a package covers only its owner's appointments")
            await packages.reserve_use(uow, package, appointment)
    if booked_by == "patient" and appointment.package_id is None:
        await deposits.ask(uow, appointment)  # when the clinic asks one (issue 20)
    await seen.record(
        "appointment.book",
        appointment_id=appointment.id,
        summary=f"appointment {appointment.id} booked",
    )
    return appointment


async def _reserve_auto(uow: UnitOfWork, appointment: Appointment) -> None:
    candidates = await applicable_packages(
        uow, appointment.patient_id, fee_id=appointment.fee_id,
        practitioner_id=appointment.practitioner_id, location_id=appointment.location_id,
        starts_at=appointment.starts_at,
    )
    for package in candidates:  # a use taken meanwhile leaves the counters as they were
        try:
            await packages.reserve_use(uow, package, appointment)
        except NoUsesLeft:
            continue
        return
    if candidates:
        raise NoUsesLeft(
            f"{candidates[0].name} has no uses left; book without the package or choose another"
        )


async def _load_for_change(
    uow: UnitOfWork, appointment_id: int, acting_patient_id: int | None
) -> Appointment:
    appointment = await get_appointment(uow, appointment_id, lock=True)
    if acting_patient_id is not None and acting_patient_id != appointment.patient_id:
        guardian = await uow.session.scalar(
            select(guardianship.c.guardian_id).where(
                guardianship.c.ward_id == appointment.patient_id,
                guardianship.c.guardian_id == acting_patient_id,
            )
        )
        if guardian is None:
            raise NotAllowed("you can change only your own appointments and those you manage")
    return appointment


def _require_booked(appointment: Appointment, action: str) -> None:
    if appointment.status != "booked":
        raise WrongState(
            f"appointment {appointment.id} is {appointment.status}; it cannot be {action}"
        )


def patient_may_change(clinic: Clinic, appointment: Appointment, now: datetime) -> bool:
    """RULES.md 7: patients may cancel or reschedule only before ``cancel_notice_hours``."""
    return now <= appointment.starts_at - timedelta(hours=clinic.cancel_notice_hours)


def _check_notice(clinic: Clinic, appointment: Appointment, now: datetime, action: str) -> None:
    """Raise TooLateToCancel unless :func:`patient_may_change`."""
    if not patient_may_change(clinic, appointment, now):
        raise TooLateToCancel(
            f"appointments can be {action} online only up to {clinic.cancel_notice_hours} hours "
            "before they start, and this one starts at {starts}. "
            "Send the clinic a message and they will help.",
            zone=zone(clinic), starts=appointment.starts_at,
        )


async def cancel(
    uow: UnitOfWork,
    appointment_id: int,
    *,
    by: BookedBy = "patient",
    acting_patient_id: int | None = None,
    actor: audit.Actor | None = None,
) -> Appointment:
    """Cancel before arrival; a package use is unlinked and returned (RULES.md 7), a deposit
    voided or, paid and cancelled in time, kept as credit (bot/services/deposits.py)."""
    clinic = await get_clinic(uow)
    appointment = await _load_for_change(uow, appointment_id, acting_patient_id)
    seen = await audit.watch(uow, actor, appointment_id=appointment_id)
    _require_booked(appointment, "cancelled")
    now = uow.clock.now()
    if by == "patient":
        _check_notice(clinic, appointment, now, "cancelled")
    await packages.release_use(uow, appointment)
    await deposits.on_cancel(uow, appointment, in_time=patient_may_change(clinic, appointment, now))
    appointment.status = "cancelled"
    appointment.cancelled_at = now
    await uow.session.flush()
    await waitlist_offers.slot_freed(
        uow, appointment.practitioner_id, appointment.location_id, appointment.starts_at,
        freed_by=appointment.patient_id,
    )
    await seen.record("appointment.cancel", summary=f"appointment {appointment_id} cancelled")
    return appointment


async def reschedule(
    uow: UnitOfWork,
    appointment_id: int,
    new_starts_at: datetime,
    *,
    by: BookedBy = "patient",
    acting_patient_id: int | None = None,
    new_practitioner_id: int | None = None,
    new_location_id: int | None = None,
    actor: audit.Actor | None = None,
) -> Appointment:
    """Move a booked appointment: fully moved, or refused with nothing changed (RULES.md 5, 7)."""
    new_starts_at = _aware(new_starts_at)
    clinic = await get_clinic(uow)
    appointment = await _load_for_change(uow, appointment_id, acting_patient_id)
    seen = await audit.watch(uow, actor, appointment_id=appointment_id)
    _require_booked(appointment, "moved")
    if by == "patient":
        _check_notice(clinic, appointment, uow.clock.now(), "rescheduled")
    # Both booking locks in id order (the freed time is offered to the waitlist under the
    # old practitioner's): two moves between the same practitioners never wait in a cycle.
    for locked_id in sorted({appointment.practitioner_id,
                             new_practitioner_id or appointment.practitioner_id}):
        await _lock_practitioner(uow, locked_id)
    practitioner = await _lock_practitioner(
        uow, new_practitioner_id or appointment.practitioner_id
    )
    location_id = new_location_id or appointment.location_id
    fee = (await clinic_setup(uow)).fee(appointment.fee_id)
    await _check_slot(
        uow, clinic, practitioner=practitioner, location_id=location_id, fee=fee,
        starts_at=new_starts_at, booked_by=by,
    )
    if appointment.package_id is not None:
        package = await packages.get_package(uow, appointment.package_id)
        day = new_starts_at.astimezone(zone(clinic)).date()
        if package.expires_on is not None and day > package.expires_on:
            raise PastExpiry(
                f"{package.name} expires on {{expires}}, so it cannot cover an appointment on "
                "{day}. Removing the package from the appointment, or extending the package's "
                "expiry, would allow the move.", zone=zone(clinic), expires=package.expires_on,
                day=day,
            )
        packages.check_applies(
            package, await scope_of(uow, package.id), fee_id=fee.id,
            practitioner_id=practitioner.id,
            location_id=location_id, on=day,
        )
    ends_at = new_starts_at + timedelta(minutes=fee.minutes)
    await _check_free(uow, clinic, practitioner, new_starts_at, ends_at, appointment.id)
    freed = (appointment.practitioner_id, appointment.location_id, appointment.starts_at)
    async with _all_or_nothing(uow, clinic, new_starts_at):
        appointment.starts_at, appointment.ends_at = new_starts_at, ends_at
        appointment.practitioner_id, appointment.location_id = practitioner.id, location_id
        appointment.confirmed_at = None
    await waitlist_offers.slot_freed(uow, *freed, freed_by=appointment.patient_id)
    await seen.record("appointment.reschedule", summary=f"appointment {appointment_id} moved")
    return appointment


async def remove_package(
    uow: UnitOfWork, appointment_id: int, *, actor: audit.Actor | None = None
) -> Appointment:
    """Take the package off an appointment and return its use; only before arrival (RULES.md 6)."""
    appointment = await get_appointment(uow, appointment_id, lock=True)
    seen = await audit.watch(uow, actor, appointment_id=appointment_id)
    if appointment.status == "arrived":
        raise WrongState(
            "the package can be removed only before the appointment is marked arrived"
        )
    _require_booked(appointment, "changed")
    if appointment.package_id is None:
        raise WrongState(f"appointment {appointment.id} has no package to remove")
    await packages.release_use(uow, appointment)
    await uow.session.flush()
    await seen.record(
        "appointment.remove_package", summary=f"package taken off appointment {appointment_id}",
    )
    return appointment


async def attach_package(
    uow: UnitOfWork, appointment_id: int, package_id: int, *, actor: audit.Actor | None = None
) -> Appointment:
    """Staff: let a package cover a booked appointment (its rules apply, RULES.md 3, 4)."""
    appointment = await get_appointment(uow, appointment_id, lock=True)
    seen = await audit.watch(uow, actor, appointment_id=appointment_id, package_id=package_id)
    _require_booked(appointment, "changed")
    if appointment.package_id is not None:
        raise WrongState(
            f"appointment {appointment.id} already has a package; remove it first"
        )
    package = await packages.get_package(uow, package_id)
    if package.patient_id != appointment.patient_id:
        raise NotAllowed("a package covers only its owner's appointments")
    await packages.reserve_use(uow, package, appointment)
    await uow.session.flush()
    await seen.record(
        "appointment.add_package", summary=f"package {package_id} on appointment {appointment_id}",
    )
    return appointment
