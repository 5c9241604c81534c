"""Reading a day or time the patient typed ("tomorrow", "Friday afternoon", "viernes 15:00").

:func:`parse_wanted` turns the text into a :class:`Wanted`: a day, a time of day, and a part
of the day (morning, afternoon, evening), each possibly missing. ``dateparser`` reads the day
and time in the patient's language (English understood too) relative to the clinic's local
"now", preferring future dates; the parts of the day are taken out first, because dateparser
reads "afternoon" as 15:00 and does not know "por la tarde" or "après-midi". A few spellings it
misreads are rewritten first: "15h30" -> "15:30", "at 3" -> "at 3:00", "3 de la tarde" ->
"3:00 pm". Nothing here touches the database; the booking steps decide what the answer picks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any, Literal

from dateparser.date import DateDataParser

Part = Literal["morning", "afternoon", "evening"]
PARTS: tuple[Part, ...] = ("morning", "afternoon", "evening")  # in the day's order
MAX_CHARS = 60
NOON, EVENING = time(12, 0), time(17, 0)

_PART_PHRASES: dict[str, tuple[tuple[str, Part], ...]] = {
    "en": (
        (r"\b(?:in the |this )?morning\b", "morning"),
        (r"\b(?:in the |this )?afternoon\b", "afternoon"),
        (r"\b(?:in the |this )?evening\b|\btonight\b", "evening"),
    ),
    "es": (
        (r"\b(?:por|en) la ma[ñn]ana\b", "morning"),
        (r"\b(?:por|en) la tarde\b", "afternoon"),
        (r"\b(?:por|en) la noche\b", "evening"),
    ),
    "fr": (
        (r"\b(?:le |ce )?matin\b", "morning"),
        (r"(?:\bl'|\bcet )?apr[eè]s[- ]?midi\b", "afternoon"),
        (r"\b(?:le |ce )?soir\b", "evening"),
    ),
}
_REWRITES: tuple[tuple[str, str], ...] = (
    (r"\b(\d{1,2})(?::(\d{2}))? de la (?:ma[ñn]ana|madrugada)\b", r"\1:\2 am"),
    (r"\b(\d{1,2})(?::(\d{2}))? de la (?:tarde|noche)\b", r"\1:\2 pm"),
    (r"\b(\d{1,2})\s*h\s*(\d{2})\b", r"\1:\2"),
    (r"\b(\d{1,2})\s*h\b", r"\1:00"),
    (r"\b(at|a las|a la|à|vers)\s+(\d{1,2})\b(?!\s*(?::|am\b|pm\b|\d))", r"\1 \2:00"),
)
_FILLERS = re.compile(r"^(?:on|this|el|este|para el|le|ce|pour)\s+")


@dataclass(frozen=True)
class Wanted:
    """What the patient asked for. ``day`` None: no day named (or today); ``time`` None: any."""

    day: date | None
    time: time | None
    part: Part | None


def part_of_day(moment: time) -> Part:
    """Morning before noon, afternoon until 17:00, evening after."""
    if moment < NOON:
        return "morning"
    return "afternoon" if moment < EVENING else "evening"


def _take_part(text: str, language: str) -> tuple[str, Part | None]:
    for lang in dict.fromkeys([language, "en"]):
        for pattern, part in _PART_PHRASES.get(lang, ()):
            found = re.search(pattern, text)
            if found:
                return (text[: found.start()] + " " + text[found.end() :]).strip(), part
    return text, None


def _rewrite(text: str) -> str:
    for pattern, replacement in _REWRITES:
        text = re.sub(pattern, partial(_expand, replacement=replacement), text)
    return " ".join(text.split())


def _expand(match: re.Match[str], replacement: str) -> str:
    groups = [g if g is not None else "00" for g in match.groups()]
    out = replacement
    for index, value in enumerate(groups, start=1):
        out = out.replace(f"\\{index}", value)
    return out


def _parse(text: str, languages: list[str], base: datetime) -> tuple[datetime, str] | None:
    settings: dict[str, Any] = {
        "RELATIVE_BASE": base,
        "PREFER_DATES_FROM": "future",
        "RETURN_TIME_AS_PERIOD": True,
    }
    data = DateDataParser(languages=languages, settings=settings).get_date_data(text)
    if data.date_obj is None:
        return None
    return data.date_obj.replace(tzinfo=None), str(data.period)


def parse_wanted(text: str, language: str, now: datetime) -> Wanted | None:
    """The day/time/part of day in ``text``; None when it names none of them.

    ``now`` is the clinic's local time, naive. Periods longer than a day ("November", "next
    week") and bare numbers are not days: None.
    """
    cleaned = " ".join(text.casefold().split())[:MAX_CHARS]
    rest, part = _take_part(cleaned, language)
    rest = _rewrite(rest)
    if not rest:
        return Wanted(None, None, part) if part else None
    if rest.isdecimal():
        return None
    languages = list(dict.fromkeys([language, "en"]))
    parsed = _parse(rest, languages, now)
    if parsed is None and _FILLERS.match(rest):
        rest = _FILLERS.sub("", rest)
        parsed = _parse(rest, languages, now)
    if parsed is None or parsed[1] not in ("day", "time"):
        return None
    moment, period = parsed
    if period == "day":
        return Wanted(moment.date(), None, part)
    # A time alone lands on the base's date whatever the base: then no day was named.
    other = now + timedelta(days=3)
    again = _parse(rest, languages, other)
    named_day = not (
        moment.date() == now.date() and again is not None and again[0].date() == other.date()
    )
    return Wanted(moment.date() if named_day else None, moment.time(), None)
