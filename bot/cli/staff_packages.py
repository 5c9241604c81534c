"""Desk commands for packages: sell one, list a patient's, show one in full.

RULES.md 1-2 (a sale copies the template and invoices it), 11 (details with each session), 12
(a sale credited to a staff member or left to the practitioner). Changes to a sold package
(expiry, transfer, refund) are in bot/cli/staff_package_changes.py.
"""

from __future__ import annotations

from datetime import date

import click
from sqlalchemy import select

from bot.cli.common import Context, run
from bot.cli.output import render
from bot.cli.staff_common import DATE, ID, acting_desk, echo, money, who_text
from bot.services import package_views, packages
from bot.services.clinic import get_clinic
from bot.services.lookup import as_id, find_patient, find_staff
from bot.storage.models import Invoice, Patient
from bot.storage.uow import UnitOfWork

USE_LABELS = {
    "arrival": "redeemed",
    "no_show": "no-show",
    "booked": "booked",
    "imported": "before import",
}


def _template_ref(text: str) -> str | int:
    number = as_id(text)
    return number if number is not None else text


async def owner_of(uow: UnitOfWork, patient_id: int) -> Patient:
    """The patient a package belongs to."""
    patient = await uow.session.get(Patient, patient_id)
    assert patient is not None  # a foreign key
    return patient


@click.command("sell")
@click.argument("patient")
@click.argument("template")
@click.option(
    "--by",
    "seller",
    metavar="STAFF_KEY",
    help="Credit the sale to this staff member (paid at sale). Without it the practitioner "
    "is credited at each redemption.",
)
@click.option("--on", "day", type=DATE, help="Purchase date, YYYY-MM-DD (default: today).")
def sell(patient: str, template: str, seller: str | None, day: date | None) -> None:
    """Sell a package from TEMPLATE (its key) to PATIENT and invoice it.

    The package can be used once paid (with installments: once the first is paid).

    \b
    Example:
      clinicbot staff sell maya physio-5 --by desk
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            clinic = await get_clinic(uow)
            owner = await find_patient(uow, patient)
            staff = await find_staff(uow, seller) if seller else None
            package = await packages.sell_package(
                uow, owner.id, _template_ref(template),
                sold_by_staff_id=staff.id if staff else None,
                purchased_on=day,
                actor=actor,
            )
            invoices = (
                await uow.session.scalars(
                    select(Invoice)
                    .where(Invoice.package_id == package.id)
                    .order_by(Invoice.due_on, Invoice.id)
                )
            ).all()
            expiry = package.expires_on.isoformat() if package.expires_on else "never"
            credited = f"sold by {staff.key}" if staff else "unassigned sale"
            lines = [
                f"Sold {package.name} to {who_text(owner)}: package {package.id}, "
                f"{package.uses} uses, {money(package.price, clinic)}, expires {expiry} "
                f"({credited})."
            ]
            lines += [
                f"Invoice {inv.id}: {money(inv.amount, clinic)} due {inv.due_on.isoformat()}"
                for inv in invoices
            ]
            if invoices:
                first = invoices[0]
                lines.append(
                    f"Record the payment with: clinicbot staff pay {first.id} {first.amount:.2f}"
                )
            await uow.commit()
            return lines

    echo(run(work))


@click.command("packages")
@click.argument("patient")
def list_packages(patient: str) -> None:
    """List PATIENT's packages with their status, money and uses.

    \b
    Example:
      clinicbot staff packages maya
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            clinic = await get_clinic(uow)
            owner = await find_patient(uow, patient)
            found = await package_views.packages_for(uow, owner.id)
            rows = [
                [
                    p.id, p.name, p.purchased_on, p.expires_on or "never",
                    p.status.replace("_", " "), p.price, p.paid, p.outstanding,
                    p.redeemed, p.booked, p.available,
                ]
                for p in found
            ]
            headers = [
                "package", "name", "purchased", "expires", "status",
                f"price {clinic.currency}", "paid", "owed", "redeemed", "booked", "available",
            ]
            return [f"Packages of {who_text(owner)}:", render(headers, rows).rstrip("\n")]

    echo(run(work))


@click.command("package")
@click.argument("package_id", metavar="PACKAGE_ID", type=ID)
def show_package(package_id: int) -> None:
    """Show one package: purchase, price, paid, uses, expiry and each session it covered.

    \b
    Example:
      clinicbot staff package 3
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            clinic = await get_clinic(uow)
            d = await package_views.package_details(uow, package_id)
            owner = await owner_of(uow, d.patient_id)
            lines = [
                f"Package {d.id}: {d.name}, {who_text(owner)}",
                f"Status:    {d.status.replace('_', ' ')}",
                f"Purchased: {d.purchased_on.isoformat()}",
                f"Expires:   {d.expires_on.isoformat() if d.expires_on else 'never'}",
                f"Price:     {money(d.price, clinic)}; paid {money(d.paid, clinic)}; "
                f"owed {money(d.outstanding, clinic)}",
                f"Uses:      {d.uses} = {d.redeemed} redeemed + {d.booked} booked + "
                f"{d.available} available",
            ]
            if (await packages.get_package(uow, package_id)).insurance_friendly:
                lines.append(f"Receipts:  insurance-friendly, one per redeemed session "
                             f"(clinicbot staff receipts {d.id})")
            if d.transferred_from_id is not None:
                lines.append(f"Transferred from package {d.transferred_from_id}")
            if d.refund_amount is not None:
                lines.append(f"Refunded:  {money(d.refund_amount, clinic)} (the package is ended)")
            rows = [
                [
                    None if s.kind == "imported" else s.day,  # redeemed before the bot: no date
                    USE_LABELS.get(s.kind, s.kind), s.fee, s.practitioner, s.appointment_id,
                ]
                for s in d.sessions
            ]
            headers = ["date", "use", "fee", "practitioner", "appointment"]
            lines += ["Sessions:", render(headers, rows)]
            return [line.rstrip("\n") for line in lines]

    echo(run(work))


COMMANDS = [sell, list_packages, show_package]
