"""Closed times: clinic closures (holidays) and practitioners' time off (RULES.md 20).

A closure is ``[starts_at, ends_at)`` in UTC: the clinic closed at one location or everywhere,
or (with a practitioner) that practitioner away at every location. Nothing inside one is
offered (:mod:`bot.services.availability` reads them from the set-up copy) or booked
(:func:`closed_over`, checked by :mod:`bot.services.appointments` under the practitioner's
lock, from the database).

Adding one over booked appointments does not cancel them: :func:`add` returns them so the desk
sees them, and :func:`notify_patients` queues one message per patient (kind
:data:`CLINIC_CLOSED` or :data:`PRACTITIONER_AWAY`, rendered in the patient's language by
:mod:`bot.delivery.notifications`).

The guarantee under concurrency: :func:`add` locks every practitioner it closes (the one away,
or all for a clinic closure) before it writes, as a booking or a move locks its practitioner
before its checks (SQLite's write transactions run one at a time anyway). So a booking either
commits first, and is then among the appointments :func:`add` returns, or checks after the
closure is committed, and is refused. A booking never lands in closed time unseen by the desk.

Two places make closures, as with access (:mod:`bot.services.access`): the set-up file
(``source = 'file'``; :func:`sync_file` makes them exactly the file's, so a reload changes
nothing and a closure removed from the file goes) and the desk (``'desk'``; a reload never
touches them). The desk may remove either.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.sql.elements import ColumnElement

from bot.services import audit, outbox, reminders, waitlist_opened
from bot.services.availability import first_moment_at
from bot.services.clinic import get_clinic, zone
from bot.services.errors import InvalidInput, NotFound
from bot.storage.models import Appointment, Closure, Location, Practitioner
from bot.storage.models.closures import CLOSURE_FROM_DESK, CLOSURE_FROM_FILE
from bot.storage.uow import UnitOfWork

CLINIC_CLOSED = "clinic_closed"
PRACTITIONER_AWAY = "practitioner_away"
MAX_REASON = 200
Bound = date | datetime  # a local date (its whole day) or an aware moment

# Built once: the first closure that closes [start, end) for one practitioner at one location.
CLOSED_OVER = (
    select(Closure)
    .where(
        Closure.ends_at > bindparam("start"),
        Closure.starts_at < bindparam("end"),
        or_(
            Closure.practitioner_id == bindparam("practitioner_id"),
            and_(
                Closure.practitioner_id.is_(None),
                or_(Closure.location_id.is_(None), Closure.location_id == bindparam("location_id")),
            ),
        ),
    )
    .order_by(Closure.starts_at, Closure.id)
    .limit(1)
)


@dataclass(frozen=True)
class Wanted:
    """A closure the set-up file lists (one per location it names), in UTC."""

    practitioner_id: int | None
    location_id: int | None
    starts_at: datetime
    ends_at: datetime
    reason: str | None

    @property
    def identity(self) -> tuple[int | None, int | None, datetime, datetime]:
        return (self.practitioner_id, self.location_id, self.starts_at, self.ends_at)


@dataclass(frozen=True)
class Synced:
    """What :func:`sync_file` did: closures added, given a new reason, left as they were, and
    removed."""

    added: list[Closure]
    updated: list[Closure]
    unchanged: list[Closure]
    removed: list[Closure]


@dataclass(frozen=True)
class Notified:
    """What :func:`notify_patients` did: patients told now, told before, and not reachable."""

    told: list[int]
    already: list[int]
    unreachable: list[int]


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return first_moment_at(datetime.combine(day, time(0)), tz)


def span(start: Bound, end: Bound | None, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC. A date as ``start`` is its first moment, as ``end`` its last
    (the day is included); no ``end`` after a date: that one day. Datetimes must be aware."""
    begin = _moment(start) if isinstance(start, datetime) else _midnight(start, tz)
    if end is None:
        if isinstance(start, datetime):
            raise InvalidInput("give when it ends too")
        end = start
    finish = _moment(end) if isinstance(end, datetime) else _midnight(end + timedelta(days=1), tz)
    if finish <= begin:
        raise InvalidInput("it must end after it starts")
    return begin, finish


