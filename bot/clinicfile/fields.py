"""Value types of the clinic set-up file: money, dates, "HH:MM" times, keys, zones, locales.

Each type accepts exactly one spelling and says what is wrong and what to write instead, so a
clinic's typo becomes one clear line of :class:`~bot.clinicfile.errors.ClinicFileError`.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.numbers import list_currencies
from pydantic import AfterValidator, BeforeValidator, Field, PlainValidator

from bot.storage.types import MAX_AMOUNT

MONEY = re.compile(r"-?\d+(?:\.(\d+))?")
HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
DATE_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})[ T]([01]\d|2[0-3]):([0-5]\d)")
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2199, 12, 31)


def shown(value: object) -> str:
    """``value`` as it would be written in TOML (strings quoted), for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(shown(item) for item in value) + "]"
    if isinstance(value, dict):
        return "a table { ... }"
    return str(value)


def kind_of(value: object) -> str:
    """A TOML word for the kind of ``value`` ("text", "a number", ...)."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return "text"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, datetime):
        return "a date-time"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, time):
        return "a time"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _money(value: Any) -> Decimal:
    if not isinstance(value, str):
        example = "110.00"
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            example = f"{Decimal(str(value)).quantize(Decimal('0.01'))}"
        raise ValueError(
            f"{shown(value)} is {kind_of(value)}; money is a decimal string in quotes "
            f'(e.g. "{example}")'
        )
    match = MONEY.fullmatch(value.strip())
    if match is None:
        raise ValueError(f'{shown(value)} is not an amount; write money like "110.00"')
    if value.strip().startswith("-"):
        raise ValueError(f"{shown(value)} is negative; money here is 0 or more")
    if Decimal(value.strip()) > MAX_AMOUNT:
        raise ValueError(f'{shown(value)} is too large; money here is at most "{MAX_AMOUNT}"')
    decimals = match.group(1) or ""
    if len(decimals) > 2:
        raise ValueError(
            f"{shown(value)} has {len(decimals)} decimals; money takes at most 2 "
            f'(e.g. "{Decimal(value.strip()).quantize(Decimal("0.01"))}")'
        )
    return Decimal(value.strip()).quantize(Decimal("0.01"))


def _date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    elif isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"{shown(value)} is not a real date; check the month and day"
            ) from None
    else:
        raise ValueError(
            f'{shown(value)} is not a date; write it as "YYYY-MM-DD" (e.g. "2026-10-01")'
        )
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(
            f"{shown(value)} is out of range; dates here are from {FIRST_DAY.isoformat()} "
            f"to {LAST_DAY.isoformat()}"
        )
    return day


def _day_or_time(value: Any) -> date | datetime:
    """A whole day ("YYYY-MM-DD") or a local time ("YYYY-MM-DD HH:MM"), as text or TOML."""
    hint = ('write "YYYY-MM-DD" for a whole day or "YYYY-MM-DD HH:MM" for a time, clinic time '
            '(e.g. "2026-12-24" or "2026-12-24 13:00")')
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ValueError(f"{value.isoformat()} has a UTC offset; {hint}")
        if value.second or value.microsecond:
            raise ValueError(f"{value.isoformat()} has seconds; {hint}")
        _date(value.date())
        return value
    if isinstance(value, date) or (isinstance(value, str) and re.fullmatch(r"[\d-]+", value)):
        return _date(value)
    match = DATE_TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{shown(value)} is not a date or a time; {hint}")
    day = _date(match.group(1))
    return datetime.combine(day, time(int(match.group(2)), int(match.group(3))))


def _hhmm(value: Any) -> time:
    if isinstance(value, str):
        match = HHMM.fullmatch(value)
        if match is not None:
            return time(int(match.group(1)), int(match.group(2)))
    raise ValueError(f'{shown(value)} is not a time; write it as "HH:MM", 24-hour (e.g. "09:00")')


def _slug(value: str) -> str:
    if not SLUG.fullmatch(value) or len(value) > 64:
        raise ValueError(
            f"{shown(value)} is not a key; a key is up to 64 lowercase letters, digits, '-' "
            'or \'_\' (e.g. "massage-60")'
        )
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f'{shown(value)} is not a timezone; use an IANA name such as "America/Toronto"'
        ) from None
    return value


def _currency(value: str) -> str:
    if value not in list_currencies():
        raise ValueError(
            f'{shown(value)} is not a currency; use an ISO 4217 code such as "CAD" or "EUR"'
        )
    return value


def _locale(value: str) -> str:
    try:
        Locale.parse(value)
    except (UnknownLocaleError, ValueError, TypeError):
        raise ValueError(
            f'{shown(value)} is not a locale; use a language code such as "en", "es" or "en_CA"'
        ) from None
    return value


def _email(value: str) -> str:
    if not EMAIL.fullmatch(value):
        raise ValueError(f'{shown(value)} is not an e-mail address (e.g. "maya@example.com")')
    return value


def _day(value: Any) -> str:
    if value not in DAYS:
        raise ValueError(f"{shown(value)} is not a day; days are {', '.join(DAYS)}")
    return str(value)


Money = Annotated[Decimal, BeforeValidator(_money)]
Day = Annotated[date, BeforeValidator(_date)]
DayOrTime = Annotated[date | datetime, PlainValidator(_day_or_time)]
HourMinute = Annotated[time, BeforeValidator(_hhmm)]
Weekday = Annotated[str, BeforeValidator(_day)]
Key = Annotated[str, AfterValidator(_slug)]
Ref = Annotated[str, Field(min_length=1, max_length=64)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
TimeZone = Annotated[str, AfterValidator(_timezone)]
Currency = Annotated[str, AfterValidator(_currency)]
LocaleCode = Annotated[str, Field(max_length=20), AfterValidator(_locale)]
Email = Annotated[str, Field(max_length=200), AfterValidator(_email)]
