"""What identifies a person, cleaned and checked (RULES.md 18, 19): phones, names, dates, locales.

Pure functions: each returns the value in its one stored form or raises InvalidInput with a
message that says what to type instead. Used by registration, the desk and the dialogs.
"""

from __future__ import annotations

import unicodedata
from datetime import date

import phonenumbers
from babel import Locale, UnknownLocaleError

from bot.services.errors import InvalidInput, WrongState
from bot.services.periods import add_months
from bot.storage.models import Patient

NAME_MAX = 100
NAME_PUNCTUATION = frozenset(" -'’.")
MAX_AGE_YEARS = 130


def normalise_phone(text: str, default_region: str | None) -> str:
    """``text`` as an E.164 number (``+14165550101``), or InvalidInput saying what to type.

    Numbers without a ``+`` are read as local to ``default_region`` (e.g. ``"CA"``); with
    ``default_region=None`` only international ``+`` numbers are accepted.
    """
    cleaned = text.strip()
    example = "+14165550101" if default_region in (None, "CA", "US") else "+<country><number>"
    if not cleaned or len(cleaned) > 40:
        raise InvalidInput(f"that is not a phone number; type it like {example}")
    try:
        number = phonenumbers.parse(cleaned, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidInput(f"that is not a phone number; type it like {example}") from None
    if number.extension:
        raise InvalidInput("give a number without an extension (one that receives texts)")
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(
            f"{cleaned} is not a valid phone number; check the digits and the country code "
            f"(e.g. {example})"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def clinic_region(clinic_phone: str | None, clinic_locale: str) -> str | None:
    """The region local numbers are read in: the clinic phone's country, else its locale's."""
    if clinic_phone:
        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(clinic_phone, None))
        except phonenumbers.NumberParseException:
            region = None
        if region:
            return str(region)
    try:
        territory = Locale.parse(clinic_locale).territory
    except (UnknownLocaleError, ValueError, TypeError):
        return None
    return territory or None


def name_key(first_name: str, last_name: str) -> str:
    """A name folded for comparison: no accents, no case, punctuation as spaces."""
    text = unicodedata.normalize("NFKD", f"{first_name} {last_name}")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = "".join(" " if ch in NAME_PUNCTUATION else ch for ch in text)
    return " ".join(text.split())


def clean_name(text: str, what: str) -> str:
    """A trimmed personal name, or InvalidInput saying what a name may contain."""
    name = " ".join(unicodedata.normalize("NFC", text).split())
    if not name:
        raise InvalidInput(f"the {what} is empty; type the {what} as on your health card")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"the {what} is too long; use at most {NAME_MAX} characters")
    allowed = all(
        ch.isalpha() or unicodedata.category(ch).startswith("M") or ch in NAME_PUNCTUATION
        for ch in name
    )
    if not allowed or not any(ch.isalpha() for ch in name):
        raise InvalidInput(
            f"the {what} may contain letters, spaces, hyphens and apostrophes only"
        )
    return name


def check_birth_date(birth_date: date, today: date) -> date:
    """``birth_date`` if plausible: not in the future and at most 130 years ago."""
    if birth_date > today:
        raise InvalidInput("the birth date is in the future; give the date you were born")
    if birth_date < add_months(today, -12 * MAX_AGE_YEARS):
        raise InvalidInput(
            f"the birth date is more than {MAX_AGE_YEARS} years ago; check the year"
        )
    return birth_date


def clean_locale(locale: str) -> str:
    """A locale code Babel knows (``es``, ``en_CA``), or InvalidInput."""
    try:
        return str(Locale.parse(locale.strip().replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError):
        raise InvalidInput(
            f"{locale[:20]!r} is not a language; use a code such as en, es or en_CA"
        ) from None




def refuse_erased(patient: Patient) -> None:
    """Raise WrongState when ``patient`` was erased (issue 21): nothing books for, links to or
    merges with it again."""
    if patient.erased_at is not None:
        raise WrongState(f"patient {patient.id} was erased; register the person afresh")
