"""What ``staff closed ...`` and ``staff time-off ...`` share (bot/cli/staff_closures.py).

The FROM/TO type (a whole day or a clinic-local time), how a closure is described at the desk,
and the add / list / remove / notify flows, each one unit of work (``notify`` after ``add``
on a terminal is a second one, after the desk said yes).
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
    LOCAL_TIME,
    OneLineError,
    ParamBase,
    WallTime,
    acting_desk,
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
    actor = await acting_desk().actor(uow)
    done = await closures.notify_patients(uow, closure, actor=actor)
    lines = [f"Told {len(done.told)} patient(s) (queued: sent by the next delivery run)."]
    if done.already:
        lines.append(f"{len(done.already)} patient(s) had been told already.")
    if done.unreachable:
        ids = ", ".join(str(i) for i in done.unreachable)
        lines.append(f"Patient(s) {ids} cannot be reached by message (no phone or Telegram, "
                     "or they opted out): call them.")
    return lines


def add(time_off: bool, practitioner_key: str | None, start: Bound, end: Bound | None,
         location_keys: tuple[str, ...], reason: str | None, notify: bool | None) -> None:
    command = "time-off" if time_off else "closed"

    async def work(ctx: Context) -> tuple[list[str], list[int]]:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
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
                actor=actor,
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
            tell(time_off, closure_id)
    else:
        echo([f"Not told. Later: clinicbot staff {command} notify {i}" for i in ask])


def tell(time_off: bool, closure_id: int) -> None:
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


def listing(time_off: bool, practitioner_key: str | None, from_day: date | None) -> None:
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


def remove(time_off: bool, closure_id: int) -> None:
    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            closure = await closures.get(uow, closure_id, time_off=time_off)
            described = await summary(uow, closure, capital=False)
            removed = await closures.remove(uow, closure_id, time_off=time_off, actor=actor)
            await uow.commit()
        lines = [f"Removed {described}."]
        if removed.source == CLOSURE_FROM_FILE:
            section = "time_off" if time_off else "closures"
            lines.append(f"The set-up file lists it: remove it from [[{section}]] there too, or "
                         "the next 'clinicbot load' adds it back.")
        return lines

    echo(run(work))
