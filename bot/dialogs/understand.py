"""Understanding a request typed in one message: what the patient wants, and with what.

:func:`understand` reads "book a massage with Omar next Tuesday afternoon", "quiero una cita de
quiropráctica el viernes por la mañana", "move my Friday appointment to Monday" or "how many
sessions do I have left?" (en/es/fr, typos tolerated) into an :class:`Understood`: the intent
(``book``, ``reschedule``, ``cancel``, ``packages``, ``my_data``, ``forget_me`` or ``none``; the
last two: :mod:`bot.dialogs.understand_data`) and the slots found: the
treatment (fee), practitioner, location and package, matched against the clinic's own names
(:class:`Names`; case- and accent-insensitive, close misspellings accepted), and the day / time /
part of the day (:mod:`bot.dialogs.understand_dates`). Deterministic, no network, no database:
the booking steps decide what a guess leads to, and every guess is confirmed before booking.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.dialogs.matching import fold
from bot.dialogs.understand_data import data_intent
from bot.dialogs.understand_dates import Found, find_when, merged, tokens
from bot.dialogs.when import Wanted

Intent = Literal["book", "reschedule", "cancel", "packages", "my_data", "forget_me", "none"]
FUZZY = 0.8
# Words patients use for a treatment, by the stem a clinic's fee names carry ("Massage therapy",
# "Physiotherapy follow-up", "Chiropractic adjustment").
SYNONYMS = {
    "massage": ("masaje", "masajes", "massages", "masage", "massge", "masaj", "rmt"),
    "physio": ("physiotherapy", "physiotherapie", "fisio", "fisioterapia", "fisioterapeuta",
               "kine", "kinesitherapie", "kinesitherapeute", "physiotherapist", "pt"),
    "chiro": ("chiropractic", "chiropractor", "quiropractica", "quiropractico", "quiro",
              "chiropratique", "chiropracteur", "chiropraxie", "adjustment", "ajuste",
              "ajustement"),
    "initial": ("first", "assessment", "evaluation", "evaluacion", "primera", "premiere",
                "premier", "bilan", "valoracion", "new"),
    "follow": ("follow-up", "followup", "seguimiento", "suivi", "control", "revision"),
}
PACKAGE_WORDS = {"package", "packages", "pack", "bono", "bonos", "paquete", "paquetes",
                 "forfait", "forfaits", "carnet", "abono", "sessions", "sesiones", "seances"}
NO_PACKAGE = {("without",), ("sin",), ("sans",), ("no", "package"), ("pay", "full")}
# Generic words of names that say nothing on their own ("Massage therapy 60 min").
NAME_NOISE = {"therapy", "min", "minutes", "the", "end", "de", "la", "le", "session", "with"}
INTENT_WORDS: dict[str, tuple[str, ...]] = {
    "cancel": ("cancel", "cancell", "canceling", "cancelling", "cancelar", "cancela", "anular",
               "anula", "annuler", "annule", "annulez", "call off", "cant make it",
               "can t make it", "no puedo ir", "ne pourrai pas venir"),
    "reschedule": ("move", "reschedule", "resched", "postpone", "change", "push", "cambiar",
                   "cambia", "mover", "mueve", "reprogramar", "aplazar", "pasar", "deplacer",
                   "deplace", "decaler", "changer", "reporter", "another day", "otro dia",
                   "un autre jour"),
    "packages": ("how many", "sessions left", "uses left", "left on my", "remaining",
                 "cuantas", "me quedan", "quedan", "combien", "reste", "restent"),
    "my_packages": ("my packages", "mis bonos", "mes forfaits", "my package", "mi bono",
                    "mon forfait", "mi paquete", "mes seances", "mis paquetes", "my pack"),
    "book": ("book", "booking", "appointment", "appt", "reserve", "schedule", "cita", "reservar",
             "reserva", "turno", "rdv", "rendez-vous", "rendez vous", "reserver"),
    # Words that make a day alone a request ("can I come Tuesday?"), not small talk.
    "wish": ("want", "like", "need", "come", "available", "free", "any", "quiero", "quisiera",
             "necesito", "puedo", "hay", "libre", "hueco", "voudrais", "veux", "besoin",
             "souhaite", "dispo", "disponible", "possible", "peux", "can", "could"),
}
STRONG_BOOK = ("book", "booking", "appointment", "cita", "reservar", "rdv", "rendez-vous",
               "reserver", "use")
APPOINTMENT_WORDS = {"appointment", "appointments", "appt", "booking", "session", "cita",
                     "citas", "turno", "rdv", "rendez-vous", "seance"}


KNOWN = {word for words in INTENT_WORDS.values() for word in words}


@dataclass(frozen=True)
class Name:
    """One of the clinic's names: a fee, practitioner, location or package (template)."""

    id: int
    name: str
    practitioner_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Names:
    """The clinic's own names a request is matched against."""

    fees: tuple[Name, ...]
    practitioners: tuple[Name, ...]
    locations: tuple[Name, ...]
    packages: tuple[Name, ...] = ()


