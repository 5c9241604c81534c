"""Reading the days and parts of the day a waiting patient typed: "Tuesdays or Thursdays,
mornings or evenings", "martes y jueves por la tarde", "le lundi ou le mercredi soir", "2 4".

Weekdays and parts of the day are the words the waitlist steps offer (in the patient's language)
and their English, Spanish and French names, singular or plural, close misspellings accepted
("tuesdy", "jeudis"); "weekends" and "weekdays" name several days. Numbers pick the options of
the step by their number. Deterministic, no database (the steps in
:mod:`bot.dialogs.waitlist_steps` decide what an answer leads to).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.dialogs.matching import fold
from bot.dialogs.understand_dates import SHORT_WEEKDAYS

WEEKDAY_NAMES = (
    ("monday", "lunes", "lundi"),
    ("tuesday", "martes", "mardi"),
    ("wednesday", "miercoles", "mercredi"),
    ("thursday", "jueves", "jeudi"),
    ("friday", "viernes", "vendredi"),
    ("saturday", "sabado", "samedi"),
    ("sunday", "domingo", "dimanche"),
)
SEVERAL_DAYS: Mapping[str, tuple[int, ...]] = {
    "weekend": (5, 6), "weekends": (5, 6), "week end": (5, 6), "fin de semana": (5, 6),
    "fines de semana": (5, 6), "weekday": (0, 1, 2, 3, 4), "weekdays": (0, 1, 2, 3, 4),
    "entre semana": (0, 1, 2, 3, 4),
}
PART_WORDS: Mapping[str, str] = {
    "morning": "morning", "mornings": "morning", "manana": "morning", "mananas": "morning",
    "matin": "morning", "matins": "morning", "matinee": "morning", "matinees": "morning",
    "am": "morning", "afternoon": "afternoon", "afternoons": "afternoon", "tarde": "afternoon",
    "tardes": "afternoon", "apres midi": "afternoon", "aprem": "afternoon", "pm": "afternoon",
    "evening": "evening", "evenings": "evening", "night": "evening", "nights": "evening",
    "noche": "evening", "noches": "evening", "soir": "evening", "soirs": "evening",
    "soiree": "evening", "soirees": "evening", "tonight": "evening",
}
FUZZY = 0.8


@dataclass(frozen=True)
class Read:
    """What an answer says: weekdays (0 = Monday), parts of the day, and the option keys its
    numbers pick, each in the order they first appear."""

    days: tuple[int, ...] = ()
    parts: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.days or self.parts or self.keys)


def _day_names(labels: Mapping[int, str]) -> dict[str, int]:
    names = {fold(label): day for day, label in labels.items()}
    for day, known in enumerate(WEEKDAY_NAMES):
        names.update((name, day) for name in known)
    names.update((short, names[long]) for short, long in SHORT_WEEKDAYS.items())
    return names


def read(text: str, weekday_labels: Mapping[int, str], options: Sequence[str]) -> Read:
    """The days, parts and numbered options in ``text`` (``weekday_labels``: the days as the
    step shows them; ``options``: the step's option keys, numbered from 1)."""
    names = _day_names(weekday_labels)
    words = fold(text).split()
    days: list[int] = []
    parts: list[str] = []
    keys: list[str] = []
    index = 0
    while index < len(words):
        for size in (3, 2, 1):  # "fines de semana", "apres midi", "tuesdays"
            phrase = " ".join(words[index : index + size])
            if len(phrase.split()) == size and (phrase in SEVERAL_DAYS or phrase in PART_WORDS):
                days += SEVERAL_DAYS.get(phrase, ())
                parts += [PART_WORDS[phrase]] if phrase in PART_WORDS else []
                index += size
                break
        else:
            word = words[index]
            index += 1
            if word.isdecimal():
                if 1 <= int(word) <= len(options):
                    keys.append(options[int(word) - 1])
                continue
            day = _day(word, names)
            if day is not None:
                days.append(day)
    return Read(tuple(dict.fromkeys(days)), tuple(dict.fromkeys(parts)),
                tuple(dict.fromkeys(keys)))


def _day(word: str, names: Mapping[str, int]) -> int | None:
    """The weekday ``word`` names: exactly, as a plural, or misspelt a little."""
    for candidate in (word, word[:-1] if word.endswith("s") else word):
        if candidate in names:
            return names[candidate]
    if len(word) >= 5:
        close = difflib.get_close_matches(word, sorted(n for n in names if len(n) >= 5), 1,
                                          FUZZY)
        if close:
            return names[close[0]]
    return None
