"""Buy a package in chat (RULES.md 1, 2): choose a template, read its terms, buy, see how to pay.

Only templates open to online purchase are listed; the sale itself goes through
:func:`bot.services.packages.sell_package` with ``online=True``, so a desk-only template is
refused by the rule even if it reached this step. Buying creates the invoice(s); the package
can be used once paid (with installments, once the first is paid). On Telegram, when the
deployment takes payments there, the patient may pay the first invoice at once; with payment
links on (Stripe), an SMS patient (or a Telegram one where Telegram cannot take the payment)
may ask for a link (the ``payment_link`` effect: the channel opens the page and sends its URL).
"""

from __future__ import annotations

from decimal import Decimal

from bot.dialogs.base import Answer, Dialog, DialogContext, Effect, Finish, Goto, Result, Retry
from bot.dialogs.types import Option, Reply
from bot.services import accounts, packages
from bot.services.errors import NotAllowed
from bot.services.payment_links import EFFECT as PAYMENT_LINK
from bot.storage.models import PackageTemplate

BUY, BACK, MENU = "buy", "back", "menu"
PAY_TELEGRAM, PAY_DESK, PAY_LINK = "tg", "desk", "link"


def telegram_payments(ctx: DialogContext) -> bool:
    """Whether this chat can pay an invoice inside Telegram."""
    return ctx.channel == "telegram" and bool(ctx.settings.get("telegram_payments"))


def payment_links(ctx: DialogContext) -> bool:
    """Whether this chat is sent a link to pay online: SMS, and Telegram when it cannot take
    the payment in the chat itself (links on: Stripe is configured)."""
    if not ctx.settings.get("payment_links"):
        return False
    return ctx.channel == "sms" or (ctx.channel == "telegram" and not telegram_payments(ctx))


def terms_text(ctx: DialogContext, template: PackageTemplate) -> str:
    """A template's terms, one line each: price, uses, what, who, where, validity, payments."""
    _ = ctx._
    anyone = not template.practitioners
    anywhere = not template.locations
    lines = [
        _("{name}: {price}", name=template.name, price=ctx.money(template.price)),
        ctx.t.ngettext("{n} session", "{n} sessions", template.uses),
        _("For: {treatments}", treatments=", ".join(fee.name for fee in template.fees)),
        _("With any practitioner") if anyone else _(
            "With: {names}", names=", ".join(p.name for p in template.practitioners)
        ),
        _("At any location") if anywhere else _(
            "At: {names}", names=", ".join(loc.name for loc in template.locations)
        ),
        ctx.t.ngettext("Valid {n} day", "Valid {n} days", template.valid_days)
        if template.valid_days else _("No expiry"),
        installments_text(ctx, template.price, template.installments),
    ]
    if template.patient_pays > 0:
        lines.append(
            _("You also pay {amount} at each session.", amount=ctx.money(template.patient_pays))
        )
    return "\n".join(lines)


def installments_text(ctx: DialogContext, price: Decimal, installments: int) -> str:
    """ "Paid at once", or the monthly payments (the first takes any odd cents)."""
    if installments <= 1:
        return ctx._("Paid at once")
    parts = packages.installment_amounts(price, installments)
    if len(set(parts)) == 1:
        return ctx.t.ngettext(
            "{n} monthly payment of {amount}", "{n} monthly payments of {amount}",
            installments, amount=ctx.money(parts[0]),
        )
    return ctx.t.ngettext(
        "{n} monthly payment: {first} first, then {amount}",
        "{n} monthly payments: {first} first, then {amount} each",
        installments, first=ctx.money(parts[0]), amount=ctx.money(parts[1]),
    )


