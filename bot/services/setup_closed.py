"""Loading the set-up file's ``[[closures]]`` and ``[[time_off]]`` (part of ``clinicbot load``).

The file's closures become exactly what it lists (:func:`bot.services.closures.sync_file`): an
entry already loaded is left as it is (a changed reason is updated), a new one is added, and
one the file no longer lists is removed (the time it opens is offered to the waitlist);
closures the desk added are never touched. A closure
over several locations is one row per location. Local times are read in the clinic's zone: a
date is a whole day, and a wall time the clocks skip or show twice is its first moment.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.clinicfile.schema import ClinicSpec, ClosedTime
from bot.services import closures, waitlist_opened
from bot.services.availability import first_moment_at
from bot.services.clinic import zone
from bot.services.wall import wall_text
from bot.storage.models import Clinic, Closure, Location, Practitioner
from bot.storage.uow import UnitOfWork


class Counted(Protocol):
    """A section's counts in the load summary (:class:`bot.services.setup.Counts`)."""

    created: int
    updated: int
    unchanged: int
    removed: int


def _bound(value: date | datetime, tz: ZoneInfo) -> date | datetime:
    return first_moment_at(value, tz) if isinstance(value, datetime) else value


def _span(entry: ClosedTime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    end = _bound(entry.end, tz) if entry.end is not None else None
    return closures.span(_bound(entry.start, tz), end, tz)


def wanted(
    spec: ClinicSpec, tz: ZoneInfo, locations: dict[str, Location],
    practitioners: dict[str, Practitioner],
) -> list[closures.Wanted]:
    """The file's closures and time off, one per location, in UTC."""
    found: list[closures.Wanted] = []
    for closure in spec.closures:
        start, end = _span(closure, tz)
        places: list[int | None] = [locations[key].id for key in closure.locations] or [None]
        found += [closures.Wanted(None, place, start, end, closure.reason) for place in places]
    for away in spec.time_off:
        start, end = _span(away, tz)
        practitioner = practitioners[away.practitioner].id
        found.append(closures.Wanted(practitioner, None, start, end, away.reason))
    return found


async def load_closed(
    uow: UnitOfWork, spec: ClinicSpec, clinic: Clinic, locations: dict[str, Location],
    practitioners: dict[str, Practitioner], counts: Mapping[str, Counted],
) -> list[str]:
    """Sync the file's closures; one line per new closure that has booked appointments."""
    tz = zone(clinic)
    synced = await closures.sync_file(uow, wanted(spec, tz, locations, practitioners))
    for closure in synced.added:
        _count(counts, closure).created += 1
    for closure in synced.updated:
        _count(counts, closure).updated += 1
    for closure in synced.unchanged:
        _count(counts, closure).unchanged += 1
    for closure in synced.removed:  # the time it opens goes to the waitlist
        _count(counts, closure).removed += 1
        await waitlist_opened.times_opened(
            uow, closure.starts_at, closure.ends_at, practitioner_id=closure.practitioner_id,
            location_id=closure.location_id)
    lines = []
    for closure in synced.added:
        booked = await closures.booked_in(uow, [closure])
        if booked:
            away = closure.practitioner_id is not None
            command = "time-off" if away else "closed"
            ids = ", ".join(str(appointment.id) for appointment in booked)
            lines.append(
                f"{'time off' if away else 'closure'} {wall_text(closure.starts_at, tz)} to "
                f"{wall_text(closure.ends_at, tz)} covers booked appointment(s) {ids}: move or "
                f"cancel them; 'clinicbot staff {command} list' gives its ID, and 'clinicbot "
                f"staff {command} notify ID' tells those patients")
    return lines


def _count(counts: Mapping[str, Counted], closure: Closure) -> Counted:
    return counts["time_off" if closure.practitioner_id is not None else "closures"]
