"""The booking dialog's deposit step (issue 20; bot/services/deposits.py).

After a patient books without a package at a clinic that asks a deposit, the booking's
confirmation says how much and until when the time is held, then offers paying it: on Telegram,
when the deployment takes payments there, "Pay now in Telegram" (the in-chat invoice) or "Pay at
the clinic"; elsewhere, with payment links on, the dialog asks the channel for a link (the
``payment_link`` effect) and says the desk takes it too; otherwise it says to pay at the desk.
"""

from __future__ import annotations

from bot.dialogs.base import Answer, Dialog, DialogContext, Effect, Finish, Goto, Result, Retry
from bot.dialogs.buy import PAY_DESK, PAY_TELEGRAM, payment_links, telegram_payments
from bot.dialogs.types import Option, Reply
from bot.services import deposits
from bot.services.payment_links import EFFECT as PAYMENT_LINK
from bot.storage.models import Appointment, Invoice

STEP = "deposit"


class DepositStep(Dialog):
    """Mixin: :meth:`after_booking` and the ``deposit`` step (see the module docstring)."""

    async def after_booking(
        self, ctx: DialogContext, appointment: Appointment, said: list[str]
    ) -> Result:
        """Finish the booking, or go on to pay its deposit when one is owed."""
        deposit = await deposits.deposit_of(ctx.uow, appointment.id)
        if deposit is None or deposit.status != "open" or deposit.outstanding <= 0:
            return Finish(said)
        said.append(deposit_text(ctx, appointment, deposit))
        ctx.data["deposit_id"] = deposit.id
        if telegram_payments(ctx):
            return Goto(STEP, say=said)
        if payment_links(ctx):
            ctx.effects.append(Effect(PAYMENT_LINK, {"invoice_id": deposit.id}))
            said.append(ctx._(
                "Your link to pay it online follows; the clinic's front desk takes it too."))
        else:
            said.append(ctx._("You can pay it at the clinic's front desk."))
        return Finish(said)

    @staticmethod
    def booked(ctx: DialogContext) -> bool:
        """The time is booked and its deposit offered: BACK to the confirmation must not book
        it again, so the booking dialog's confirmation step shows the deposit step instead."""
        return "deposit_id" in ctx.data

    async def ask_deposit(self, ctx: DialogContext) -> Reply:
        return Reply(ctx._("How would you like to pay the deposit?"), (
            Option(PAY_TELEGRAM, ctx._("Pay now in Telegram")),
            Option(PAY_DESK, ctx._("Pay at the clinic")),
        ))

    async def on_deposit(self, ctx: DialogContext, answer: Answer) -> Result:
        deposit = await ctx.uow.session.get(Invoice, int(ctx.data["deposit_id"]))
        if deposit is None or deposit.status != "open":
            return Finish([ctx._("This invoice is already settled.")])
        if answer.key == PAY_TELEGRAM and telegram_payments(ctx):
            ctx.effects.append(Effect("telegram_invoice", {"invoice_id": deposit.id}))
            return Finish([ctx._("We sent you an invoice to pay here.")])
        if answer.key != PAY_DESK:
            return Retry(ctx._("Please answer with the number of one of the choices."))
        return Finish([ctx._("You can pay it at the clinic's front desk.")])


def deposit_text(ctx: DialogContext, appointment: Appointment, deposit: Invoice) -> str:
    """How much the deposit is, and until when the time is held unpaid."""
    until = deposits.held_until(ctx.clinic, deposit)
    if until < appointment.starts_at:
        return ctx._(
            "A deposit of {amount} keeps this time. If it is not paid by {time}, the time is "
            "released.", amount=ctx.money(deposit.outstanding), time=ctx.when(until))
    return ctx._("A deposit of {amount} is due for this appointment.",
                 amount=ctx.money(deposit.outstanding))
