"""Desk commands for a package's remaining sessions booked as a series (issue 19).

``staff series`` lays the sessions out from a first clinic-local time every N days
(:func:`bot.services.series.propose`: as many as the package has uses available, or --count,
up to its expiry; a time that does not fit is replaced by the nearest free one, marked) and,
with --yes, books them all in one transaction; without --yes nothing is booked.
``staff cancel-series`` cancels an appointment and the later ones of its series (their uses
go back). A single appointment of a series is cancelled with ``staff cancel`` as usual.
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
    local_text,
    to_utc,
)
from bot.services import packages, series
from bot.services.clinic import get_clinic, zone
from bot.storage.models import Fee, Location, Practitioner


@click.command("series")
@click.argument("package_id", type=ID)
@click.option("--practitioner", "practitioner_key", required=True, metavar="KEY")
@click.option("--location", "location_key", required=True, metavar="KEY")
@click.option("--fee", "fee_key", required=True, metavar="KEY")
@click.option(
    "--first", "first", type=LOCAL_TIME, required=True,
    help="Clinic-local time of the first session, YYYY-MM-DD HH:MM (quote it).",
)
@click.option("--every", "every_days", type=click.IntRange(1, series.MAX_EVERY_DAYS),
              default=7, show_default=True, help="Days between sessions.")
@click.option("--count", type=click.IntRange(1, 999), help="At most this many sessions.")
@click.option("--yes", "confirmed", is_flag=True, help="Book the times shown.")
def book_series(
    package_id: int, practitioner_key: str, location_key: str, fee_key: str, first: WallTime,
    every_days: int, count: int | None, confirmed: bool,
) -> None:
    """Show (and with --yes book) the remaining uses of package PACKAGE_ID as a series.

    \b
    Example:
      clinicbot staff series 12 --practitioner ana --location downtown \\
        --fee physio-follow --first "2026-11-10 14:30" --every 7 --yes
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            clinic = await get_clinic(uow)
            tz = zone(clinic)
            practitioner = await by_key(uow, Practitioner, practitioner_key, "practitioner")
            location = await by_key(uow, Location, location_key, "location")
            fee = await by_key(uow, Fee, fee_key, "fee")
            proposal = await series.propose(
                uow, package_id=package_id, practitioner_id=practitioner.id,
                location_id=location.id, fee_id=fee.id, first_start=to_utc(first, clinic),
                every_days=every_days, count=count, booked_by="staff",
            )
            lines = [f"{len(proposal.occurrences)} session(s) of {fee.name} with "
                     f"{practitioner.name} at {location.name}, every {every_days} day(s):"]
            for occurrence in proposal.occurrences:
                moved = (f"  (instead of {local_text(occurrence.wanted, tz)}, not free)"
                         if occurrence.moved else "")
                lines.append(f"  {local_text(occurrence.starts_at, tz)}{moved}")
            lines.extend(f"  no free time near {local_text(wanted, tz)}: left out"
                         for wanted in proposal.skipped)
            if not confirmed or not proposal.occurrences:
                lines.append("Nothing booked; add --yes to book these times.")
                return lines
            made = await series.book_series(
                uow, package_id=package_id, practitioner_id=practitioner.id,
                location_id=location.id, fee_id=fee.id, every_days=every_days,
                starts=proposal.starts, booked_by="staff", actor=actor,
            )
            package = await packages.get_package(uow, package_id)
            booked = await series.series_appointments(uow, made.id)
            lines.append(f"Booked series {made.id}: appointments "
                         f"{', '.join(str(a.id) for a in booked)}; package {package.id} has "
                         f"{package.available} use(s) left available.")
            await uow.commit()
            return lines

    echo(run(work))


@click.command("cancel-series")
@click.argument("appointment_id", type=ID)
def cancel_series(appointment_id: int) -> None:
    """Cancel appointment APPOINTMENT_ID and the later appointments of its series.

    Each one's package use goes back. To cancel only one, use 'clinicbot staff cancel'.

    \b
    Example:
      clinicbot staff cancel-series 42
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            done = await series.cancel_rest(uow, appointment_id, by="staff", actor=actor)
            lines = [f"Cancelled {len(done)} appointment(s) of the series:"]
            lines.extend([f"  {a.id}: {await describe(uow, a)}" for a in done])
            await uow.commit()
            return lines

    echo(run(work))


COMMANDS = [book_series, cancel_series]
