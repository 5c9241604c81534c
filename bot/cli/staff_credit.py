"""``clinicbot staff credit PATIENT``: the credit the clinic holds for a patient, entry by entry.

RULES.md 9 (a refund becomes credit). Credit is a ledger (bot/services/credit.py): refunds and
money received when nothing was owed add to it, paying an invoice from it
(``clinicbot staff pay INVOICE --from-credit``) takes from it.
"""

from __future__ import annotations

import click

from bot.cli.common import Context, run
from bot.cli.output import Cell, render
from bot.cli.staff_common import echo, local_text, money, who_text
from bot.services import credit
from bot.services.clinic import get_clinic, zone
from bot.services.lookup import find_patient


@click.command("credit")
@click.argument("patient")
def show_credit(patient: str) -> None:
    """Show PATIENT's credit: every entry (refund, overpayment, applied) and the balance.

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


COMMANDS = [show_credit]
