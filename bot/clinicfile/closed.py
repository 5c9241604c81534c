"""Checks of ``[[closures]]`` and ``[[time_off]]``: references, and an end after the start.

A date is a whole day: as ``from`` its first moment, as ``to`` its last (the day is included).
A ``from`` with a time needs a ``to``. The same rules are applied by
:func:`bot.services.closures.span` when the loader turns the entries into UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from bot.clinicfile.errors import Loc, Problem
from bot.clinicfile.fields import shown
from bot.clinicfile.schema import ClinicSpec, ClosedTime


def _written(value: date | datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if isinstance(value, datetime) else value.isoformat()


def local_bounds(entry: ClosedTime) -> tuple[datetime, datetime | None]:
    """The entry's local (naive) start and end; end None when ``to`` is missing after a time."""
    start, end = entry.start, entry.end
    begin = start if isinstance(start, datetime) else datetime.combine(start, time(0))
    if end is None:
        if isinstance(start, datetime):
            return begin, None
        end = start
    if isinstance(end, datetime):
        return begin, end
    return begin, datetime.combine(end + timedelta(days=1), time(0))


def _span(loc: Loc, entry: ClosedTime) -> Iterable[Problem]:
    begin, finish = local_bounds(entry)
    if finish is None:
        yield Problem((*loc, "from"), f'{_written(entry.start)} is a time, so say when it ends: '
                      f'add to = "{entry.start:%Y-%m-%d} 17:00" (or a date: through that day)')
    elif finish <= begin:
        assert entry.end is not None  # a missing "to" after a date is that one day
        yield Problem((*loc, "to"), f"{_written(entry.end)} is before from "
                      f"{_written(entry.start)} (or the same moment); give a later to (a date as "
                      "to includes that whole day)")


def check_closed(spec: ClinicSpec) -> Iterable[Problem]:
    """Every problem of the file's closures and time off."""
    locations = {location.key for location in spec.locations}
    practitioners = {practitioner.key for practitioner in spec.practitioners}
    for i, closure in enumerate(spec.closures):
        yield from _span(("closures", i), closure)
        for j, key in enumerate(closure.locations):
            if key not in locations:
                yield Problem(("closures", i, "locations", j),
                              f"there is no location {shown(key)}; use the key of one of "
                              f"[[locations]] ({', '.join(map(shown, sorted(locations)))})")
            elif key in closure.locations[:j]:
                yield Problem(("closures", i, "locations", j),
                              f"{shown(key)} is listed twice; list it once")
    for i, away in enumerate(spec.time_off):
        yield from _span(("time_off", i), away)
        if away.practitioner not in practitioners:
            keys = ", ".join(map(shown, sorted(practitioners)))
            yield Problem(("time_off", i, "practitioner"),
                          f"there is no practitioner {shown(away.practitioner)}; use the key of "
                          f"one of [[practitioners]] ({keys})")
