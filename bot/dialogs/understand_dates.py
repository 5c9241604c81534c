"""Finding the day, time and part of the day inside a whole request ("massage next Tuesday
afternoon", "cambiar mi cita del viernes al lunes", "je voudrais un massage lundi 15h").

:func:`find_when` cuts the request into runs of date words (weekdays, months, today/tomorrow,
times, parts of the day, and the small words between them, in en/es/fr), corrects misspelt
weekdays and relative days ("tuesdy", "tomorow", "mercredy"), and reads each run with
:func:`bot.dialogs.when.parse_wanted` (``dateparser``: the patient's language and English,
future dates preferred, relative to the clinic's local "now"; no network). Words that are not
about dates ("massage", "Omar") never reach the date parser. Deterministic and database-free.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from datetime import datetime

from bot.dialogs.matching import fold
from bot.dialogs.when import Wanted, parse_wanted

WEEKDAYS = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo",
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
}
SHORT_WEEKDAYS = {
    "mon": "monday", "tue": "tuesday", "tues": "tuesday", "wed": "wednesday",
    "thu": "thursday", "thur": "thursday", "thurs": "thursday", "fri": "friday",
    "sat": "saturday", "sun": "sunday",
}
RELATIVE = {
    "today", "tomorrow", "tonight", "hoy", "manana", "demain", "aujourd", "hui",
    "pasado", "apres-demain",
}
MISSPELT = {"tomorow": "tomorrow", "tommorow": "tomorrow", "tommorrow": "tomorrow",
            "tmrw": "tomorrow", "tmr": "tomorrow", "2morrow": "tomorrow"}
MONTHS = {
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec", "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio",
    "agosto", "septiembre", "octubre", "noviembre", "diciembre", "janvier", "fevrier", "mars",
    "avril", "mai", "juin", "juillet", "aout", "septembre", "octobre", "novembre", "decembre",
}
PARTS = {
    "morning", "afternoon", "evening", "tarde", "noche", "matin", "apres-midi", "soir",
    "matinee", "midi",
}
# Small words that may sit inside a date phrase ("next", "a las", "por la", "le", "prochain").
JOINERS = {
    "next", "this", "on", "at", "the", "in", "of", "de", "del", "el", "la", "las", "a", "por",
    "en", "le", "l", "vers", "prochain", "prochaine", "proximo", "proxima", "que", "viene",
    "am", "pm", "ce", "cet", "cette", "este", "esta", "around", "about", "after", "apres",
}
# "next"-like words: dateparser does not read "mardi prochain" or "el próximo martes"; the
# nearest such day in the future is what they mean, which is what a bare weekday gives.
NEXT_WORDS = {"next", "prochain", "prochaine", "proximo", "proxima", "que", "viene"}
_TIME = re.compile(r"^\d{1,2}(?::\d{2}|h\d{2}|h|am|pm|st|nd|rd|th|er)?$")
_TIME_SURE = re.compile(r"^\d{1,2}(?::\d{2}|h\d{2}|h|am|pm)$")
_TOKEN = re.compile(r"[^\W_]+(?:[-:][^\W_]+)*", re.UNICODE)
FUZZY = 0.8


@dataclass(frozen=True)
class Found:
    """One date phrase of the request: where it starts (token index) and what it says."""

    start: int
    end: int
    wanted: Wanted


def tokens(text: str) -> list[str]:
    """The request's words, lower-case and with accents (what dateparser reads best)."""
    return _TOKEN.findall(text.casefold().replace("’", " ").replace("'", " "))


def _key(token: str) -> str:
    if _TIME.match(token):
        return token
    return fold(token).replace(" ", "-")


def _canonical(token: str) -> str:
    """The date word ``token`` means (typos corrected), or "" when it is none."""
    key = _key(token)
    if key in MISSPELT:
        return MISSPELT[key]
    if key in SHORT_WEEKDAYS and key != "mon":  # French "mon rendez-vous"
        return SHORT_WEEKDAYS[key]
    if key in WEEKDAYS or key in RELATIVE or key in MONTHS or key in PARTS:
        return token
    if _TIME.match(key):
        return token
    if len(key) >= 5:
        close = difflib.get_close_matches(key, sorted(WEEKDAYS | {"tomorrow"}), 1, FUZZY)
        if close:
            return close[0]
    return ""


