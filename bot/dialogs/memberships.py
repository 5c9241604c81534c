"""Memberships and invoices (RULES.md 13-16, 17): what the subject is a member of and owes.

Memberships (active, upcoming, cancelled) with the plan, the price per period and the next
renewal; unpaid invoices as of the clinic's today with what is outstanding, the due date and how
many days overdue; the total; each package's next installment, its amount and due date; how to
pay (at the front desk; on Telegram, when the deployment takes payments there, any unpaid
invoice can be paid in the chat: a package, an installment, a membership period, a session, a
no-show fee or a deposit, a guardian's for the people they manage too; with payment links on,
any unpaid invoice by a link to pay online, the ``payment_link`` effect); and the credit the
clinic holds for the subject (a refund, or money paid when nothing was owed), if any. Invoices
are named by :func:`bot.dialogs.invoice_labels.invoice_label` ("Wellness monthly, November
2026", "Massage 10-pack, payment 2 of 3").
"""

from __future__ import annotations

from datetime import date

from bot.dialogs.base import Answer, Dialog, DialogContext, Effect, Finish, Result, Retry
from bot.dialogs.buy import payment_links, telegram_payments
from bot.dialogs.invoice_labels import invoice_label
from bot.dialogs.types import Option, Reply
from bot.services import accounts, credit, invoices
from bot.services.billing import ZERO
from bot.services.clinic import local_today
from bot.services.invoices import MembershipState
from bot.services.payment_links import EFFECT as PAYMENT_LINK
from bot.storage.models import Invoice

MENU = "menu"
# Invoices a patient may pay inside Telegram: every kind (payments.receive's rules hold for all).
TELEGRAM_PAYABLE = ("package", "installment", "membership", "session", "no_show", "deposit")


def membership_text(ctx: DialogContext, membership: MembershipState) -> str:
    """One membership: plan, price per period, and its renewal, start or end."""
    _ = ctx._
    price = ctx.money(membership.price)
    priced = (
        _("{plan}: {price} a month", plan=membership.plan_name, price=price)
        if membership.period == "monthly"
        else _("{plan}: {price} a year", plan=membership.plan_name, price=price)
    )
    if membership.status == "cancelled":
        assert membership.ends_on is not None
        return _("{membership}; ended {day}", membership=priced,
                 day=ctx.t.date_text(membership.ends_on))
    if membership.status == "upcoming":
        return _("{membership}; starts {day}", membership=priced,
                 day=ctx.t.date_text(membership.start))
    if membership.next_renewal is not None:
        return _("{membership}; renews {day}", membership=priced,
                 day=ctx.t.date_text(membership.next_renewal))
    if membership.ends_on is not None:
        return _("{membership}; ends {day}", membership=priced,
                 day=ctx.t.date_text(membership.ends_on))
    return priced


def invoice_text(ctx: DialogContext, invoice: Invoice, today: date, what: str) -> str:
    """One invoice (``what``: its label): what is outstanding, when due and how late."""
    overdue = (today - invoice.due_on).days
    values = {
        "what": what,
        "amount": ctx.money(invoice.outstanding),
        "day": ctx.t.date_text(invoice.due_on),
    }
    if overdue <= 0:
        return ctx._("{what}: {amount}, due {day}", **values)
    return ctx.t.ngettext(
        "{what}: {amount}, due {day}, {n} day overdue",
        "{what}: {amount}, due {day}, {n} days overdue",
        overdue, **values,
    )


