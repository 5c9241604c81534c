"""What a patient reads when the clinic closes (or a practitioner is away) over their booking.

:func:`closed_notice` writes the text of an outbox message of kind ``clinic_closed`` or
``practitioner_away`` (queued by :func:`bot.services.closures.notify_patients`) in the
recipient's language; :mod:`bot.delivery.notifications` renders it, and skips it when the
closure is gone or none of its appointments is still booked in closed time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import Translator
from bot.services.closures import whole_days
from bot.storage.models import Closure

DOUBLE_STOP = re.compile(r"(?<!\.)\.\.(?!\.)")


@dataclass(frozen=True)
class Affected:
    """One appointment in the closed time, as the patient reads it."""

    starts_at: datetime
    treatment: str
    practitioner: str


def _period(t: Translator, closure: Closure, tz: ZoneInfo) -> str:
    days = whole_days(closure, tz)
    if days is not None and days[0] == days[1]:
        return t.gettext("on {day}", day=t.date_text(days[0]))
    if days is not None:
        return t.gettext("from {first} to {last}", first=t.date_text(days[0]),
                         last=t.date_text(days[1]))
    return t.gettext("from {first} to {last}", first=t.datetime_text(closure.starts_at, tz),
                     last=t.datetime_text(closure.ends_at, tz))


def _headline(
    t: Translator, closure: Closure, clinic: str, period: str, place: str | None, away: str | None
) -> str:
    values = {"clinic": clinic, "period": period, "location": place, "practitioner": away,
              "reason": closure.reason}
    if away is not None:
        if closure.reason:
            return t.gettext("{clinic}: {practitioner} is away {period} ({reason}).", **values)
        return t.gettext("{clinic}: {practitioner} is away {period}.", **values)
    if place is not None:
        if closure.reason:
            return t.gettext("{clinic}: we are closed at {location} {period} ({reason}).",
                             **values)
        return t.gettext("{clinic}: we are closed at {location} {period}.", **values)
    if closure.reason:
        return t.gettext("{clinic}: we are closed {period} ({reason}).", **values)
    return t.gettext("{clinic}: we are closed {period}.", **values)


def closed_notice(
    t: Translator, tz: ZoneInfo, *, clinic: str, closure: Closure, name: str,
    appointments: list[Affected], location: str | None = None, practitioner: str | None = None,
) -> str:
    """The whole message: what is closed and when, which of ``name``'s appointments fall then,
    and what to do."""
    lines = [_headline(t, closure, clinic, _period(t, closure, tz), location, practitioner)]
    if len(appointments) == 1:
        [only] = appointments
        lines.append(t.gettext(
            "{name}'s appointment on {when} ({treatment} with {practitioner}) cannot take place "
            "then.", name=name, when=t.datetime_text(only.starts_at, tz),
            treatment=only.treatment, practitioner=only.practitioner))
    else:
        whens = ", ".join(t.datetime_text(a.starts_at, tz) for a in appointments)
        lines.append(t.ngettext(
            "{name} has {n} appointment then ({when}); it cannot take place.",
            "{name} has {n} appointments then ({when}); they cannot take place.",
            len(appointments), name=name, when=whens))
    lines.append(t.gettext("Please choose another time, or contact us and we will help."))
    # A time that ends in an abbreviation ("5:00 p.m.") closes its sentence by itself.
    return DOUBLE_STOP.sub(".", " ".join(lines))
