"""Desk commands for the waitlist (issue 19): who waits, the offers out, add, remove, refilled.

``clinicbot staff waitlist list`` shows the waiting entries in waitlist order and the offers
out now; ``add`` puts a patient on the list as the chat does; ``remove`` takes an entry off
(its open offer goes to the next patient); ``refilled`` counts the freed times the waitlist
refilled in a range of days.
"""

from __future__ import annotations

from datetime import date

import click

from bot.cli.common import Context, run
from bot.cli.output import Cell, render
from bot.cli.staff_common import DATE, ID, acting_desk, by_key, echo, local_text, who_text
from bot.services import waitlist
from bot.services.clinic import get_clinic, zone
from bot.services.lookup import find_patient
from bot.services.waitlist import PARTS, Wish
from bot.storage.models import Fee, Location, Patient, Practitioner, WaitlistEntry
from bot.storage.uow import UnitOfWork

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@click.group("waitlist")
def waitlist_group() -> None:
    """The waitlist: patients told when a time they want opens up.

    \b
    Examples:
      clinicbot staff waitlist list
      clinicbot staff waitlist add maya --fee physio-follow --practitioner ana --day tue
      clinicbot staff waitlist remove 3
      clinicbot staff waitlist refilled --from 2026-11-01 --to 2026-11-30
    """


async def _name(uow: UnitOfWork, model: type[Fee] | type[Practitioner] | type[Location],
                ident: int | None) -> str:
    if ident is None:
        return "any"
    return str(getattr(await uow.session.get(model, ident), "name", "?"))


async def _entry_row(uow: UnitOfWork, entry: WaitlistEntry) -> list[Cell]:
    patient = await uow.session.get(Patient, entry.patient_id)
    return [
        entry.id, who_text(patient) if patient else "?", await _name(uow, Fee, entry.fee_id),
        await _name(uow, Practitioner, entry.practitioner_id),
        await _name(uow, Location, entry.location_id),
        ",".join(WEEKDAYS[d] for d in entry.weekdays) or "any",
        ",".join(entry.parts) or "any", entry.until, entry.package_id,
    ]


@waitlist_group.command("list")
def list_entries() -> None:
    """The waiting entries in waitlist order, then the offers out now.

    \b
    Example:
      clinicbot staff waitlist list
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            tz = zone(await get_clinic(uow))
            entries = [await _entry_row(uow, e) for e in await waitlist.waiting(uow)]
            offers: list[list[Cell]] = [
                [o.id, o.entry_id, local_text(o.starts_at, tz),
                 await _name(uow, Practitioner, o.practitioner_id), local_text(o.expires_at, tz)]
                for o in await waitlist.open_offers(uow)
            ]
        lines = ["Waiting:"]
        lines.append(render(["entry", "patient", "fee", "practitioner", "location", "days",
                             "parts", "until", "package"], entries).rstrip("\n")
                     if entries else "(none)")
        lines.append("Offers out:")
        lines.append(render(["offer", "entry", "time", "practitioner", "held until"],
                            offers).rstrip("\n") if offers else "(none)")
        return lines

    echo(run(work))


@waitlist_group.command("add")
@click.argument("patient")
@click.option("--fee", "fee_key", required=True, metavar="KEY")
@click.option("--practitioner", "practitioner_key", metavar="KEY", help="Default: any.")
@click.option("--location", "location_key", metavar="KEY", help="Default: any.")
@click.option("--day", "days", multiple=True, type=click.Choice(WEEKDAYS),
              help="A weekday that suits (repeat for more; default: any).")
@click.option("--part", "parts", multiple=True, type=click.Choice(PARTS),
              help="A part of the day that suits (repeat for more; default: any).")
@click.option("--until", type=DATE, help="Last day (default: the package's expiry or 14 days).")
@click.option("--package", "package_id", type=ID, help="The package the booking should use.")
def add(patient: str, fee_key: str, practitioner_key: str | None, location_key: str | None,
        days: tuple[str, ...], parts: tuple[str, ...], until: date | None,
        package_id: int | None) -> None:
    """Put PATIENT on the waitlist for a fee.

    \b
    Example:
      clinicbot staff waitlist add maya --fee physio-follow --practitioner ana --day tue \\
        --part morning --until 2026-11-20
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            owner = await find_patient(uow, patient)
            fee = await by_key(uow, Fee, fee_key, "fee")
            practitioner = (await by_key(uow, Practitioner, practitioner_key, "practitioner")
                            if practitioner_key else None)
            location = (await by_key(uow, Location, location_key, "location")
                        if location_key else None)
            wish = Wish(
                fee_id=fee.id, practitioner_id=practitioner.id if practitioner else None,
                location_id=location.id if location else None,
                weekdays=tuple(WEEKDAYS.index(d) for d in days), parts=parts, until=until,
                package_id=package_id)
            entry = await waitlist.join(uow, owner.id, wish, actor=actor)
            await uow.commit()
            return [f"Waitlist entry {entry.id} for {who_text(owner)}: {fee.name}, "
                    f"until {entry.until}."]

    echo(run(work))


@waitlist_group.command("remove")
@click.argument("entry_id", metavar="ENTRY_ID", type=ID)
def remove(entry_id: int) -> None:
    """Take an entry off the waitlist; an offer it holds goes to the next patient.

    \b
    Example:
      clinicbot staff waitlist remove 3
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            entry = await waitlist.leave(uow, entry_id, actor=actor)
            await uow.commit()
            return [f"Removed waitlist entry {entry.id}."]

    echo(run(work))


@waitlist_group.command("refilled")
@click.option("--from", "start", type=DATE, required=True)
@click.option("--to", "end", type=DATE, required=True)
def refilled(start: date, end: date) -> None:
    """How many freed times the waitlist refilled (offers accepted) for days FROM to TO.

    \b
    Example:
      clinicbot staff waitlist refilled --from 2026-11-01 --to 2026-11-30
    """
    if end < start:
        raise click.UsageError("--to is before --from")

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            count = await waitlist.refilled(uow, start, end)
        return [f"Times refilled from the waitlist, {start} to {end}: {count}"]

    echo(run(work))


COMMANDS = [waitlist_group]
