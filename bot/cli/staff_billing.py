"""Desk commands for money and memberships: invoices, payments, enrolments, cancellations.

A payment is money received, or the patient's credit spent (``pay --from-credit``; the credit
ledger is :mod:`bot.services.credit`, shown by ``staff credit`` in bot/cli/staff_credit.py).

RULES.md 2 (a package is usable once paid), 13 (a membership is invoiced per period from its
start, missed periods caught up), 15 (unpaid invoices), 16 (cancelled from a date: nothing
invoiced after it).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import click
from sqlalchemy import select

from bot.cli.common import Context, run
from bot.cli.output import Cell, render
from bot.cli.staff_common import AMOUNT, DATE, ID, acting_desk, echo, money, who_text
from bot.services import billing, credit, memberships, packages
from bot.services.clinic import get_clinic, local_today
from bot.services.invoices import memberships_for
from bot.services.lookup import find_patient
from bot.storage.models import Invoice, Patient

METHODS = billing.PAYMENT_METHODS


@click.command("invoices")
@click.argument("patient")
@click.option("--all", "show_all", is_flag=True, help="Also paid and void invoices.")
def invoices(patient: str, show_all: bool) -> None:
    """List PATIENT's open invoices (--all: every invoice), oldest due first, and their credit.

    \b
    Example:
      clinicbot staff invoices maya --all
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            clinic = await get_clinic(uow)
            owner = await find_patient(uow, patient)
            stmt = select(Invoice).where(Invoice.patient_id == owner.id)
            if not show_all:
                stmt = stmt.where(Invoice.status == "open")
            found = (await uow.session.scalars(stmt.order_by(Invoice.due_on, Invoice.id))).all()
            rows: list[list[Cell]] = [
                [
                    i.id, i.kind, i.description, i.issued_on, i.due_on,
                    i.amount, i.paid, i.outstanding, i.status,
                ]
                for i in found
            ]
            headers = [
                "invoice", "kind", "description", "issued", "due",
                f"amount {clinic.currency}", "paid", "owed", "status",
            ]
            which = "Invoices" if show_all else "Open invoices"
            lines = [f"{which} of {who_text(owner)}:", render(headers, rows).rstrip("\n")]
            held = await credit.balance(uow, owner.id)
            if held != billing.ZERO:
                lines.append(
                    f"Credit: {money(held, clinic)} (see 'clinicbot staff credit {owner.id}'; "
                    "pay an invoice with it: 'clinicbot staff pay INVOICE --from-credit')."
                )
            return lines

    echo(run(work))


@click.command("pay")
@click.argument("invoice_id", metavar="INVOICE_ID", type=ID)
@click.argument("amount", type=AMOUNT, required=False)
@click.option(
    "--method", type=click.Choice(METHODS), default=None,
    help="How the money was received.  [default: desk]",
)
@click.option(
    "--from-credit", "from_credit", is_flag=True,
    help="Pay from the patient's credit (refunds, overpayments) instead; without AMOUNT, as "
    "much as the credit and the invoice allow.",
)
def pay(invoice_id: int, amount: Decimal | None, method: str | None, from_credit: bool) -> None:
    """Record a payment of AMOUNT on an invoice (at most what is still owed).

    With --from-credit the patient's credit pays it: never more than the invoice owes or the
    credit holds ('clinicbot staff credit PATIENT' shows the credit). Paying a package's
    invoice (or its first installment) makes the package usable.

    \b
    Examples:
      clinicbot staff pay 12 400.00 --method card
      clinicbot staff pay 12 --from-credit
    """
    if from_credit and method is not None:
        raise click.UsageError("--method does not go with --from-credit (the credit pays)")
    if not from_credit and amount is None:
        raise click.UsageError(
            "give the AMOUNT received, or --from-credit to pay from the patient's credit"
        )

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            clinic = await get_clinic(uow)
            was_usable = None
            invoice = await billing.lock_invoice(uow, invoice_id)
            if invoice.package_id is not None:
                was_usable = (await packages.get_package(uow, invoice.package_id)).paid_enough
            left = None
            if from_credit:
                paid = await credit.pay_from_credit(uow, invoice_id, amount, actor=actor)
                payment, left = paid.payment, paid.left
            else:
                payment = await billing.record_payment(
                    uow, invoice_id, amount or Decimal(0), method=method or "desk",
                    actor=actor,
                )
            owner = await uow.session.get(Patient, invoice.patient_id)
            assert owner is not None  # a foreign key
            state = (
                "paid in full" if invoice.status == "paid"
                else f"{money(invoice.outstanding, clinic)} still owed"
            )
            lines = [
                f"Recorded {money(payment.amount, clinic)} ({payment.method}) on invoice "
                f"{invoice.id}, {invoice.description}, for {who_text(owner)}; {state}."
            ]
            if left is not None:
                lines.append(f"Credit left: {money(left, clinic)}.")
            if invoice.package_id is not None and was_usable is False:
                package = await packages.get_package(uow, invoice.package_id)
                if package.paid_enough:
                    lines.append(f"Package {package.id} ({package.name}) can now be used.")
            await uow.commit()
            return lines

    echo(run(work))