@dataclass(frozen=True)
class Understood:
    """What a request says. ``explicit``: it says what it wants in words ("book", "cancel", "can
    I come ..."), not only by naming something ("Ana"). ``fee_ids``: the treatments it may mean
    (one: chosen); ``package_id`` a package it names; ``no_package`` it asks to book without
    one; ``when`` the day/time wanted (for a reschedule: the new one); ``moving_from`` the
    appointment's own day."""

    intent: Intent
    explicit: bool = True
    fee_ids: tuple[int, ...] = ()
    practitioner_id: int | None = None
    location_id: int | None = None
    package_id: int | None = None
    no_package: bool = False
    when: Wanted | None = None
    moving_from: Wanted | None = None
    words: tuple[str, ...] = field(default=(), repr=False)

    @property
    def fee_id(self) -> int | None:
        return self.fee_ids[0] if len(self.fee_ids) == 1 else None

    @property
    def anything(self) -> bool:
        """Whether any slot was found."""
        return bool(self.fee_ids or self.practitioner_id or self.location_id or self.package_id
                    or self.when or self.moving_from)


def _stem(word: str) -> str:
    for stem, variants in SYNONYMS.items():
        if word == stem or word in variants or word.startswith(stem):
            return stem
    return word


def _close(word: str, target: str) -> bool:
    """The same word, allowing a typo in words of four letters or more."""
    if word == target:
        return True
    if len(target) < 4 or len(word) < 4:
        return False
    if len(word) >= 5 and len(target) >= 5 and (target.startswith(word) or word.startswith(target)):
        return True
    return difflib.SequenceMatcher(None, word, target).ratio() >= FUZZY


def _name_words(name: str) -> list[str]:
    words = [_stem(w) for w in fold(name.replace("-", " ")).split()]
    return [w for w in words if w not in NAME_NOISE and not w.isdecimal()]


def _score(words: list[str], name: str) -> int:
    """How many of the name's words the request says."""
    return sum(1 for target in set(_name_words(name)) if any(_close(w, target) for w in words))


def _best(words: list[str], names: tuple[Name, ...]) -> list[Name]:
    scored = [(_score(words, n.name), n) for n in names]
    top = max((s for s, _ in scored), default=0)
    return [n for s, n in scored if s == top] if top else []


def _has(folded: str, phrases: tuple[str, ...]) -> bool:
    """Whether the text says one of ``phrases`` (a long word with a typo counts, unless it is
    itself another intent's word: "schedule" is not "reschedule")."""
    text = f" {folded} "
    words = folded.split()
    for phrase in phrases:
        if " " in phrase or "-" in phrase:
            if f" {phrase.replace('-', ' ')} " in text:
                return True
        elif any(w == phrase or (len(phrase) >= 6 and w not in KNOWN and _close(w, phrase))
                 for w in words):
            return True
    return False


