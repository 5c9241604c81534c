"""Which start times a practitioner can be booked at (RULES.md 20, 21).

The pure part (:func:`offered_starts`, :func:`grid_starts`, :func:`wall_moments`) needs no
database: it takes the practitioner's weekly hours at one location (local wall times), their
busy intervals (live appointments at any location, and closed time: the clinic closed there or
the practitioner away; UTC), the fee's length and the clinic's
policy, and returns aware UTC datetimes. :func:`offered_slots` loads those inputs with a fixed
number of queries and calls it; :func:`allowed_pairs` says where a fee (and a package) can be
booked at all.

Daylight saving (RULES.md 21), decided here:

* Starts lie on the block's local wall-clock grid: block start, + ``slot_minutes``, ...
* A wall time that does not exist (the spring-forward gap) is never offered.
* A wall time that exists twice (the fall-back hour) is offered once for each real moment it
  names, i.e. twice, because the practitioner truly works both hours; the two are different UTC
  instants, so whoever shows them must show the UTC offset too. Never otherwise twice.
* A block runs from the first moment the clock reads its start to the first moment it reads
  its end (a bound inside a gap: the moment the clock jumps), and the whole fee must fit in
  it in real, elapsed minutes.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select

from bot.services.clinic import get_clinic, local_midnight_utc, zone
from bot.services.clinic_setup import PlaceFacts, PractitionerFacts, WeeklyHours, clinic_setup
from bot.services.errors import InvalidInput
from bot.services.package_scope import PackageScope
from bot.storage.hot import Hot
from bot.storage.models import Appointment
from bot.storage.uow import UnitOfWork

__all__ = ["WeeklyHours"]  # re-exported: the pure functions below take it

Interval = tuple[datetime, datetime]
# Busy appointments are fetched by the (practitioner_id, starts_at) index, so a range query
# needs a lower bound on starts_at: no appointment is assumed to last longer than this.
LONGEST_APPOINTMENT = timedelta(days=1)

# Built once (building and keying a statement costs more than running it): the practitioner's
# live appointments overlapping [start, end), optionally but one.
BUSY = select(Appointment.starts_at, Appointment.ends_at).where(
    Appointment.practitioner_id == bindparam("practitioner_id"),
    Appointment.starts_at >= bindparam("since"),
    Appointment.starts_at < bindparam("end"),
    Appointment.ends_at > bindparam("start"),
    Appointment.status != "cancelled",
)
BUSY_EXCEPT = BUSY.where(Appointment.id != bindparam("excluded"))
_BUSY, _BUSY_EXCEPT = Hot(BUSY), Hot(BUSY_EXCEPT)  # run on the driver (every time question)


def _wall(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


def wall_moments(wall: datetime, tz: ZoneInfo) -> list[datetime]:
    """The UTC moments at which the clinic's clock reads the naive ``wall`` time.

    None in a spring-forward gap, two in the fall-back hour, else one. Both folds give the
    same offset exactly when the time is neither (PEP 495); otherwise each fold is checked by a
    round trip through UTC.
    """
    aware = wall.replace(tzinfo=tz)
    offset = aware.utcoffset()
    if offset is not None and offset == aware.replace(fold=1).utcoffset():
        return [(wall - offset).replace(tzinfo=UTC)]
    found: list[datetime] = []
    for fold in (0, 1):
        moment = wall.replace(tzinfo=tz, fold=fold).astimezone(UTC)
        if _wall(moment, tz) == wall and moment not in found:
            found.append(moment)
    return sorted(found)


def first_moment_at(wall: datetime, tz: ZoneInfo) -> datetime:
    """The first UTC moment at which the clinic's clock reads ``wall`` or later."""
    moments = wall_moments(wall, tz)
    if moments:
        return moments[0]
    # In a gap: the two folds lie on either side of the jump; find it to the second.
    a = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    b = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    low, high = min(a, b), max(a, b)
    for _ in range(64):  # bisection over at most a day or so of seconds: ~17 rounds
        gap = int((high - low).total_seconds())
        if gap <= 1:
            break
        middle = low + timedelta(seconds=gap // 2)
        if _wall(middle, tz) < wall:
            low = middle
        else:
            high = middle
    return high


def steady_offset(day: date, tz: ZoneInfo) -> timedelta | None:
    """The clinic's one UTC offset all ``day`` long; None on a day its clocks change.

    Checked at both ends of the day, each fold: a day with two changes that cancel out would
    look steady, and no time zone has one (changes are months apart).
    """
    ends = (datetime.combine(day, time(0), tz), datetime.combine(day, time(23, 59, 59), tz))
    offsets = {moment.replace(fold=fold).utcoffset() for moment in ends for fold in (0, 1)}
    offset = offsets.pop()
    return offset if not offsets else None


def grid_starts(
    day: date,
    hours: Iterable[WeeklyHours],
    *,
    minutes: int,
    slot_minutes: int,
    tz: ZoneInfo,
) -> list[datetime]:
    """Every start on ``day`` (local) on the hours' grid where a ``minutes`` fee fits (UTC).

    A pure function of its arguments, asked for the same days and hours by every patient
    looking for a time: answers are kept (:data:`GRIDS_KEPT`, least recently used go first).
    """
    if minutes <= 0 or slot_minutes <= 0:
        raise ValueError("fee minutes and slot minutes must be positive")
    weekday = day.weekday()
    that_day = tuple(block for block in hours if block.weekday == weekday)
    return list(_grid(day, that_day, minutes, slot_minutes, tz))


GRIDS_KEPT = 4096


@lru_cache(maxsize=GRIDS_KEPT)
def _grid(day: date, hours: tuple[WeeklyHours, ...], minutes: int, slot_minutes: int,
          tz: ZoneInfo) -> tuple[datetime, ...]:
    """:func:`grid_starts` for ``hours`` that all fall on ``day``'s weekday."""
    length, step = timedelta(minutes=minutes), timedelta(minutes=slot_minutes)
    starts: set[datetime] = set()
    steady = steady_offset(day, tz)
    for block in hours:
        if block.start >= block.end:
            continue
        if steady is not None:  # the usual day: every wall time is one moment, offset apart
            moment = datetime.combine(day, block.start, UTC) - steady
            last = datetime.combine(day, block.end, UTC) - steady - length
            while moment <= last:  # bounded: one block of one day
                starts.add(moment)
                moment += step
            continue
        wall, stop = datetime.combine(day, block.start), datetime.combine(day, block.end)
        begin, end = first_moment_at(wall, tz), first_moment_at(stop, tz)
        while wall < stop:  # bounded: one block of one day
            for moment in wall_moments(wall, tz):
                if moment >= begin and moment + length <= end:
                    starts.add(moment)
            wall += step
    return tuple(sorted(starts))


def merge(busy: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint intervals covering the same time as ``busy``."""
    merged: list[Interval] = []
    for start, end in sorted(busy):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def is_free(start: datetime, end: datetime, merged: Sequence[Interval]) -> bool:
    """Whether ``[start, end)`` overlaps none of the ``merged`` (sorted, disjoint) intervals."""
    before = bisect_left(merged, end, key=lambda interval: interval[0])
    return before == 0 or merged[before - 1][1] <= start


def last_bookable_day(now: datetime, tz: ZoneInfo, booking_horizon_days: int) -> date:
    """Patients may book up to and including this local date (today + the horizon)."""
    return now.astimezone(tz).date() + timedelta(days=booking_horizon_days)


def offered_starts(
    hours: Iterable[WeeklyHours],
    busy: Iterable[Interval],
    *,
    minutes: int,
    slot_minutes: int,
    min_notice_minutes: int,
    booking_horizon_days: int | None,
    now: datetime,
    tz: ZoneInfo,
    first_day: date,
    days: int,
) -> list[datetime]:
    """The start times to offer over ``days`` local days from ``first_day`` (aware UTC).

    On the hours' grid (see the module notes on DST), with the whole fee inside the block,
    overlapping no ``busy`` interval, at least ``min_notice_minutes`` after ``now`` and on or
    before today + ``booking_horizon_days`` (None: no horizon, as for staff).
    """
    hours = list(hours)
    merged = merge(busy)
    earliest = now + timedelta(minutes=max(min_notice_minutes, 0))
    last_day = None
    if booking_horizon_days is not None:
        last_day = last_bookable_day(now, tz, booking_horizon_days)
    length = timedelta(minutes=minutes)
    offered: list[datetime] = []
    ahead = 0  # merged[ahead:] may still overlap a start from here on (starts only grow)
    for offset in range(max(days, 0)):
        day = first_day + timedelta(days=offset)
        if last_day is not None and day > last_day:
            break
        for start in grid_starts(day, hours, minutes=minutes, slot_minutes=slot_minutes, tz=tz):
            if start < earliest:
                continue
            while ahead < len(merged) and merged[ahead][1] <= start:
                ahead += 1
            if ahead == len(merged) or merged[ahead][0] >= start + length:
                offered.append(start)
    return offered


async def busy_intervals(
    uow: UnitOfWork,
    practitioner_id: int,
    start: datetime,
    end: datetime,
    *,
    exclude_appointment_id: int | None = None,
) -> list[Interval]:
    """The practitioner's live appointments (any location) that overlap ``[start, end)``."""
    stmt = _BUSY if exclude_appointment_id is None else _BUSY_EXCEPT
    await uow.flush_pending()  # an appointment booked but not yet flushed is busy too
    rows = await stmt.records(uow, {
        "practitioner_id": practitioner_id, "since": start - LONGEST_APPOINTMENT,
        "start": start, "end": end, "excluded": exclude_appointment_id,
    })
    return [(starts_at, ends_at) for starts_at, ends_at in rows]


async def offered_slots(
    uow: UnitOfWork,
    practitioner_id: int,
    location_id: int,
    fee_id: int,
    from_day: date,
    days: int,
    *,
    booked_by: str = "patient",
    exclude_appointment_id: int | None = None,
) -> list[datetime]:
    """Start times to offer for ``fee_id`` with the practitioner at the location (UTC).

    Never inside closed time (the clinic closed there, or the practitioner away: the set-up
    copy holds them, :mod:`bot.services.clinic_setup`).
    Patients get the clinic's notice and horizon; ``booked_by="staff"`` drops both (times in
    the past are never offered). ``exclude_appointment_id``: the appointment being moved.
    Computed once per question until the transaction writes (a dialog turn checks the answer
    against the times, then shows times for the next question).
    """
    key = ("offered slots", practitioner_id, location_id, fee_id, from_day, days, booked_by,
           exclude_appointment_id)

    async def compute() -> list[datetime]:
        clinic = await get_clinic(uow)
        setup = await clinic_setup(uow)
        fee = setup.fee(fee_id)
        if practitioner_id not in fee.practitioner_ids:
            raise InvalidInput(f"practitioner {practitioner_id} does not offer {fee.name}")
        tz = zone(clinic)
        start = local_midnight_utc(clinic, from_day)
        end = local_midnight_utc(clinic, from_day + timedelta(days=days))
        busy = await busy_intervals(
            uow, practitioner_id, start, end, exclude_appointment_id=exclude_appointment_id
        )
        busy += setup.closed_during(practitioner_id, location_id, start, end)
        patient = booked_by == "patient"
        return offered_starts(
            setup.week.get((practitioner_id, location_id), []),
            busy,
            minutes=fee.minutes,
            slot_minutes=clinic.slot_minutes,
            min_notice_minutes=clinic.min_notice_minutes if patient else 0,
            booking_horizon_days=clinic.booking_horizon_days if patient else None,
            now=uow.clock.now(),
            tz=tz,
            first_day=from_day,
            days=days,
        )

    return list(await uow.remember(key, compute, until_write=True))


async def allowed_pairs(
    uow: UnitOfWork, fee_id: int, package: PackageScope | None = None
) -> list[tuple[PractitionerFacts, PlaceFacts]]:
    """Where ``fee_id`` can be booked: (practitioner, location) pairs with hours there.

    With a ``package`` (its scope), only its practitioners and locations (empty = any), and
    nothing for a fee the package does not cover.
    """
    setup = await clinic_setup(uow)
    fee = setup.fee(fee_id)
    if package is not None and not package.covers_fee(fee.id):
        return []
    pairs = [
        (setup.practitioners[practitioner_id], setup.locations[location_id])
        for practitioner_id, location_id in setup.week
        if practitioner_id in fee.practitioner_ids
        if package is None or (package.covers_practitioner(practitioner_id)
                               and package.covers_location(location_id))
    ]
    return sorted(pairs, key=lambda pair: (pair[0].name, pair[1].name, pair[0].id, pair[1].id))
