"""Translations and formats (Babel): one :class:`Translator` per patient locale.

Every patient-facing string goes through :meth:`Translator.gettext` / :meth:`ngettext`; money,
dates and times through the ``format_*`` methods, in the patient's locale and the clinic's
timezone; phone numbers in their country's national format (:func:`phone_text`). Catalogs
live in the package, ``bot/locales/<lang>/LC_MESSAGES/messages.po`` (compiled to ``.mo``,
shipped as package data); the translator travels in the dialog context, never in a global.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from string import Formatter

import phonenumbers
from babel import Locale, UnknownLocaleError, negotiate_locale
from babel.dates import format_date, format_datetime, format_skeleton, format_time
from babel.numbers import format_currency
from babel.support import NullTranslations, Translations

from bot.services.errors import DomainError, Moment

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
SHIPPED = ("en", "es", "fr")
DOMAIN = "messages"


@lru_cache(maxsize=256)
def normalise_locale(tag: str | None) -> str | None:
    """``"es-MX"``/``"es_MX"`` -> ``"es_MX"``; None for anything Babel does not know."""
    if not tag:
        return None
    try:
        return str(Locale.parse(tag.replace("-", "_")))
    except (ValueError, UnknownLocaleError):
        return None


def negotiate(preferred: list[str | None], fallback: str) -> str:
    """The first of ``preferred`` (patient's choice, Telegram language, ...) we ship, else
    ``fallback`` (the clinic's locale). Regional forms keep their region for formats."""
    for tag in preferred:
        locale = normalise_locale(tag)
        if locale is None:
            continue
        language = locale.split("_")[0]
        if negotiate_locale([language], list(SHIPPED)) is not None:
            return locale
    return normalise_locale(fallback) or "en"


class Translator:
    """gettext, plurals and CLDR formats for one locale."""

    def __init__(self, locale: str) -> None:
        self.locale = normalise_locale(locale) or "en"
        self.language = self.locale.split("_")[0]
        self._translations = _catalog(self.language)

    def gettext(self, message: str, **values: object) -> str:
        text = self._translations.ugettext(message)
        return fill(text, values) if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        text = self._translations.ungettext(singular, plural, n)
        return fill(text, {"n": n, **values})

    def money(self, amount: Decimal, currency: str) -> str:
        return format_currency(amount, currency, locale=self.locale)

    def date_text(self, day: date, fmt: str = "medium") -> str:
        return _date_text(self.locale, day, fmt)

    def day_month_text(self, day: date) -> str:
        """The day and month as people write them: "November 3", "3 de noviembre"."""
        return _skeleton_text(self.locale, day, "dMMMM")

    def month_text(self, day: date) -> str:
        """The month and year: "November 2026", "noviembre de 2026"."""
        return _skeleton_text(self.locale, day, "yMMMM")

    def weekday_text(self, day: date) -> str:
        return _date_text(self.locale, day, "EEE d MMM")

    def datetime_text(self, moment: datetime, zone: tzinfo, fmt: str = "EEE d MMM, HH:mm") -> str:
        if self.language == "en":
            fmt = fmt.replace("HH:mm", "h:mm a")
        return _datetime_text(self.locale, moment, zone, fmt)

    def time_text(self, moment: datetime, zone: tzinfo) -> str:
        fmt = "h:mm a" if self.language == "en" else "HH:mm"
        return _time_text(self.locale, moment, zone, fmt)

    def error_text(self, error: DomainError) -> str:
        """A refusal's message with its dates and times in this locale, in the error's zone
        (the clinic's; UTC, named, only if a service gave none)."""

        def write(moment: Moment) -> str:
            if not isinstance(moment, datetime):
                return self.date_text(moment)
            if error.zone is None:
                return self.datetime_text(moment, UTC, "EEE d MMM, HH:mm 'UTC'")
            return self.datetime_text(moment, error.zone)

        return error.text(write)


# Dates and times as text, kept: every patient looking for a time is shown the same days and
# times, and CLDR formatting costs more than the rest of such a question. Pure functions of their
# arguments (an aware moment stands for its instant, which the zone then shows); the least
# recently used go first.
FORMATS_KEPT = 8192


def _date_text(locale: str, day: date, fmt: str) -> str:
    if isinstance(day, datetime):  # its own wall date, which equal instants need not share
        return format_date(day, format=fmt, locale=locale)
    return _kept_date_text(locale, day, fmt)


@lru_cache(maxsize=FORMATS_KEPT)
def _kept_date_text(locale: str, day: date, fmt: str) -> str:
    return format_date(day, format=fmt, locale=locale)


def _skeleton_text(locale: str, day: date, skeleton: str) -> str:
    if isinstance(day, datetime):
        return format_skeleton(skeleton, day, locale=locale)
    return _kept_skeleton_text(locale, day, skeleton)


@lru_cache(maxsize=FORMATS_KEPT)
def _kept_skeleton_text(locale: str, day: date, skeleton: str) -> str:
    return format_skeleton(skeleton, day, locale=locale)


@lru_cache(maxsize=FORMATS_KEPT)
def _datetime_text(locale: str, moment: datetime, zone: tzinfo, fmt: str) -> str:
    return format_datetime(moment, format=fmt, tzinfo=zone, locale=locale)


@lru_cache(maxsize=FORMATS_KEPT)
def _time_text(locale: str, moment: datetime, zone: tzinfo, fmt: str) -> str:
    return format_time(moment, format=fmt, tzinfo=zone, locale=locale)


@lru_cache(maxsize=16)
def _catalog(language: str) -> NullTranslations:
    if language == "en":
        return NullTranslations()
    translations = Translations.load(str(LOCALES_DIR), [language], DOMAIN)
    return translations


@lru_cache(maxsize=64)
def translator(locale: str) -> Translator:
    """A cached translator for ``locale``."""
    return Translator(locale)


def language_name(language: str, *, title: bool = True) -> str:
    """``"es"`` shown as "Español" (a choice): each language names itself; ``title=False``
    for the middle of a sentence, "en español" (English keeps its capital)."""
    name = Locale.parse(language).get_display_name(language) or language
    return name[:1].upper() + name[1:] if title else name


def fill(text: str, values: Mapping[str, object]) -> str:
    """``text.format(**values)``, without doubling a full stop: a value that ends with one
    (French "7 déc.") followed by the sentence's own full stop keeps only one."""
    parts: list[str] = []
    for literal, field, spec, conversion in _pieces(text):
        if literal.startswith(".") and not literal.startswith("..") and parts and parts[
                -1].endswith("."):
            literal = literal[1:]
        parts.append(literal)
        if field is not None:
            parts.append(format(_convert(values[field], conversion), spec or ""))
    return "".join(parts)


@lru_cache(maxsize=FORMATS_KEPT)
def _pieces(text: str) -> tuple[tuple[str, str | None, str | None, str | None], ...]:
    """``text`` cut into literal text and replacement fields, once per message."""
    return tuple(Formatter().parse(text))


def _convert(value: object, conversion: str | None) -> object:
    if conversion == "r":
        return repr(value)
    if conversion in ("s", "a"):
        return str(value) if conversion == "s" else ascii(value)
    return value


def phone_text(e164: str) -> str:
    """A phone number as people of its country write it: ``+14165550100`` -> (416) 555-0100."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if not phonenumbers.is_possible_number(number):
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