class Buy(Dialog):
    """Lists the packages for sale online, shows one's terms, sells it and says how to pay."""

    name = "buy"
    first_step = "choose"

    async def ask_choose(self, ctx: DialogContext) -> Reply:
        await accounts.require_may_act(ctx.uow, _account_id(ctx), ctx.subject_id)
        templates = await packages.templates_for_sale(ctx.uow)
        if not templates:
            return Reply(
                ctx._("No packages can be bought in chat right now; the front desk can help."),
                (Option(MENU, ctx._("Back to menu")),),
            )
        options = tuple(
            Option(
                f"t{template.id}",
                ctx._("{name} – {price}", name=template.name, price=ctx.money(template.price)),
            )
            for template in templates
        )
        return Reply(ctx._("Which package would you like?"), options)

    async def on_choose(self, ctx: DialogContext, answer: Answer) -> Result:
        key = answer.key
        if key == MENU:
            return Finish()
        if key is None or not key.startswith("t") or not key[1:].isdecimal():
            return Retry(ctx._("Please answer with the number of one of the packages."))
        ctx.data["template_id"] = int(key[1:])
        return Goto("details")

    async def ask_details(self, ctx: DialogContext) -> Reply:
        template = await packages.get_template(ctx.uow, int(ctx.data["template_id"]))
        options = (Option(BUY, ctx._("Buy it")), Option(BACK, ctx._("Back")))
        return Reply(terms_text(ctx, template), options)

    async def on_details(self, ctx: DialogContext, answer: Answer) -> Result:
        if answer.key == BACK:
            return Goto("choose")
        if answer.key != BUY:
            return Retry(ctx._("Please answer 1 to buy it or 2 to go back."))
        template_id = int(ctx.data["template_id"])
        bought: dict[str, int] = ctx.data.setdefault("bought", {})
        if str(template_id) in bought:
            # BACK after buying, then "buy" again: never sell it twice by accident.
            ctx.data["package_id"] = bought[str(template_id)]
            return Goto("pay", say=[ctx._("You have already bought this package.")])
        subject = await accounts.require_may_act(ctx.uow, _account_id(ctx), ctx.subject_id)
        try:
            package = await packages.sell_package(
                ctx.uow, subject.id, template_id, online=True
            )
        except NotAllowed:
            refusal = ctx._("Sorry, that package is sold at the clinic's front desk only.")
            return Goto("choose", say=[refusal])
        bought[str(template_id)] = package.id
        ctx.data["package_id"] = package.id
        if not await packages.package_invoices(ctx.uow, package.id):
            return Finish([ctx._("Done! {name} is yours and ready to use.", name=package.name)])
        return Goto("pay")

    async def ask_pay(self, ctx: DialogContext) -> Reply:
        package = await packages.get_package(ctx.uow, int(ctx.data["package_id"]))
        first = (await packages.package_invoices(ctx.uow, package.id))[0]
        text = ctx._(
            "Done! {name} is yours. It can be used once {amount} is paid. How would you like "
            "to pay?",
            name=package.name, amount=ctx.money(first.outstanding),
        )
        options = [Option(PAY_DESK, ctx._("Pay at the clinic"))]
        if telegram_payments(ctx) and first.outstanding > 0:
            options.insert(0, Option(PAY_TELEGRAM, ctx._("Pay now in Telegram")))
        elif payment_links(ctx) and first.outstanding > 0:
            options.insert(0, Option(PAY_LINK, ctx._("Pay online now")))
        return Reply(text, tuple(options))

    async def on_pay(self, ctx: DialogContext, answer: Answer) -> Result:
        package = await packages.get_package(ctx.uow, int(ctx.data["package_id"]))
        first = (await packages.package_invoices(ctx.uow, package.id))[0]
        if answer.key == PAY_TELEGRAM and telegram_payments(ctx):
            ctx.effects.append(Effect("telegram_invoice", {"invoice_id": first.id}))
            return Finish([ctx._("We sent you an invoice to pay here.")])
        if answer.key == PAY_LINK and payment_links(ctx):
            ctx.effects.append(Effect(PAYMENT_LINK, {"invoice_id": first.id}))
            return Finish([ctx._(
                "The package can be used once {amount} is paid. Your link to pay online follows.",
                amount=ctx.money(first.outstanding),
            )])
        if answer.key != PAY_DESK:
            return Retry(ctx._("Please answer with the number of one of the choices."))
        if package.installments > 1:
            return Finish([ctx._(
                "Pay the first payment of {amount} at the front desk; the package can be used "
                "once it is paid. The other payments are invoiced monthly.",
                amount=ctx.money(first.outstanding),
            )])
        return Finish([ctx._(
            "Pay {amount} at the front desk; the package can be used once it is paid.",
            amount=ctx.money(first.outstanding),
        )])


def _account_id(ctx: DialogContext) -> int:
    assert ctx.account is not None
    return ctx.account.id