@click.command("memberships")
@click.argument("patient")
def list_memberships(patient: str) -> None:
    """List PATIENT's memberships with their status and next renewal.

    \b
    Example:
      clinicbot staff memberships sofia
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            clinic = await get_clinic(uow)
            owner = await find_patient(uow, patient)
            found = await memberships_for(uow, owner.id)
            rows: list[list[Cell]] = [
                [m.membership_id, m.plan_name, m.period, m.price, m.start, m.status, m.ends_on,
                 m.next_renewal]
                for m in found
            ]
            headers = [
                "membership", "plan", "period", f"price {clinic.currency}", "start", "status",
                "ends", "next renewal",
            ]
            return [f"Memberships of {who_text(owner)}:", render(headers, rows).rstrip("\n")]

    echo(run(work))


@click.command("enrol")
@click.argument("patient")
@click.argument("plan")
@click.option("--start", "start", type=DATE, required=True, help="First day, YYYY-MM-DD.")
def enrol(patient: str, plan: str, start: date) -> None:
    """Enrol PATIENT in a membership PLAN (its key) from --start.

    Periods are counted from the start date; every period begun by today is invoiced at once
    (plans with auto-invoice), later ones when they start.

    \b
    Example:
      clinicbot staff enrol maya wellness-monthly --start 2026-12-01
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            clinic = await get_clinic(uow)
            owner = await find_patient(uow, patient)
            membership = await memberships.enrol(uow, owner.id, plan, start, actor=actor)
            the_plan = await memberships.get_plan(uow, membership.plan_id)
            today = local_today(clinic, uow.clock.now())
            await memberships.invoice_due_periods(uow, today, membership_ids=[membership.id])
            created = (
                await uow.session.scalars(
                    select(Invoice)
                    .where(Invoice.membership_id == membership.id)
                    .order_by(Invoice.period_start)
                )
            ).all()
            lines = [
                f"Enrolled {who_text(owner)} in {the_plan.name}: membership {membership.id}, "
                f"{money(the_plan.price, clinic)} {the_plan.period}, from {start.isoformat()}."
            ]
            lines += [
                f"Invoice {i.id}: {money(i.amount, clinic)} due {i.due_on.isoformat()}"
                for i in created
            ]
            await uow.commit()
            return lines

    echo(run(work))


@click.command("cancel-membership")
@click.argument("membership_id", metavar="MEMBERSHIP_ID", type=ID)
@click.option("--from", "from_date", type=DATE, required=True, help="First day not billed.")
def cancel_membership(membership_id: int, from_date: date) -> None:
    """Cancel a membership from a date: no period starting on or after it is invoiced.

    Unpaid invoices of periods starting on or after that date are voided.

    \b
    Example:
      clinicbot staff cancel-membership 4 --from 2027-01-01
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            stale = (
                await uow.session.scalars(
                    select(Invoice.id).where(
                        Invoice.membership_id == membership_id,
                        Invoice.period_start >= from_date,
                        Invoice.status == "open",
                        Invoice.paid == 0,
                    )
                )
            ).all()
            membership = await memberships.cancel(uow, membership_id, from_date, actor=actor)
            lines = [
                f"Membership {membership.id} is cancelled from {from_date.isoformat()}; "
                "nothing is invoiced from then on."
            ]
            if stale:
                lines.append("Voided unpaid invoices: " + ", ".join(str(i) for i in stale))
            await uow.commit()
            return lines

    echo(run(work))


COMMANDS = [invoices, pay, list_memberships, enrol, cancel_membership]
