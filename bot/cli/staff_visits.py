"""Desk commands for a booked appointment: move it, change its package, mark it arrived (and
undo that).

RULES.md 3 (arrival redeems the package use and bills ``patient_pays``; without a package the
fee is billed; from 15 minutes before the start, never days ahead; its undo restores the use
and voids the bill), 5 (a package appointment is not moved past the package's expiry), 6 (the
package comes off only before arrival), 21 (times typed in the clinic's zone).
"""

from __future__ import annotations

import click

from bot.cli.common import Context, run
from bot.cli.staff_appointments import describe
from bot.cli.staff_common import (
    ID,
    LOCAL_TIME,
    WallTime,
    acting_desk,
    by_key,
    echo,
    invoice_lines,
    to_utc,
)
from bot.services import appointments, arrivals, billing, packages
from bot.services.clinic import get_clinic
from bot.storage.models import Location, Practitioner


@click.command("reschedule")
@click.argument("appointment_id", metavar="APPOINTMENT_ID", type=ID)
@click.option(
    "--at", "at", type=LOCAL_TIME, required=True,
    help="New clinic-local start, YYYY-MM-DD HH:MM (quote it).",
)
@click.option("--practitioner", "practitioner_key", metavar="KEY", help="Another practitioner.")
@click.option("--location", "location_key", metavar="KEY", help="Another location.")
def reschedule(
    appointment_id: int, at: WallTime, practitioner_key: str | None, location_key: str | None
) -> None:
    """Move a booked appointment to another time (and practitioner or location).

    The move happens whole or not at all; a package appointment is not moved past the
    package's expiry (remove the package, or extend the expiry).

    \b
    Example:
      clinicbot staff reschedule 12 --at "2026-11-12 10:00" --location downtown
    """

    async def work(ctx: Context) -> str:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            clinic = await get_clinic(uow)
            practitioner = (
                await by_key(uow, Practitioner, practitioner_key, "practitioner")
                if practitioner_key else None
            )
            location = (
                await by_key(uow, Location, location_key, "location") if location_key else None
            )
            appointment = await appointments.reschedule(
                uow, appointment_id, to_utc(at, clinic), by="staff",
                new_practitioner_id=practitioner.id if practitioner else None,
                new_location_id=location.id if location else None,
                actor=actor,
            )
            line = f"Moved appointment {appointment.id} to {await describe(uow, appointment)}."
            await uow.commit()
            return line

    click.echo(run(work))


@click.command("add-package")
@click.argument("appointment_id", metavar="APPOINTMENT_ID", type=ID)
@click.argument("package_id", metavar="PACKAGE_ID", type=ID)
def add_package(appointment_id: int, package_id: int) -> None:
    """Let a package of the same patient cover a booked appointment (reserves a use).

    \b
    Example:
      clinicbot staff add-package 12 3
    """

    async def work(ctx: Context) -> str:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            appointment = await appointments.attach_package(
                uow, appointment_id, package_id, actor=actor
            )
            package = await packages.get_package(uow, package_id)
            await uow.commit()
            return (
                f"Package {package.id} ({package.name}) now covers appointment {appointment.id}; "
                f"{package.available} use(s) left available."
            )

    click.echo(run(work))


@click.command("remove-package")
@click.argument("appointment_id", metavar="APPOINTMENT_ID", type=ID)
def remove_package(appointment_id: int) -> None:
    """Take the package off a booked appointment; its use goes back to the package.

    Only before the appointment is marked arrived.

    \b
    Example:
      clinicbot staff remove-package 12
    """

    async def work(ctx: Context) -> str:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            before = await appointments.get_appointment(uow, appointment_id)
            package_id = before.package_id
            appointment = await appointments.remove_package(uow, appointment_id, actor=actor)
            assert package_id is not None  # remove_package refuses an appointment without one
            package = await packages.get_package(uow, package_id)
            await uow.commit()
            return (
                f"Package {package.id} ({package.name}) no longer covers appointment "
                f"{appointment.id}; its use went back ({package.available} available)."
            )

    click.echo(run(work))


@click.command("arrive")
@click.argument("appointment_id", metavar="APPOINTMENT_ID", type=ID)
def arrive(appointment_id: int) -> None:
    """Mark a booked appointment arrived: its package use is redeemed, the visit billed.

    With a package, the session is billed the package's per-session amount (if any);
    without one, the fee's price. Possible from 15 minutes before the appointment starts;
    a mistaken arrival is undone with 'clinicbot staff undo-arrival'.

    \b
    Example:
      clinicbot staff arrive 12
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            clinic = await get_clinic(uow)
            appointment = await arrivals.arrive(uow, appointment_id, actor=actor)
            lines = [f"Appointment {appointment.id} arrived ({await describe(uow, appointment)})."]
            if appointment.package_id is not None:
                package = await packages.get_package(uow, appointment.package_id)
                lines.append(
                    f"Redeemed a use of package {package.id} ({package.name}): "
                    f"{package.redeemed} redeemed, {package.available} available."
                )
            billed = await billing.open_invoices_for_appointment(uow, appointment.id)
            lines += invoice_lines(billed, clinic)
            await uow.commit()
            return lines

    echo(run(work))


@click.command("undo-arrival")
@click.argument("appointment_id", metavar="APPOINTMENT_ID", type=ID)
def undo_arrival(appointment_id: int) -> None:
    """Undo 'arrive': the appointment is booked again, its package use reserved again on the
    same package and its session invoice voided (refused if something was paid on it).

    \b
    Example:
      clinicbot staff undo-arrival 12
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            clinic = await get_clinic(uow)
            voided = await arrivals.undo_arrival(uow, appointment_id, actor=actor)
            appointment = await appointments.get_appointment(uow, appointment_id)
            lines = [
                f"Appointment {appointment.id} is booked again, its arrival undone "
                f"({await describe(uow, appointment)})."
            ]
            if appointment.package_id is not None:
                package = await packages.get_package(uow, appointment.package_id)
                lines.append(
                    f"The use went back to package {package.id} ({package.name}): "
                    f"{package.redeemed} redeemed, {package.booked} booked, "
                    f"{package.available} available."
                )
            lines += [f"{line}: void." for line in invoice_lines(voided, clinic)]
            await uow.commit()
            return lines

    echo(run(work))


COMMANDS = [reschedule, add_package, remove_package, arrive, undo_arrival]