class Memberships(Dialog):
    """Shows the subject's memberships and unpaid invoices, and how to pay them."""

    name = "memberships"
    first_step = "summary"

    async def ask_summary(self, ctx: DialogContext) -> Reply:
        subject = await accounts.require_may_act(ctx.uow, _account_id(ctx), ctx.subject_id)
        today = local_today(ctx.clinic, ctx.now)
        held = await invoices.memberships_for(ctx.uow, subject.id, today)
        unpaid = await invoices.unpaid_invoices(ctx.uow, today, subject.id)
        coming = await invoices.next_installments(ctx.uow, subject.id, today)
        facts = await invoices.invoice_facts(ctx.uow, [*unpaid, *coming])
        label = {number: invoice_label(ctx.t, fact) for number, fact in facts.items()}
        options = [
            Option(f"pay{invoice.id}", ctx._("Pay {what} in Telegram", what=label[invoice.id]))
            for invoice in unpaid
            if telegram_payments(ctx) and invoice.kind in TELEGRAM_PAYABLE
        ]
        if payment_links(ctx):
            options.extend(
                Option(f"link{invoice.id}", ctx._("Pay {what} online", what=label[invoice.id]))
                for invoice in unpaid if invoice.outstanding > ZERO
            )
        options.append(Option(MENU, ctx._("Back to menu")))
        held_credit = await credit.balance(ctx.uow, subject.id)
        if not held and not unpaid and not coming and held_credit <= ZERO:
            text = (
                ctx._("You have no memberships and nothing unpaid.")
                if subject.id == _account_id(ctx)
                else ctx._("{name} has no memberships and nothing unpaid.", name=subject.first_name)
            )
            return Reply(text, tuple(options))
        lines: list[str] = []
        if held:
            lines.append(ctx._("Memberships:"))
            lines.extend(membership_text(ctx, membership) for membership in held)
        if unpaid:
            total = sum((invoice.outstanding for invoice in unpaid), ZERO)
            lines.append(ctx._("Unpaid invoices:"))
            lines.extend(invoice_text(ctx, i, today, label[i.id]) for i in unpaid)
            lines.append(ctx._("Total outstanding: {amount}", amount=ctx.money(total)))
        elif coming:
            lines.append(ctx._("Nothing is due now."))
        else:
            lines.append(ctx._("Nothing is unpaid."))
        if coming:
            lines.append(ctx._("Next installments:"))
            lines.extend(invoice_text(ctx, i, today, label[i.id]) for i in coming)
        if unpaid or coming:
            lines.append(ctx._("You can pay at the clinic's front desk."))
        if held_credit > ZERO:
            lines.append(ctx._("Credit held for {name}: {amount}", name=subject.first_name,
                               amount=ctx.money(held_credit)))
            lines.append(ctx._("The front desk can use it to pay an invoice, or pay it back."))
        return Reply("\n".join(lines), tuple(options))

    async def on_summary(self, ctx: DialogContext, answer: Answer) -> Result:
        key = answer.key
        if key == MENU:
            return Finish()
        if key is not None and key.startswith("pay") and key[3:].isdecimal() \
                and telegram_payments(ctx):
            subject = await accounts.require_may_act(ctx.uow, _account_id(ctx), ctx.subject_id)
            today = local_today(ctx.clinic, ctx.now)
            payable = {
                invoice.id for invoice in await invoices.unpaid_invoices(ctx.uow, today, subject.id)
                if invoice.kind in TELEGRAM_PAYABLE
            }
            if int(key[3:]) in payable:
                ctx.effects.append(Effect("telegram_invoice", {"invoice_id": int(key[3:])}))
                return Finish([ctx._("We sent you an invoice to pay here.")])
        if key is not None and key.startswith("link") and key[4:].isdecimal() \
                and payment_links(ctx):
            subject = await accounts.require_may_act(ctx.uow, _account_id(ctx), ctx.subject_id)
            today = local_today(ctx.clinic, ctx.now)
            unpaid = {i.id for i in await invoices.unpaid_invoices(ctx.uow, today, subject.id)}
            if int(key[4:]) in unpaid:
                ctx.effects.append(Effect(PAYMENT_LINK, {"invoice_id": int(key[4:])}))
                return Finish([ctx._("Your link to pay online follows.")])
        return Retry(ctx._("Please answer with the number of one of the choices."))


def _account_id(ctx: DialogContext) -> int:
    assert ctx.account is not None
    return ctx.account.id
