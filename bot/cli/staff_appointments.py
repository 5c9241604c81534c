"""Desk commands for the appointment book: free times, booking, listing and cancelling.

RULES.md 3 (booking reserves a package use, pre-selected; the desk may decline or choose it),
7 (cancelling returns the use), 20 (slots from the practitioner's hours minus other bookings;
staff are not held to the online notice and horizon, but never book in the past), 21 (times
typed and shown in the clinic's zone). Moving, package changes and arrival are in
bot/cli/staff_visits.py.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import groupby
from typing import Literal

import click
from sqlalchemy import select

from bot.cli.common import Context, run
from bot.cli.output import render
from bot.cli.staff_common import (
    DATE,
    ID,
    LOCAL_TIME,
    WallTime,
    acting_desk,
    by_key,
    echo,
    local_text,
    money,
    to_utc,
    who_text,
)
from bot.services import appointments, availability, packages
from bot.services.clinic import get_clinic, local_midnight_utc, local_today, zone
from bot.services.lookup import find_patient
from bot.storage.models import Appointment, Fee, Location, Practitioner
from bot.storage.uow import UnitOfWork


async def describe(uow: UnitOfWork, appointment: Appointment) -> str:
    """``2026-11-10 14:30, Physiotherapy follow-up with Ana Silva at Downtown``."""
    clinic = await get_clinic(uow)
    fee = await uow.session.get(Fee, appointment.fee_id)
    practitioner = await uow.session.get(Practitioner, appointment.practitioner_id)
    location = await uow.session.get(Location, appointment.location_id)
    assert fee and practitioner and location  # foreign keys
    when = local_text(appointment.starts_at, zone(clinic))
    return f"{when}, {fee.name} with {practitioner.name} at {location.name}"


@click.command("slots")
@click.option("--practitioner", "practitioner_key", required=True, metavar="KEY")
@click.option("--location", "location_key", required=True, metavar="KEY")
@click.option("--fee", "fee_key", required=True, metavar="KEY")
@click.option("--from", "from_day", type=DATE, help="First day, YYYY-MM-DD (default: today).")
@click.option("--days", type=click.IntRange(1, 62), default=7, show_default=True)
def slots(
    practitioner_key: str, location_key: str, fee_key: str, from_day: date | None, days: int
) -> None:
    """List the free start times of a practitioner at a location for a fee (clinic time).

    The desk is not held to the online notice and horizon; times already past are not shown.

    \b
    Example:
      clinicbot staff slots --practitioner ana --location downtown --fee physio-follow --days 3
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            clinic = await get_clinic(uow)
            practitioner = await by_key(uow, Practitioner, practitioner_key, "practitioner")
            location = await by_key(uow, Location, location_key, "location")
            fee = await by_key(uow, Fee, fee_key, "fee")
            first = from_day or local_today(clinic, uow.clock.now())
            found = await availability.offered_slots(
                uow, practitioner.id, location.id, fee.id, first, days, booked_by="staff"
            )
            tz = zone(clinic)
            last = first + timedelta(days=days - 1)
            lines = [
                f"Free times of {practitioner.name} at {location.name} for {fee.name} "
                f"({fee.minutes} min), {first.isoformat()} to {last.isoformat()}:"
            ]
            for day, starts in groupby(found, key=lambda moment: moment.astimezone(tz).date()):
                times = " ".join(local_text(moment, tz)[11:] for moment in starts)
                lines.append(f"{day:%a %Y-%m-%d}  {times}")
            if not found:
                lines.append("(none)")
            return lines

    echo(run(work))