def _intent(folded: str, slots: bool, dated: bool) -> Intent:
    asks = _has(folded, INTENT_WORDS["packages"]) and not _has(folded, ("book", "reservar"))
    if asks or (_has(folded, INTENT_WORDS["my_packages"]) and not slots
                and not _has(folded, STRONG_BOOK)):
        return "packages"
    if _has(folded, INTENT_WORDS["cancel"]):
        return "cancel"
    if _has(folded, INTENT_WORDS["reschedule"]) and _has(
        folded, (*APPOINTMENT_WORDS, "my", "mi", "mon", "ma", "to", "al", "a", "au")
    ):
        return "reschedule"
    wish = dated and _has(folded, INTENT_WORDS["wish"])
    if _has(folded, INTENT_WORDS["book"]) or slots or wish:
        return "book"
    return "none"


def understand(text: str, language: str, now: datetime, names: Names) -> Understood:
    """What ``text`` asks for (``now``: the clinic's local time, naive)."""
    raw = tokens(text)
    words = [_stem(fold(w).replace(" ", "-")) for w in raw]
    folded = fold(text)
    about_data = data_intent(folded)
    if about_data is not None:  # a copy of their data, or to be forgotten: nothing else
        return Understood(intent=about_data, words=tuple(words))
    found = find_when(text, language, now)
    dated = {i for f in found for i in range(f.start, f.end)}
    plain = [w for i, w in enumerate(words) if i not in dated]
    practitioners = _best(plain, names.practitioners)
    practitioner = practitioners[0] if len(practitioners) == 1 else None
    locations = _best(plain, names.locations)
    location = locations[0] if len(locations) == 1 else None
    named = {w for n in (*practitioners, *locations) for w in _name_words(n.name)}
    treatment = [w for w in plain if w not in named]
    fees = _best(treatment, names.fees)
    if practitioner is not None:
        fees = [f for f in fees or names.fees if practitioner.id in f.practitioner_ids]
    package = None
    if any(w in PACKAGE_WORDS or w.endswith("pack") for w in plain):
        packages = _best(treatment, names.packages)
        package = packages[0] if len(packages) == 1 else None
    no_package = any(all(w in plain for w in pair) for pair in NO_PACKAGE) and bool(
        {w for w in plain if w in PACKAGE_WORDS or w.endswith("pack")}
    )
    slots = bool(fees or practitioner or location or package)
    intent = _intent(folded, slots, bool(found))
    explicit = intent != "book" or _has(folded, INTENT_WORDS["book"]) or bool(
        found and _has(folded, INTENT_WORDS["wish"])
    )
    when, moving_from = _days(intent, found, raw)
    return Understood(
        intent=intent,
        explicit=explicit,
        fee_ids=tuple(f.id for f in fees) if len(fees) < len(names.fees) else (),
        practitioner_id=practitioner.id if practitioner else None,
        location_id=location.id if location else None,
        package_id=package.id if package and not no_package else None,
        no_package=no_package,
        when=when,
        moving_from=moving_from,
        words=tuple(words),
    )


def _days(intent: Intent, found: list[Found], raw: list[str]) -> tuple[Wanted | None,
                                                                         Wanted | None]:
    """The day wanted and, for a reschedule or cancel, the appointment's own day."""
    if intent == "cancel":
        return None, merged(found)
    if intent != "reschedule" or not found:
        return merged(found), None
    if len(found) >= 2:
        return merged(found[1:]), found[0].wanted
    only = found[0]
    first = fold(raw[only.start])
    before = fold(raw[only.start - 1]) if only.start else ""
    if first in {"del", "du", "de"}:
        before = first
    after = fold(raw[only.end]) if only.end < len(raw) else ""
    if before in {"my", "mi", "mon", "ma", "del", "du", "de"} or after in APPOINTMENT_WORDS:
        return None, only.wanted
    return only.wanted, None
