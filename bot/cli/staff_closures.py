"""Desk commands for closed time: ``staff closed ...`` (the clinic closed, e.g. a holiday) and
``staff time-off ...`` (a practitioner away), each with ``add``, ``list``, ``remove`` and
``notify`` (RULES.md 20; :mod:`bot.services.closures`).

Nothing is offered or booked in closed time, in chat or at the desk. Adding one over booked
appointments leaves them booked and lists them; the desk moves or cancels them, and tells their
patients (``--notify``, a question on a terminal, or ``notify ID`` later: one message per
patient, in their language). Times are typed in clinic time: ``YYYY-MM-DD`` for whole days,
``"YYYY-MM-DD HH:MM"`` for a moment.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from bot.cli.common import Context, run
from bot.cli.staff_appointments import describe
from bot.cli.staff_common import (
    DATE,
    ID,
    LOCAL_TIME,
    OneLineError,
    ParamBase,
    WallTime,
    by_key,
    echo,
    to_utc,
    who_text,
)
from bot.services import closures
from bot.services.clinic import get_clinic, local_midnight_utc, zone
from bot.services.wall import wall_text
from bot.storage.models import Clinic, Closure, Location, Patient, Practitioner
from bot.storage.models.closures import CLOSURE_FROM_FILE
from bot.storage.uow import UnitOfWork

Bound = date | WallTime


class DayOrTimeType(ParamBase):
    """A whole day ``YYYY-MM-DD`` or a clinic-local time ``YYYY-MM-DD HH:MM``."""

    name = "day or time"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Bound:
        if isinstance(value, date | WallTime):
            return value
        text = str(value).strip()
        try:
            if len(text) <= 10:
                return DATE.convert(text, param, ctx)
            return LOCAL_TIME.convert(text, param, ctx)
        except OneLineError:
            raise
        except click.BadParameter:
            raise OneLineError(
                f"give a day like 2026-12-24 or a clinic-local time like '2026-12-24 13:00', "
                f"not {value!r}", ctx, param) from None


DAY_OR_TIME = DayOrTimeType()


def _utc(value: Bound | None, clinic: Clinic) -> date | datetime | None:
    return to_utc(value, clinic) if isinstance(value, WallTime) else value


def period(closure: Closure, tz: ZoneInfo) -> str:
    """``2026-12-24 to 2026-12-26 (whole days)`` or ``2026-11-20 13:00 to 2026-11-20 17:00``."""
    days = closures.whole_days(closure, tz)
    if days is not None and days[0] == days[1]:
        return f"{days[0]} (whole day)"
    if days is not None:
        return f"{days[0]} to {days[1]} (whole days)"
    return f"{wall_text(closure.starts_at, tz)} to {wall_text(closure.ends_at, tz)}"


async def _label(uow: UnitOfWork, closure: Closure) -> str:
    """What and where: ``every location``, ``Downtown`` or ``Ana Silva``."""
    if closure.practitioner_id is not None:
        who = await uow.session.get(Practitioner, closure.practitioner_id)
        return who.name if who else "?"
    if closure.location_id is None:
        return "every location"
    place = await uow.session.get(Location, closure.location_id)
    return place.name if place else "?"


async def summary(uow: UnitOfWork, closure: Closure, *, capital: bool = True) -> str:
    """One line: id, who or where, when, reason, who made it."""
    tz = zone(await get_clinic(uow))
    what = "time off" if closure.practitioner_id is not None else "closure"
    what = what.capitalize() if capital else what
    reason = f" ({closure.reason})" if closure.reason else ""
    made = ", from the set-up file" if closure.source == CLOSURE_FROM_FILE else ""
    return (f"{what} {closure.id}: {await _label(uow, closure)}, {period(closure, tz)}"
            f"{reason}{made}")


async def _booked_lines(uow: UnitOfWork, found: list[Closure]) -> list[str]:
    booked = await closures.booked_in(uow, found)
    if not booked:
        return ["No booked appointment falls in it."]
    lines = [f"{len(booked)} booked appointment(s) fall in it and are still booked; move or "
             "cancel them ('clinicbot staff reschedule' / 'clinicbot staff cancel'):"]
    for appointment in booked:
        patient = await uow.session.get(Patient, appointment.patient_id)
        assert patient is not None  # a foreign key
        lines.append(f"  appointment {appointment.id}: {await describe(uow, appointment)}; "
                     f"{who_text(patient)}")
    return lines


async def _notify(uow: UnitOfWork, closure: Closure) -> list[str]:
    done = await closures.notify_patients(uow, closure)
    lines = [f"Told {len(done.told)} patient(s) (queued: sent by the next delivery run)."]
    if done.already:
        lines.append(f"{len(done.already)} patient(s) had been told already.")
    if done.unreachable:
        ids = ", ".join(str(i) for i in done.unreachable)
        lines.append(f"Patient(s) {ids} cannot be reached by message (no phone or Telegram, "
                     "or they opted out): call them.")
    return lines


def _add(time_off: bool, practitioner_key: str | None, start: Bound, end: Bound | None,
         location_keys: tuple[str, ...], reason: str | None, notify: bool | None) -> None:
    command = "time-off" if time_off else "closed"

    async def work(ctx: Context) -> tuple[list[str], list[int]]:
        async with ctx.uow() as uow:
            clinic = await get_clinic(uow)
            practitioner = (await by_key(uow, Practitioner, practitioner_key, "practitioner")
                            if practitioner_key else None)
            places = [(await by_key(uow, Location, key, "location")).id for key in location_keys]
            first = _utc(start, clinic)
            assert first is not None
            starts_at, ends_at = closures.span(first, _utc(end, clinic), zone(clinic))
            rows, booked = await closures.add(
                uow, starts_at=starts_at, ends_at=ends_at,
                practitioner_id=practitioner.id if practitioner else None,
                location_ids=places or [None], reason=reason,
            )
            lines = [f"Added {await summary(uow, row, capital=False)}." for row in rows]
            lines += await _booked_lines(uow, rows)
            if booked and notify:
                for row in rows:
                    lines += await _notify(uow, row)
            elif booked and notify is False:
                lines += [f"Patients were not told; to tell them: clinicbot staff {command} "
                          f"notify {row.id}" for row in rows]
            await uow.commit()
            return lines, ([row.id for row in rows] if booked and notify is None else [])

    lines, ask = run(work)
    echo(lines)
    if not ask:
        return
    if not sys.stdin.isatty():
        echo([f"To tell these patients: clinicbot staff {command} notify {i}" for i in ask])
    elif click.confirm("Tell these patients now (one message each, in their language)?",
                       default=False):
        for closure_id in ask:
            _run_notify(time_off, closure_id)
    else:
        echo([f"Not told. Later: clinicbot staff {command} notify {i}" for i in ask])


def _run_notify(time_off: bool, closure_id: int) -> None:
    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            closure = await closures.get(uow, closure_id, time_off=time_off)
            lines = [await summary(uow, closure) + ":"]
            if not await closures.booked_in(uow, [closure]):
                return [*lines, "No booked appointment falls in it; nobody to tell."]
            lines += await _notify(uow, closure)
            await uow.commit()
            return lines

    echo(run(work))


def _list(time_off: bool, practitioner_key: str | None, from_day: date | None) -> None:
    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            clinic = await get_clinic(uow)
            practitioner = (await by_key(uow, Practitioner, practitioner_key, "practitioner")
                            if practitioner_key else None)
            since = local_midnight_utc(clinic, from_day) if from_day else uow.clock.now()
            found = await closures.listing(
                uow, time_off=time_off, since=since,
                practitioner_id=practitioner.id if practitioner else None)
            lines = []
            for closure in found:
                booked = await closures.booked_in(uow, [closure])
                ids = ", ".join(str(a.id) for a in booked)
                lines.append(await summary(uow, closure)
                             + (f"; booked appointment(s) in it: {ids}" if booked else ""))
            return lines or ["(none)"]

    echo(run(work))


def _remove(time_off: bool, closure_id: int) -> None:
    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            closure = await closures.get(uow, closure_id, time_off=time_off)
            described = await summary(uow, closure, capital=False)
            removed = await closures.remove(uow, closure_id, time_off=time_off)
            await uow.commit()
        lines = [f"Removed {described}."]
        if removed.source == CLOSURE_FROM_FILE:
            section = "time_off" if time_off else "closures"
            lines.append(f"The set-up file lists it: remove it from [[{section}]] there too, or "
                         "the next 'clinicbot load' adds it back.")
        return lines

    echo(run(work))


NOTIFY = click.option(
    "--notify/--no-notify", default=None,
    help="Tell the patients booked then (default: ask on a terminal, else say how).")
REASON = click.option("--reason", metavar="TEXT", help="Why (shown to patients who are told).")


@click.group("closed")
def closed_group() -> None:
    """Clinic closures (holidays): nothing is offered or booked then.

    \b
    Examples:
      clinicbot staff closed add 2026-12-24 2026-12-26 --reason Holidays
      clinicbot staff closed add "2026-11-20 13:00" "2026-11-20 17:00" --location east
      clinicbot staff closed list
      clinicbot staff closed notify 3
      clinicbot staff closed remove 3
    """


@closed_group.command("add")
@click.argument("start", metavar="FROM", type=DAY_OR_TIME)
@click.argument("end", metavar="[TO]", type=DAY_OR_TIME, required=False)
@click.option("--location", "location_keys", multiple=True, metavar="KEY",
              help="Only at this location (repeat for more; default: every location).")
@REASON
@NOTIFY
def closed_add(start: Bound, end: Bound | None, location_keys: tuple[str, ...],
               reason: str | None, notify: bool | None) -> None:
    """Close the clinic from FROM to TO (clinic time).

    A date is a whole day (as TO: through its end); without TO, the one day FROM. A time is
    "YYYY-MM-DD HH:MM" (quote it). Booked appointments then are listed (and stay booked).

    \b
    Example:
      clinicbot staff closed add 2026-12-24 2026-12-26 --reason Holidays --notify
    """
    _add(False, None, start, end, location_keys, reason, notify)


@closed_group.command("list")
@click.option("--from", "from_day", type=DATE, help="Closures ending after this day "
              "(default: from now).")
def closed_list(from_day: date | None) -> None:
    """List clinic closures still to come (or ending after --from), with booked appointments.

    \b
    Example:
      clinicbot staff closed list
    """
    _list(False, None, from_day)


@closed_group.command("remove")
@click.argument("closure_id", metavar="ID", type=ID)
def closed_remove(closure_id: int) -> None:
    """Remove clinic closure ID: its time can be offered and booked again.

    \b
    Example:
      clinicbot staff closed remove 3
    """
    _remove(False, closure_id)


@closed_group.command("notify")
@click.argument("closure_id", metavar="ID", type=ID)
def closed_notify(closure_id: int) -> None:
    """Tell each patient booked during closure ID (once each, in their language).

    \b
    Example:
      clinicbot staff closed notify 3
    """
    _run_notify(False, closure_id)


@click.group("time-off")
def time_off_group() -> None:
    """Practitioners' time off: nothing is offered or booked with them then, anywhere.

    \b
    Examples:
      clinicbot staff time-off add ana "2026-11-20 12:00" "2026-11-20 17:00" --reason Course
      clinicbot staff time-off add ben 2026-12-01 2026-12-05
      clinicbot staff time-off list ana
      clinicbot staff time-off remove 4
    """


@time_off_group.command("add")
@click.argument("practitioner_key", metavar="PRACTITIONER")
@click.argument("start", metavar="FROM", type=DAY_OR_TIME)
@click.argument("end", metavar="[TO]", type=DAY_OR_TIME, required=False)
@REASON
@NOTIFY
def time_off_add(practitioner_key: str, start: Bound, end: Bound | None, reason: str | None,
                 notify: bool | None) -> None:
    """Give PRACTITIONER time off from FROM to TO (clinic time).

    A date is a whole day (as TO: through its end); without TO, the one day FROM. A time is
    "YYYY-MM-DD HH:MM" (quote it). Booked appointments then are listed (and stay booked).

    \b
    Example:
      clinicbot staff time-off add ana "2026-11-20 12:00" "2026-11-20 17:00" --reason Course
    """
    _add(True, practitioner_key, start, end, (), reason, notify)


@time_off_group.command("list")
@click.argument("practitioner_key", metavar="[PRACTITIONER]", required=False)
@click.option("--from", "from_day", type=DATE, help="Time off ending after this day "
              "(default: from now).")
def time_off_list(practitioner_key: str | None, from_day: date | None) -> None:
    """List time off still to come (of PRACTITIONER, or everyone), with booked appointments.

    \b
    Example:
      clinicbot staff time-off list ana
    """
    _list(True, practitioner_key, from_day)


@time_off_group.command("remove")
@click.argument("closure_id", metavar="ID", type=ID)
def time_off_remove(closure_id: int) -> None:
    """Remove time off ID: the practitioner can be booked then again.

    \b
    Example:
      clinicbot staff time-off remove 4
    """
    _remove(True, closure_id)


@time_off_group.command("notify")
@click.argument("closure_id", metavar="ID", type=ID)
def time_off_notify(closure_id: int) -> None:
    """Tell each patient booked with the practitioner during time off ID (once each).

    \b
    Example:
      clinicbot staff time-off notify 4
    """
    _run_notify(True, closure_id)


COMMANDS = [closed_group, time_off_group]