def _moment(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise InvalidInput("give the time with its timezone")
    return value.astimezone(UTC)


def whole_days(closure: Closure, tz: ZoneInfo) -> tuple[date, date] | None:
    """(first, last) local day when the closure is whole days, else None."""
    first = closure.starts_at.astimezone(tz).date()
    after = closure.ends_at.astimezone(tz).date()
    if closure.starts_at != _midnight(first, tz) or closure.ends_at != _midnight(after, tz):
        return None
    return first, after - timedelta(days=1)


async def closed_over(
    uow: UnitOfWork, practitioner_id: int, location_id: int, start: datetime, end: datetime
) -> Closure | None:
    """The first closure (from the database) closing ``[start, end)`` for this practitioner at
    this location; booking calls it after locking the practitioner."""
    found: Closure | None = await uow.session.scalar(CLOSED_OVER, {
        "start": start, "end": end, "practitioner_id": practitioner_id,
        "location_id": location_id,
    })
    return found


def _covers(closure: Closure) -> ColumnElement[bool]:
    """Appointments that ``closure`` closes (by time, and practitioner or location)."""
    where = [Appointment.starts_at < closure.ends_at, Appointment.ends_at > closure.starts_at]
    if closure.practitioner_id is not None:
        where.append(Appointment.practitioner_id == closure.practitioner_id)
    elif closure.location_id is not None:
        where.append(Appointment.location_id == closure.location_id)
    return and_(*where)


async def booked_in(uow: UnitOfWork, closures: Iterable[Closure]) -> list[Appointment]:
    """The booked appointments, not over yet, that fall in any of ``closures``; soonest first."""
    conditions = [_covers(closure) for closure in closures]
    if not conditions:
        return []
    rows = await uow.session.scalars(
        select(Appointment)
        .where(Appointment.status == "booked", Appointment.ends_at > uow.clock.now(),
               or_(*conditions))
        .order_by(Appointment.starts_at, Appointment.id)
    )
    return list(rows)


async def _lock(uow: UnitOfWork, practitioner_id: int | None) -> None:
    """Hold the practitioners a closure closes, as bookings do (see the module notes)."""
    stmt = select(Practitioner.id).order_by(Practitioner.id).with_for_update(key_share=True)
    if practitioner_id is not None:
        stmt = stmt.where(Practitioner.id == practitioner_id)
    found = (await uow.session.scalars(stmt)).all()
    if practitioner_id is not None and not found:
        raise NotFound(f"there is no practitioner {practitioner_id}")


def _reason(reason: str | None) -> str | None:
    text = " ".join((reason or "").split())
    if len(text) > MAX_REASON:
        raise InvalidInput(f"the reason is {len(text)} characters; keep it to {MAX_REASON}")
    return text or None


async def add(
    uow: UnitOfWork,
    *,
    starts_at: datetime,
    ends_at: datetime,
    practitioner_id: int | None = None,
    location_ids: Sequence[int | None] = (None,),
    reason: str | None = None,
    source: str = CLOSURE_FROM_DESK,
    actor: audit.Actor | None = None,
) -> tuple[list[Closure], list[Appointment]]:
    """Close ``[starts_at, ends_at)``: for a practitioner (time off), or the clinic at each of
    ``location_ids`` (None: everywhere). The new rows, and the booked appointments in them."""
    starts_at, ends_at = _moment(starts_at), _moment(ends_at)
    if ends_at <= starts_at:
        raise InvalidInput("it must end after it starts")
    if practitioner_id is not None and list(location_ids) != [None]:
        raise InvalidInput("time off is at every location; give no location")
    if not location_ids or len(set(location_ids)) != len(location_ids):
        raise InvalidInput("give each location once")
    if source == CLOSURE_FROM_DESK and ends_at <= uow.clock.now():
        raise InvalidInput("that time is already over; give a time still to come")
    for location_id in location_ids:
        if location_id is not None and await uow.session.get(Location, location_id) is None:
            raise NotFound(f"there is no location {location_id}")
    await _lock(uow, practitioner_id)
    rows = [
        Closure(practitioner_id=practitioner_id, location_id=location_id, starts_at=starts_at,
                ends_at=ends_at, reason=_reason(reason), source=source,
                created_at=uow.clock.now())
        for location_id in location_ids
    ]
    seen = await audit.watch(uow, actor)
    uow.session.add_all(rows)
    await uow.session.flush()
    ids = ", ".join(str(row.id) for row in rows)
    if practitioner_id is None:
        await seen.record("closure.add", summary=f"closure {ids}")
    else:
        await seen.record(
            "time_off.add", summary=f"time off {ids} of practitioner {practitioner_id}"
        )
    return rows, await booked_in(uow, rows)


async def get(uow: UnitOfWork, closure_id: int, *, time_off: bool) -> Closure:
    """A clinic closure (``time_off`` False) or a time off (True) by id, or NotFound."""
    closure = await uow.session.get(Closure, closure_id)
    if closure is None or (closure.practitioner_id is not None) != time_off:
        what = "time off" if time_off else "closure"
        raise NotFound(f"there is no {what} {closure_id}")
    return closure


async def remove(
    uow: UnitOfWork, closure_id: int, *, time_off: bool, actor: audit.Actor | None = None
) -> Closure:
    """Delete a closure or time off (whoever made it); the row as it was. The times it
    opens are offered to the waitlist (:func:`bot.services.waitlist_opened.times_opened`)."""
    closure = await get(uow, closure_id, time_off=time_off)
    seen = await audit.watch(uow, actor)
    await uow.session.delete(closure)
    await uow.session.flush()
    await waitlist_opened.times_opened(
        uow, closure.starts_at, closure.ends_at, practitioner_id=closure.practitioner_id,
        location_id=closure.location_id)
    what = "time_off" if time_off else "closure"
    await seen.record(f"{what}.remove", summary=f"{what.replace('_', ' ')} {closure_id} removed")
    return closure


async def listing(
    uow: UnitOfWork, *, time_off: bool, since: datetime, practitioner_id: int | None = None
) -> list[Closure]:
    """Closures (or time off, of one practitioner or all) ending after ``since``, by start."""
    stmt = select(Closure).where(Closure.ends_at > since)
    if time_off:
        stmt = stmt.where(Closure.practitioner_id.is_not(None))
        if practitioner_id is not None:
            stmt = stmt.where(Closure.practitioner_id == practitioner_id)
    else:
        stmt = stmt.where(Closure.practitioner_id.is_(None))
    return list(await uow.session.scalars(stmt.order_by(Closure.starts_at, Closure.id)))


async def notify_patients(
    uow: UnitOfWork, closure: Closure, *, actor: audit.Actor | None = None
) -> Notified:
    """Queue one message per patient with a booked appointment in ``closure`` (once each)."""
    seen = await audit.watch(uow, actor)
    affected = await booked_in(uow, [closure])
    by_patient: dict[int, list[int]] = {}
    for appointment in affected:
        by_patient.setdefault(appointment.patient_id, []).append(appointment.id)
    kind = PRACTITIONER_AWAY if closure.practitioner_id is not None else CLINIC_CLOSED
    told: list[int] = []
    already: list[int] = []
    unreachable: list[int] = []
    for patient_id, appointment_ids in by_patient.items():
        if await reminders.recipient_for(uow, patient_id) is None:
            unreachable.append(patient_id)
            continue
        created = await outbox.enqueue(
            uow, purpose=f"closure:{closure.id}:patient:{patient_id}", kind=kind,
            params={"closure_id": closure.id, "appointment_ids": appointment_ids},
            patient_id=patient_id,
        )
        (told if created else already).append(patient_id)
    what = "time_off" if closure.practitioner_id is not None else "closure"
    told_of = f"{len(told)} patients told of {what.replace('_', ' ')} {closure.id}"
    await seen.record(f"{what}.notify", summary=told_of)
    return Notified(told, already, unreachable)


async def sync_file(uow: UnitOfWork, wanted: list[Wanted]) -> Synced:
    """Make the file's closures exactly ``wanted`` (the desk's are left alone)."""
    have = list(await uow.session.scalars(
        select(Closure).where(Closure.source == CLOSURE_FROM_FILE).order_by(Closure.id)))
    by_identity: dict[tuple[int | None, int | None, datetime, datetime], list[Closure]] = {}
    for closure in have:
        identity = (closure.practitioner_id, closure.location_id, closure.starts_at,
                    closure.ends_at)
        by_identity.setdefault(identity, []).append(closure)
    added: list[Closure] = []
    updated: list[Closure] = []
    unchanged: list[Closure] = []
    for item in wanted:
        matches = by_identity.get(item.identity)
        if matches:
            found = matches.pop(0)
            if found.reason != _reason(item.reason):
                found.reason = _reason(item.reason)
                updated.append(found)
            else:
                unchanged.append(found)
            continue
        rows, _ = await add(
            uow, starts_at=item.starts_at, ends_at=item.ends_at,
            practitioner_id=item.practitioner_id, location_ids=[item.location_id],
            reason=item.reason, source=CLOSURE_FROM_FILE,
        )
        added.extend(rows)
    removed = [closure for left in by_identity.values() for closure in left]
    for closure in removed:
        await uow.session.delete(closure)
    await uow.session.flush()
    return Synced(added, updated, unchanged, removed)


async def clinic_zone(uow: UnitOfWork) -> ZoneInfo:
    """The clinic's timezone (closures are typed and shown in it)."""
    return zone(await get_clinic(uow))
