"""Desk commands that change a sold package: expiry, transfer of uses, refund.

RULES.md 5 (staff change or clear the expiry), 9 (refund: suggested amount, bounds, the package
ends, the amount becomes credit), 10 (transfer to family, uses add up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import click
from sqlalchemy import select

from bot.cli.common import Context, run
from bot.cli.staff_common import (
    AMOUNT,
    DATE_OR_NONE,
    ID,
    USES,
    Desk,
    acting_desk,
    confirm,
    echo,
    money,
    who_text,
)
from bot.cli.staff_packages import owner_of
from bot.services import billing, package_admin, packages
from bot.services.clinic import get_clinic
from bot.services.errors import WrongState
from bot.services.lookup import find_patient
from bot.storage.models import Appointment, Invoice
from bot.storage.uow import UnitOfWork


@click.command("expiry")
@click.argument("package_id", metavar="PACKAGE_ID", type=ID)
@click.argument("new_date", metavar="DATE|none", type=DATE_OR_NONE)
def expiry(package_id: int, new_date: date | None) -> None:
    """Change a package's expiry to DATE (YYYY-MM-DD), or clear it with 'none'.

    A date before an appointment the package already covers is refused: remove the package
    from that appointment first, or choose a later date.

    \b
    Examples:
      clinicbot staff expiry 3 2027-06-30
      clinicbot staff expiry 3 none
    """

    async def work(ctx: Context) -> str:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            package = await package_admin.change_expiry(uow, package_id, new_date, actor=actor)
            when = "never expires"
            if package.expires_on is not None:
                when = f"expires on {package.expires_on.isoformat()}"
            await uow.commit()
            return f"Package {package.id} ({package.name}) now {when}."

    click.echo(run(work))


@click.command("transfer")
@click.argument("package_id", metavar="PACKAGE_ID", type=ID)
@click.argument("to_patient", metavar="TO_PATIENT")
@click.argument("uses", type=USES)
@click.pass_obj
def transfer(desk: Desk, package_id: int, to_patient: str, uses: int) -> None:
    """Move USES available uses of a package to a family member (TO_PATIENT).

    The family member gets a new package with the same expiry, fees, practitioners and
    locations; the uses of both add up to what the package had.

    \b
    Example:
      clinicbot staff transfer 3 leo 2
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            actor = await desk.actor(uow)
            by = await desk.who(uow)
            recipient = await find_patient(uow, to_patient)
            gift = await package_admin.transfer(
                uow, package_id, recipient.id, uses, by=by, actor=actor
            )
            source = await packages.get_package(uow, package_id)
            await uow.commit()
            return [
                f"Moved {uses} use(s) of {source.name} from package {source.id} to new package "
                f"{gift.id} of {who_text(recipient)}.",
                f"Package {source.id} now has {source.uses} uses, {source.available} available.",
            ]

    echo(run(work))


@dataclass(frozen=True)
class _RefundPreview:
    lines: list[str]
    amount: Decimal
    clinic_amount: str


async def _preview(uow: UnitOfWork, package_id: int) -> _RefundPreview:
    clinic = await get_clinic(uow)
    package = await packages.get_package(uow, package_id)
    if package.refunded_at is not None:
        raise WrongState(f"{package.name} was already refunded ({package.refund_amount})")
    owner = await owner_of(uow, package.patient_id)
    collected = await billing.package_collected(uow, package.id)
    suggested = await package_admin.suggested_refund(uow, package.id)
    basis = ("collected and not yet receipted; another amount adds a refund adjustment receipt"
             if package.insurance_friendly else "price / uses x uses not redeemed")
    return _RefundPreview(
        lines=[
            f"Package {package.id} ({package.name}) of {who_text(owner)}: {package.redeemed} "
            f"redeemed, {package.booked} booked, {package.available} available; collected "
            f"{money(collected, clinic)}.",
            f"Suggested refund: {money(suggested, clinic)} ({basis}); "
            f"allowed: {money(Decimal('0'), clinic)} to {money(collected, clinic)}.",
        ],
        amount=suggested,
        clinic_amount=money(suggested, clinic),
    )


@click.command("refund")
@click.argument("package_id", metavar="PACKAGE_ID", type=ID)
@click.option("--amount", type=AMOUNT, help="Refund this amount (0 to what was collected).")
@click.option("--yes", is_flag=True, help="Refund the suggested amount without asking.")
@click.pass_obj
def refund(desk: Desk, package_id: int, amount: Decimal | None, yes: bool) -> None:
    """Refund a package: the amount becomes the patient's credit and the package ends.

    Without --amount, shows the suggested amount (price / uses x uses not redeemed) and the
    allowed range, and asks before refunding it (--yes: do not ask). Booked appointments lose
    the package (their uses return) and staff are told. The package's open invoices are owed
    no more (what was paid on them stays recorded); see the credit with 'staff credit'.

    \b
    Examples:
      clinicbot staff refund 3
      clinicbot staff refund 3 --amount 150.00
    """
    if amount is None:

        async def look(ctx: Context) -> _RefundPreview:
            async with ctx.uow(readonly=True) as uow:
                return await _preview(uow, package_id)

        preview = run(look)
        echo(preview.lines)
        confirm(f"Refund {preview.clinic_amount} and end the package?", yes)
        amount = preview.amount

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            actor = await desk.actor(uow)
            by = await desk.who(uow)
            clinic = await get_clinic(uow)
            reserved = (
                await uow.session.scalars(
                    select(Appointment.id)
                    .where(
                        Appointment.package_id == package_id,
                        Appointment.package_use == "reserved",
                    )
                    .order_by(Appointment.starts_at, Appointment.id)
                )
            ).all()
            settled = (
                await uow.session.scalars(
                    select(Invoice.id)
                    .where(
                        Invoice.package_id == package_id,
                        Invoice.kind.in_(billing.PRICE_KINDS),
                        Invoice.status == "open",
                    )
                    .order_by(Invoice.id)
                )
            ).all()
            package = await package_admin.refund(uow, package_id, amount, by=by, actor=actor)
            owner = await owner_of(uow, package.patient_id)
            refunded = package.refund_amount if package.refund_amount is not None else Decimal(0)
            lines = [
                f"Refunded package {package.id} ({package.name}): {money(refunded, clinic)} "
                f"credited to {who_text(owner)}; the package is ended."
            ]
            if settled:
                ids = ", ".join(str(i) for i in settled)
                lines.append(f"Invoices no longer owed (the unpaid rest is void): {ids}")
            if reserved:
                ids = ", ".join(str(i) for i in reserved)
                lines.append(f"Appointments that lost the package (staff were told): {ids}")
            await uow.commit()
            return lines

    echo(run(work))


COMMANDS = [expiry, transfer, refund]