@click.command("book")
@click.argument("patient")
@click.option("--practitioner", "practitioner_key", required=True, metavar="KEY")
@click.option("--location", "location_key", required=True, metavar="KEY")
@click.option("--fee", "fee_key", required=True, metavar="KEY")
@click.option(
    "--at", "at", type=LOCAL_TIME, required=True,
    help="Clinic-local start, YYYY-MM-DD HH:MM (quote it).",
)
@click.option("--package", "package_id", type=ID, help="Use this package (its id).")
@click.option("--no-package", is_flag=True, help="Book without any package.")
def book(
    patient: str,
    practitioner_key: str,
    location_key: str,
    fee_key: str,
    at: WallTime,
    package_id: int | None,
    no_package: bool,
) -> None:
    """Book PATIENT with a practitioner at a location for a fee, at a clinic-local time.

    A package that covers the booking is used (the one expiring first) unless --no-package;
    --package chooses one.

    \b
    Example:
      clinicbot staff book maya --practitioner ana --location downtown \\
        --fee physio-follow --at "2026-11-10 14:30"
    """
    if package_id is not None and no_package:
        raise click.UsageError("give --package ID or --no-package, not both")
    choice: int | Literal["auto"] | None = "auto"
    if no_package:
        choice = None
    elif package_id is not None:
        choice = package_id

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            clinic = await get_clinic(uow)
            owner = await find_patient(uow, patient)
            practitioner = await by_key(uow, Practitioner, practitioner_key, "practitioner")
            location = await by_key(uow, Location, location_key, "location")
            fee = await by_key(uow, Fee, fee_key, "fee")
            appointment = await appointments.book(
                uow, patient_id=owner.id, practitioner_id=practitioner.id,
                location_id=location.id, fee_id=fee.id, starts_at=to_utc(at, clinic),
                package_id=choice, booked_by="staff",
                actor=actor,
            )
            lines = [
                f"Booked appointment {appointment.id} for {who_text(owner)}: "
                f"{await describe(uow, appointment)}."
            ]
            if appointment.package_id is not None:
                package = await packages.get_package(uow, appointment.package_id)
                lines.append(
                    f"Package {package.id} ({package.name}) covers it; {package.available} "
                    "use(s) left available."
                )
            else:
                lines.append(f"No package covers it; {money(fee.price, clinic)} at arrival.")
            await uow.commit()
            return lines

    echo(run(work))


@click.command("appointments")
@click.argument("patient")
@click.option("--all", "show_all", is_flag=True, help="Also past and cancelled appointments.")
def list_appointments(patient: str, show_all: bool) -> None:
    """List PATIENT's appointments from today on (--all: every one), in clinic time.

    \b
    Example:
      clinicbot staff appointments maya
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            clinic = await get_clinic(uow)
            owner = await find_patient(uow, patient)
            stmt = (
                select(Appointment, Fee.name, Practitioner.name, Location.name)
                .join(Fee, Fee.id == Appointment.fee_id)
                .join(Practitioner, Practitioner.id == Appointment.practitioner_id)
                .join(Location, Location.id == Appointment.location_id)
                .where(Appointment.patient_id == owner.id)
                .order_by(Appointment.starts_at, Appointment.id)
            )
            if not show_all:
                today = local_today(clinic, uow.clock.now())
                stmt = stmt.where(
                    Appointment.starts_at >= local_midnight_utc(clinic, today),
                    Appointment.status != "cancelled",
                )
            found = (await uow.session.execute(stmt)).tuples().all()
            tz = zone(clinic)
            rows = [
                [
                    a.id, local_text(a.starts_at, tz), a.status.replace("_", "-"), fee,
                    practitioner, location, a.package_id,
                ]
                for a, fee, practitioner, location in found
            ]
            headers = [
                "appointment", "when", "status", "fee", "practitioner", "location", "package",
            ]
            return [f"Appointments of {who_text(owner)}:", render(headers, rows).rstrip("\n")]

    echo(run(work))


@click.command("cancel")
@click.argument("appointment_id", metavar="APPOINTMENT_ID", type=ID)
def cancel(appointment_id: int) -> None:
    """Cancel a booked appointment; a package use it held goes back to the package.

    The desk may cancel at any time before arrival (patients only before the notice).

    \b
    Example:
      clinicbot staff cancel 12
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            before = await appointments.get_appointment(uow, appointment_id)
            package_id = before.package_id
            appointment = await appointments.cancel(uow, appointment_id, by="staff", actor=actor)
            what = await describe(uow, appointment)
            lines = [f"Cancelled appointment {appointment.id} ({what})."]
            if package_id is not None:
                package = await packages.get_package(uow, package_id)
                lines.append(
                    f"Its use went back to package {package.id} ({package.name}): "
                    f"{package.available} available."
                )
            await uow.commit()
            return lines

    echo(run(work))


COMMANDS = [slots, book, list_appointments, cancel]