def _is_day(words: list[str], index: int) -> bool:
    """Whether the word at ``index`` names a day ("la mañana" is a part of the day)."""
    key = _key(_canonical(words[index]) or words[index])
    if key == "manana" and index and _key(words[index - 1]) == "la":
        return False
    return key in WEEKDAYS or key in RELATIVE - {"hui", "pasado"} or key in MISSPELT.values()


def find_when(text: str, language: str, now: datetime) -> list[Found]:
    """The date phrases in ``text``, in order (``now``: the clinic's local time, naive)."""
    words = tokens(text)
    found: list[Found] = []
    for start, end in _runs(words):
        run = [_canonical(w) or w for w in words[start:end]]
        wanted = _read(run, language, now)
        if wanted is not None:
            found.append(Found(start, end, wanted))
    return found


def merged(found: list[Found]) -> Wanted | None:
    """One day/time/part from several phrases ("tuesday ... at 3pm"): the first of each."""
    if not found:
        return None
    day = next((f.wanted.day for f in found if f.wanted.day is not None), None)
    moment = next((f.wanted.time for f in found if f.wanted.time is not None), None)
    part = next((f.wanted.part for f in found if f.wanted.part is not None), None)
    return Wanted(day, moment, None if moment is not None else part)


def _runs(words: list[str]) -> list[tuple[int, int]]:
    """Spans of date words (joiners inside only), split where a second day starts."""
    runs: list[tuple[int, int]] = []
    index = 0
    while index < len(words):
        if not _anchor(words, index):
            index += 1
            continue
        start = index
        while start > 0 and _key(words[start - 1]) in JOINERS:
            start -= 1
        end = index + 1
        days = 1 if _is_day(words, index) else 0
        while end < len(words):
            key = _key(words[end])
            if _anchor(words, end):
                if _is_day(words, end) and days:
                    break
                days += _is_day(words, end)
                end += 1
            elif key in JOINERS:
                end += 1
            else:
                break
        while end > index + 1 and _key(words[end - 1]) in JOINERS - {"am", "pm"}:
            end -= 1
        runs.append((start, end))
        index = end
    return runs


def _anchor(words: list[str], index: int) -> bool:
    """Whether the word at ``index`` is a date word (a bare number only beside a time word)."""
    word = _key(words[index])
    canonical = _canonical(words[index])
    if not canonical:
        return False
    if word.isdecimal() or word[-2:] in {"st", "nd", "rd", "th", "er"}:
        before = _key(words[index - 1]) if index else ""
        after = _key(words[index + 1]) if index + 1 < len(words) else ""
        return (
            before in {"at", "a", "las", "vers", "around"} or after in {"am", "pm", "h"}
            or after in MONTHS or before in MONTHS
            or (after == "de" and index + 2 < len(words) and _key(words[index + 2]) in MONTHS)
        )
    return not _TIME.match(word) or bool(_TIME_SURE.match(word))


def _read(run: list[str], language: str, now: datetime) -> Wanted | None:
    phrase = " ".join(run)
    wanted = parse_wanted(phrase, language, now)
    if wanted is None:
        plain = [w for w in run if _key(w) not in NEXT_WORDS]
        wanted = parse_wanted(" ".join(plain), language, now) if plain != run else None
    if wanted is None and len(run) > 1:
        pieces = [parse_wanted(w, language, now) for w in run if _key(w) not in JOINERS]
        known = [p for p in pieces if p is not None]
        if not known:
            return None
        day = next((p.day for p in known if p.day is not None), None)
        moment = next((p.time for p in known if p.time is not None), None)
        part = next((p.part for p in known if p.part is not None), None)
        return replace(known[0], day=day, time=moment, part=None if moment else part)
    return wanted
