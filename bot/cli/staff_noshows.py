"""Desk commands for no-shows (RULES.md 8): mark, list the open ones, resolve, undo.

A package no-show is resolved by redeeming a use (billed like an arrival) or by keeping the use
and charging one of the clinic's no-show fees; either can be undone, restoring the state before.
"""

from __future__ import annotations

import click
from sqlalchemy import select

from bot.cli.common import Context, run
from bot.cli.output import Cell, render
from bot.cli.staff_appointments import describe
from bot.cli.staff_common import ID, Desk, echo, invoice_lines, local_text
from bot.services import billing, noshows, packages
from bot.services.clinic import get_clinic, zone
from bot.services.errors import InvalidInput
from bot.storage.models import Appointment, Fee, NoShowFee, Patient
from bot.storage.uow import UnitOfWork


async def _fee_keys(uow: UnitOfWork) -> str:
    keys = (await uow.session.scalars(select(NoShowFee.key).order_by(NoShowFee.id))).all()
    return ", ".join(keys) or "none"


@click.command("no-show")
@click.argument("appointment_id", metavar="APPOINTMENT_ID", type=ID)
@click.pass_obj
def no_show(desk: Desk, appointment_id: int) -> None:
    """Mark a booked appointment that has started as a no-show, and raise it to staff.

    \b
    Example:
      clinicbot staff no-show 12
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            actor = await desk.actor(uow)
            by = await desk.who(uow)
            raised = await noshows.mark_no_show(uow, appointment_id, by=by, actor=actor)
            appointment = await uow.session.get(Appointment, appointment_id)
            assert appointment is not None  # mark_no_show found it
            lines = [
                f"Appointment {appointment_id} ({await describe(uow, appointment)}) is a "
                f"no-show: no-show {raised.id}.",
            ]
            fees = await _fee_keys(uow)
            if appointment.package_id is not None:
                lines.append(
                    f"Resolve it: clinicbot staff resolve {raised.id} redeem, or "
                    f"clinicbot staff resolve {raised.id} fee --fee KEY ({fees})"
                )
            else:
                lines.append(f"Charge a fee: clinicbot staff resolve {raised.id} fee --fee KEY "
                             f"({fees})")
            await uow.commit()
            return lines

    echo(run(work))


@click.command("no-shows")
def list_no_shows() -> None:
    """List the no-shows waiting for a decision, oldest first.

    \b
    Example:
      clinicbot staff no-shows
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            clinic = await get_clinic(uow)
            tz = zone(clinic)
            rows: list[list[Cell]] = []
            for item in await noshows.open_no_shows(uow):
                appointment = await uow.session.get(Appointment, item.appointment_id)
                assert appointment is not None  # a foreign key
                patient = await uow.session.get(Patient, appointment.patient_id)
                fee = await uow.session.get(Fee, appointment.fee_id)
                assert patient is not None and fee is not None  # foreign keys
                rows.append([
                    item.id, appointment.id, local_text(appointment.starts_at, tz),
                    patient.id, patient.full_name, fee.name, appointment.package_id,
                    item.reason.replace("_", " "),
                ])
            headers = [
                "no-show", "appointment", "when", "patient", "name", "fee", "package", "reason",
            ]
            return [render(headers, rows).rstrip("\n")]

    echo(run(work))


@click.command("resolve")
@click.argument("no_show_id", metavar="NOSHOW_ID", type=ID)
@click.argument("choice", type=click.Choice(["redeem", "fee"]))
@click.option("--fee", "fee_key", metavar="KEY", help="The no-show fee to charge (with 'fee').")
@click.pass_obj
def resolve(desk: Desk, no_show_id: int, choice: str, fee_key: str | None) -> None:
    """Resolve a no-show: 'redeem' its package use, or charge a no-show 'fee' (--fee KEY).

    Charging a fee keeps the use on the package. Either can be undone with 'undo'.

    \b
    Examples:
      clinicbot staff resolve 4 redeem
      clinicbot staff resolve 4 fee --fee missed
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            actor = await desk.actor(uow)
            by = await desk.who(uow)
            clinic = await get_clinic(uow)
            if choice == "fee" and not fee_key:
                raise InvalidInput(f"'fee' needs --fee KEY, one of: {await _fee_keys(uow)}")
            before = await noshows.get_no_show(uow, no_show_id)
            appointment = await uow.session.get(Appointment, before.appointment_id)
            assert appointment is not None  # a foreign key
            package_id = appointment.package_id
            resolved = await noshows.resolve(
                uow, no_show_id, "fee" if choice == "fee" else "redeem",
                no_show_fee_key=fee_key, by=by,
                actor=actor,
            )
            if resolved.resolution == "redeemed" and package_id is not None:
                package = await packages.get_package(uow, package_id)
                lines = [
                    f"No-show {resolved.id} resolved: a use of package {package.id} "
                    f"({package.name}) redeemed; {package.available} available."
                ]
            else:
                lines = [f"No-show {resolved.id} resolved: a no-show fee charged."]
                if package_id is not None:
                    lines.append(f"The use went back to package {package_id}.")
            billed = await billing.open_invoices_for_appointment(uow, appointment.id)
            lines += invoice_lines(billed, clinic)
            await uow.commit()
            return lines

    echo(run(work))


@click.command("undo")
@click.argument("no_show_id", metavar="NOSHOW_ID", type=ID)
@click.pass_obj
def undo(desk: Desk, no_show_id: int) -> None:
    """Undo a no-show's resolution, restoring exactly the state before it.

    \b
    Example:
      clinicbot staff undo 4
    """

    async def work(ctx: Context) -> str:
        async with ctx.uow() as uow:
            actor = await desk.actor(uow)
            by = await desk.who(uow)
            undone = await noshows.undo(uow, no_show_id, by=by, actor=actor)
            await uow.commit()
            return (
                f"Undid the resolution of no-show {undone.id}; it waits for a decision again "
                f"(clinicbot staff resolve {undone.id} ...)."
            )

    click.echo(run(work))


COMMANDS = [no_show, list_no_shows, resolve, undo]
