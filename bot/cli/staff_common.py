"""What the desk commands share: argument types, who is acting, lookups by key, formatting.

Used by ``clinicbot staff ...`` (bot/cli/staff*.py) and ``clinicbot report`` (dates).
Times typed at the desk are the clinic's wall-clock times (RULES.md 21): :func:`to_utc` turns
them into UTC moments, refusing a time the clocks skip and asking for the UTC offset of a time
they show twice; :func:`local_text` shows a moment back the same way.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any, TypeAlias, TypeVar
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select

from bot.cli.common import fail
from bot.clinicfile.fields import FIRST_DAY, LAST_DAY
from bot.services.audit import Actor
from bot.services.availability import wall_moments
from bot.services.clinic import zone
from bot.services.errors import InvalidInput, NotFound
from bot.services.lookup import find_staff
from bot.services.wall import offset_text, wall_text
from bot.storage.models import Clinic, Fee, Invoice, Location, Patient, Practitioner
from bot.storage.types import MAX_AMOUNT, MAX_ID, MAX_USES
from bot.storage.uow import UnitOfWork

if TYPE_CHECKING:  # click >= 8.2 types its ParamType generically; older clicks do not
    ParamBase: TypeAlias = click.ParamType[Any, Any]
else:
    ParamBase = click.ParamType

M = TypeVar("M", Practitioner, Location, Fee)
DATE_EXAMPLE = "2026-11-10"
TIME_EXAMPLE = "2026-11-10 14:30"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LOCAL = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2})(?:\s*([+-]\d{2}:?\d{2}))?")
_AMOUNT = re.compile(r"\d+(\.\d{1,2})?")


@dataclass(frozen=True)
class Desk:
    """Who acts at the desk (``clinicbot staff --as KEY``); ``explicit``: typed, not default."""

    acting: str
    explicit: bool

    async def who(self, uow: UnitOfWork) -> str:
        """The acting staff key, checked against the clinic's staff when it was typed."""
        if self.explicit:
            await find_staff(uow, self.acting)
        return self.acting

    async def actor(self, uow: UnitOfWork) -> Actor:
        """Who acts, for the audit log: :meth:`who`, from the command line."""
        return Actor(await self.who(uow), "cli")


def acting_desk() -> Desk:
    """The ``clinicbot staff --as`` of the running command (the default ``desk`` outside it)."""
    context = click.get_current_context(silent=True)
    desk = context.find_object(Desk) if context is not None else None
    return desk if desk is not None else Desk("desk", explicit=False)


@dataclass(frozen=True)
class WallTime:
    """A clinic-local time as typed; ``offset`` only when the desk gave one (DST overlap)."""

    wall: datetime
    offset: timedelta | None = None

    def __str__(self) -> str:
        return self.wall.strftime("%Y-%m-%d %H:%M")


class OneLineError(click.BadParameter):
    """A bad value said in one line (``Error: Invalid value for 'AMOUNT': ...``), exit 2."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True, file=file)


def _within(
    day: date, value: Any, param: click.Parameter | None, ctx: click.Context | None
) -> None:
    """Refuse a date outside the years a clinic uses (so no date arithmetic overflows)."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise OneLineError(
            f"{str(value).strip()!r} is out of range; give a date from {FIRST_DAY} to {LAST_DAY}",
            ctx,
            param,
        )


def _parse_date(text: str) -> date | None:
    if not _DATE.fullmatch(text.strip()):
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


