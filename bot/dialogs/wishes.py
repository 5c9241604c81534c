"""What a request typed in one message asked for, kept while the booking steps run.

:mod:`bot.dialogs.understood` leaves it in ``ctx.data["wish"]`` (JSON: practitioner and location
ids, day, time, part of the day); the booking steps read it to narrow the practitioners and
places they offer (those named, and those with free times on the day named) and, once those
are known, to go straight to the day and times asked for.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any, TypeVar

from bot.dialogs.base import DialogContext
from bot.dialogs.understand import Understood
from bot.dialogs.when import PARTS, Wanted
from bot.services import availability

WISH = "wish"
Pair = TypeVar("Pair", bound=tuple[Any, ...])


def keep(ctx: DialogContext, found: Understood) -> None:
    """Remember what ``found`` asked for (nothing when it asked for nothing of this)."""
    wanted = found.when
    ctx.data[WISH] = {
        "practitioner_id": found.practitioner_id,
        "location_id": found.location_id,
        "day": wanted.day.isoformat() if wanted and wanted.day else None,
        "time": wanted.time.strftime("%H:%M") if wanted and wanted.time else None,
        "part": wanted.part if wanted else None,
    }


def wish(ctx: DialogContext) -> dict[str, Any] | None:
    found = ctx.data.get(WISH)
    return found if isinstance(found, dict) else None


def wanted(ctx: DialogContext) -> Wanted | None:
    """The day / time / part of the day asked for, if any."""
    found = wish(ctx)
    if found is None or not (found.get("day") or found.get("time") or found.get("part")):
        return None
    part = next((p for p in PARTS if p == found.get("part")), None)
    return Wanted(
        date.fromisoformat(found["day"]) if found.get("day") else None,
        time.fromisoformat(found["time"]) if found.get("time") else None,
        part,
    )


def narrow(ctx: DialogContext, pairs: list[Pair], practitioner: int, location: int) -> list[Pair]:
    """The (practitioner, location, ...) ``pairs`` the request names, or all when it names none
    of them (``practitioner``/``location``: where their ids sit in a pair)."""
    found = wish(ctx)
    if found is None:
        return pairs
    kept = [
        p for p in pairs
        if found.get("practitioner_id") in (None, p[practitioner])
        and found.get("location_id") in (None, p[location])
    ]
    return kept or pairs


async def open_that_day(ctx: DialogContext, fee_id: int, pairs: list[Pair]) -> list[Pair]:
    """Of the (practitioner id, location id, ...) ``pairs``, those with free times on the day
    the request named ("Ana on Thursday": where Ana works on Thursdays); all when it named no
    day or none has free times then (the day step explains)."""
    asked = wanted(ctx)
    if asked is None or asked.day is None or len(pairs) < 2:
        return pairs
    kept = [
        p for p in pairs
        if await availability.offered_slots(ctx.uow, p[0], p[1], fee_id, asked.day, 1)
    ]
    return kept or pairs
