"""``clinicbot staff credit PATIENT``: the credit the clinic holds for a patient, entry by entry.

RULES.md 9 (a refund becomes credit). Credit is a ledger (bot/services/credit.py): refunds and
money received when nothing was owed add to it, paying an invoice from it
(``clinicbot staff pay INVOICE --from-credit``) and handing it back to the patient
(``clinicbot staff pay-back PATIENT``) take from it.
"""

from __future__ import annotations

from decimal import Decimal

import click

from bot.cli.common import Context, run
from bot.cli.output import Cell, render
from bot.cli.staff_common import (
    AMOUNT,
    Desk,
    confirm,
    echo,
    local_text,
    money,
    who_text,
)
from bot.services import credit
from bot.services.clinic import get_clinic, zone
from bot.services.lookup import find_patient


@click.command("credit")
@click.argument("patient")
def show_credit(patient: str) -> None:
    """Show PATIENT's credit: every entry (refund, overpayment, applied, paid back) and the
    balance.

    Use the credit with 'clinicbot staff pay INVOICE --from-credit'; 'clinicbot report credit'
    lists every patient holding credit.

    \b
    Example:
      clinicbot staff credit maya
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            clinic = await get_clinic(uow)
            owner = await find_patient(uow, patient)
            found = await credit.entries(uow, owner.id)
            held = await credit.balance(uow, owner.id)
            lines = [f"Credit of {who_text(owner)}: {money(held, clinic)}."]
            if not found:
                return lines
            rows: list[list[Cell]] = [
                [
                    e.id, local_text(e.created_at, zone(clinic)), e.source, e.amount,
                    e.invoice_id, e.package_id, e.reason,
                ]
                for e in found
            ]
            headers = ["entry", "when", "source", f"amount {clinic.currency}", "invoice",
                       "package", "what"]
            return [*lines, render(headers, rows).rstrip("\n")]

    echo(run(work))


@click.command("pay-back")
@click.argument("patient")
@click.argument("amount", type=AMOUNT, required=False)
@click.option("--method", type=click.Choice(credit.PAY_BACK_METHODS), default="cash",
              show_default=True, help="How the money went back to the patient.")
@click.option("--yes", is_flag=True, help="Pay back all of the credit without asking.")
@click.pass_obj
def pay_back(desk: Desk, patient: str, amount: Decimal | None, method: str, yes: bool) -> None:
    """Record credit handed back to PATIENT (AMOUNT, or all of it): the credit goes down by it.

    Never more than the credit holds; without AMOUNT, asks before paying all of it back
    (--yes: do not ask).

    \b
    Examples:
      clinicbot staff pay-back maya 50.00 --method card
      clinicbot staff pay-back maya --yes
    """
    if amount is None:

        async def look(ctx: Context) -> str:
            async with ctx.uow(readonly=True) as uow:
                clinic = await get_clinic(uow)
                owner = await find_patient(uow, patient)
                held = await credit.balance(uow, owner.id)
                return f"Pay back {money(held, clinic)}, all of {who_text(owner)}'s credit?"

        confirm(run(look), yes)

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow() as uow:
            actor = await desk.actor(uow)
            by = await desk.who(uow)
            clinic = await get_clinic(uow)
            owner = await find_patient(uow, patient)
            entry, left = await credit.pay_back(
                uow, owner.id, amount, method=method, by=by, actor=actor
            )
            await uow.commit()
            return [f"Paid back {money(-entry.amount, clinic)} ({method}) to "
                    f"{who_text(owner)}; credit left: {money(left, clinic)}."]

    echo(run(work))


COMMANDS = [show_credit, pay_back]
