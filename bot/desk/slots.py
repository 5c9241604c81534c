"""The free-time picker the booking and reschedule pages share (``slot_picker.html``).

It asks the same services as chat and ``clinicbot staff slots``: where a fee can be booked
(:func:`bot.services.availability.allowed_pairs`, narrowed to a package's practitioners and
locations) and the free start times (:func:`bot.services.availability.offered_slots` with
``booked_by="staff"``: no online notice or horizon, never the past, never closed time). A
package's expiry ends the days it can cover. Times travel as UTC ISO moments, so a time the
clocks show twice is never ambiguous.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import groupby

from bot.desk.web import Desk
from bot.services import availability
from bot.services.clinic import get_clinic, local_today
from bot.services.clinic_setup import FeeFacts, PlaceFacts, PractitionerFacts
from bot.services.errors import InvalidInput
from bot.services.package_scope import PackageScope
from bot.storage.uow import UnitOfWork

DAYS_SHOWN = 7


@dataclass(frozen=True, slots=True)
class Start:
    """One free start time: the moment (UTC ISO), the time as shown and the full label."""

    at: str
    time: str
    label: str


@dataclass
class Picker:
    """What the picker shows: the places, the chosen one, the days and their free times."""

    pairs: list[tuple[PractitionerFacts, PlaceFacts]]
    where: str  # "PRACTITIONER_ID-LOCATION_ID", or "" when the fee can be booked nowhere
    first_day: date
    today: date
    days: list[tuple[date, list[Start]]] = field(default_factory=list)
    expires_on: date | None = None

    @property
    def practitioner_id(self) -> int | None:
        return int(self.where.split("-")[0]) if self.where else None

    @property
    def location_id(self) -> int | None:
        return int(self.where.split("-")[1]) if self.where else None


def number(value: object) -> int | None:
    """A form or query value as a positive id, else None."""
    return int(value) if isinstance(value, str) and value.isdigit() and value != "0" else None


def parse_day(value: object) -> date | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def parse_moment(value: object) -> datetime:
    """A start time sent by the picker (an aware ISO moment), in UTC; else InvalidInput."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput("choose one of the free times shown")
    return moment.astimezone(UTC)


async def pick(uow: UnitOfWork, desk: Desk, query: Mapping[str, str], fee: FeeFacts, *,
               scope: PackageScope | None = None, expires_on: date | None = None,
               exclude_appointment_id: int | None = None) -> Picker:
    """The picker for ``fee`` from ``query`` (``where``, ``day``)."""
    today = local_today(await get_clinic(uow), uow.clock.now())
    pairs = await availability.allowed_pairs(uow, fee.id, scope)
    keys = [f"{p.id}-{loc.id}" for p, loc in pairs]
    wanted = query.get("where", "")
    where = wanted if wanted in keys else (keys[0] if keys else "")
    first = max(parse_day(query.get("day")) or today, today)
    picker = Picker(pairs, where, first, today, expires_on=expires_on)
    if picker.practitioner_id is None or picker.location_id is None:
        return picker
    found = await availability.offered_slots(
        uow, picker.practitioner_id, picker.location_id, fee.id, first, DAYS_SHOWN,
        booked_by="staff", exclude_appointment_id=exclude_appointment_id)
    grouped = {day: list(starts) for day, starts in
               groupby(found, key=lambda moment: moment.astimezone(desk.zone).date())}
    for offset in range(DAYS_SHOWN):
        day = first + timedelta(days=offset)
        if expires_on is not None and day > expires_on:
            break
        picker.days.append((day, [
            Start(moment.isoformat(), desk.t.time_text(moment, desk.zone),
                  desk.t.datetime_text(moment, desk.zone)) for moment in grouped.get(day, [])]))
    return picker


def later(picker: Picker) -> date:
    """The first day of the next page of days."""
    return picker.first_day + timedelta(days=DAYS_SHOWN)