class DateType(ParamBase):
    """A calendar date written ``YYYY-MM-DD``."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        day = _parse_date(str(value))
        if day is None:
            self.fail(f"give a date like {DATE_EXAMPLE}, not {value!r}", param, ctx)
        _within(day, value, param, ctx)
        return day


class DateOrNoneType(ParamBase):
    """A date written ``YYYY-MM-DD``, or ``none``."""

    name = "date|none"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> date | None:
        if value is None or isinstance(value, date):
            return value
        if str(value).strip().lower() == "none":
            return None
        day = _parse_date(str(value))
        if day is None:
            self.fail(f"give a date like {DATE_EXAMPLE}, or 'none', not {value!r}", param, ctx)
        _within(day, value, param, ctx)
        return day


class LocalTimeType(ParamBase):
    """A clinic-local time ``YYYY-MM-DD HH:MM`` (optionally followed by a UTC offset)."""

    name = "local time"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> WallTime:
        if isinstance(value, WallTime):
            return value
        text = str(value).strip()
        match = _LOCAL.fullmatch(text)
        wall = None
        if match:
            try:
                wall = datetime.fromisoformat(f"{match[1]} {match[2].zfill(5)}")
            except ValueError:
                wall = None
        if match is None or wall is None:
            self.fail(f"give a local time like {TIME_EXAMPLE}, not {value!r}", param, ctx)
        _within(wall.date(), value, param, ctx)
        offset = None
        if match[3]:
            sign = -1 if match[3][0] == "-" else 1
            digits = match[3][1:].replace(":", "")
            offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return WallTime(wall, offset)


class AmountType(ParamBase):
    """An amount of money: digits with at most two decimals (``120``, ``120.5``, ``120.50``)."""

    name = "amount"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Decimal:
        if isinstance(value, Decimal):
            return value
        text = str(value).strip()
        if not _AMOUNT.fullmatch(text):
            raise OneLineError(
                f"give an amount like 120.00 (digits, at most 2 decimals), not {value!r}",
                ctx,
                param,
            )
        if Decimal(text) > MAX_AMOUNT:
            raise OneLineError(f"{text} is more than the largest amount, {MAX_AMOUNT}", ctx, param)
        return Decimal(text)


class WholeNumberType(ParamBase):
    """A whole number from 1 to ``most``: an id (at most what the id columns hold) or a count."""

    def __init__(self, name: str, what: str, most: int) -> None:
        self.name = name
        self.what = what
        self.most = most

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            number: int | None = value
        else:
            text = str(value).strip()
            fits = text.isdecimal() and len(text) <= len(str(self.most))
            number = int(text) if fits else None
        if number is None or not 1 <= number <= self.most:
            raise OneLineError(
                f"give {self.what}: a whole number from 1 to {self.most}, not {value!r}",
                ctx,
                param,
            )
        return number


DATE = DateType()
DATE_OR_NONE = DateOrNoneType()
LOCAL_TIME = LocalTimeType()
AMOUNT = AmountType()
ID = WholeNumberType("id", "an id", MAX_ID)
USES = WholeNumberType("uses", "a number of uses", MAX_USES)


def to_utc(typed: WallTime, clinic: Clinic) -> datetime:
    """The UTC moment of a clinic-local time typed at the desk (RULES.md 21).

    A time the clocks skip is refused; a time they show twice needs its UTC offset.
    """
    tz = zone(clinic)
    moments = wall_moments(typed.wall, tz)
    if typed.offset is not None:
        for moment in moments:
            if moment.astimezone(tz).utcoffset() == typed.offset:
                return moment
        raise InvalidInput(
            f"{typed} {offset_text(typed.offset)} is not a time in {clinic.timezone}; "
            f"leave out the offset, or give the one the clinic's clock has then"
        )
    if not moments:
        raise InvalidInput(
            f"{typed} does not exist in {clinic.timezone} (the clocks jump forward then); "
            "choose another time"
        )
    if len(moments) > 1:
        choices = " or ".join(
            f"'{typed} {offset_text(m.astimezone(tz).utcoffset())}'" for m in moments
        )
        raise InvalidInput(
            f"{typed} happens twice in {clinic.timezone} (the clocks fall back then); "
            f"add the UTC offset: {choices}"
        )
    return moments[0]


def local_text(moment: datetime, tz: ZoneInfo) -> str:
    """``YYYY-MM-DD HH:MM`` at the clinic; with the UTC offset when that wall time is ambiguous."""
    return wall_text(moment, tz)


def money(amount: Decimal, clinic: Clinic) -> str:
    """An amount with 2 decimals and the clinic's currency code: ``400.00 CAD``."""
    return f"{amount:.2f} {clinic.currency}"


def invoice_lines(invoices: Sequence[Invoice], clinic: Clinic) -> list[str]:
    """One line per invoice: id, amount in the clinic's currency, description."""
    return [f"Invoice {i.id}: {money(i.amount, clinic)} ({i.description})" for i in invoices]


def who_text(patient: Patient) -> str:
    """``patient 3 (Maya Chen)``: how the desk sees a patient in a confirmation line."""
    return f"patient {patient.id} ({patient.full_name})"


async def by_key(uow: UnitOfWork, model: type[M], key: str, what: str) -> M:
    """A practitioner, location or fee by its set-up key; unknown: the keys the clinic has."""
    row = await uow.session.scalar(select(model).where(model.key == key))
    if row is None:
        keys = ", ".join((await uow.session.scalars(select(model.key).order_by(model.key))).all())
        raise NotFound(f"there is no {what} {key!r} (the clinic has: {keys or 'none'})")
    return row


def confirm(question: str, yes: bool) -> None:
    """Go on only if the desk confirms (or gave ``--yes``); never wait on a stdin that is no tty."""
    if yes:
        return
    if not sys.stdin.isatty():
        fail("this needs a confirmation; run it again with --yes to go ahead (nothing was changed)")
    if not click.confirm(question, default=False):
        click.echo("Nothing was changed.")
        raise SystemExit(1)


def echo(lines: list[str]) -> None:
    """Print a command's result lines (built inside its unit of work, printed after commit)."""
    for line in lines:
        click.echo(line)
