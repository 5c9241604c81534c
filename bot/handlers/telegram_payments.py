"""Paying a package's invoice inside Telegram (issue 5; RULES.md on package payment).

The Buy dialog asks for a ``telegram_invoice`` effect; :func:`send_invoice` sends it with the
payload ``invoice:<id>``, the clinic's currency and the outstanding amount in minor units. The
pre-checkout query is answered at once: ok only while the invoice is open and the amount and
currency still match. A successful payment is recorded with Telegram's charge id, so a
redelivered update records nothing more; a paid package becomes usable (billing).
"""

from __future__ import annotations

import logging
from decimal import Decimal

from babel.numbers import get_currency_precision
from telegram import LabeledPrice, Update
from telegram.ext import BaseHandler, MessageHandler, PreCheckoutQueryHandler, filters

from bot.handlers.telegram_context import Context, deps
from bot.i18n import negotiate, translator
from bot.services import billing
from bot.services.clinic import get_clinic
from bot.services.errors import DomainError
from bot.storage.models import Invoice

log = logging.getLogger(__name__)
PAYLOAD_PREFIX = "invoice:"
METHOD = "telegram"


def handlers() -> list[BaseHandler[Update, Context, None]]:
    return [
        PreCheckoutQueryHandler(on_pre_checkout),
        MessageHandler(filters.SUCCESSFUL_PAYMENT, on_successful_payment),
    ]


def minor_units(amount: Decimal, currency: str) -> int:
    """``amount`` in the currency's smallest unit (cents for CAD), as Telegram wants it."""
    return int((amount * (10 ** get_currency_precision(currency))).to_integral_value())


def from_minor_units(amount: int, currency: str) -> Decimal:
    return Decimal(amount) / Decimal(10 ** int(get_currency_precision(currency)))


def invoice_id_of(payload: str) -> int | None:
    rest = payload.removeprefix(PAYLOAD_PREFIX)
    return int(rest) if payload.startswith(PAYLOAD_PREFIX) and rest.isdecimal() else None


async def send_invoice(context: Context, chat_id: int, invoice_id: int) -> None:
    """Send the Telegram invoice for what is still owed on ``invoice_id``."""
    found = deps(context)
    token = found.settings.telegram_payment_provider_token
    if token is None:
        return
    async with found.uow(readonly=True) as uow:
        clinic = await get_clinic(uow)
        name, currency, locale = clinic.name, clinic.currency, clinic.locale
        invoice = await uow.session.get(Invoice, invoice_id)
        if invoice is None or invoice.status != "open":
            return
        description, outstanding = invoice.description, invoice.outstanding
    t = translator(negotiate([], locale))
    amount = minor_units(outstanding, currency)
    await context.bot.send_invoice(
        chat_id=chat_id,
        title=description[:32],
        description=t.gettext("{clinic}: {description}", clinic=name,
                              description=description)[:255],
        payload=f"{PAYLOAD_PREFIX}{invoice_id}",
        provider_token=token.get_secret_value(),
        currency=currency,
        prices=[LabeledPrice(description[:32], amount)],
    )


async def on_pre_checkout(update: Update, context: Context) -> None:
    """Ok only when the invoice is still open and the amount and currency match."""
    query = update.pre_checkout_query
    assert query is not None
    invoice_id = invoice_id_of(query.invoice_payload)
    ok = False
    async with deps(context).uow(readonly=True) as uow:
        clinic = await get_clinic(uow)
        locale = clinic.locale
        invoice = await uow.session.get(Invoice, invoice_id) if invoice_id else None
        if invoice is not None and invoice.status == "open":
            ok = query.currency == clinic.currency and query.total_amount == minor_units(
                invoice.outstanding, clinic.currency)
    if ok:
        await query.answer(ok=True)
        return
    t = translator(negotiate([query.from_user.language_code], locale))
    log.info("telegram: refused a pre-checkout for a sale that is no longer valid")
    await query.answer(ok=False, error_message=t.gettext(
        "This invoice is no longer open for this amount. Please start again from the menu."))


async def on_successful_payment(update: Update, context: Context) -> None:
    """Record the payment once (by Telegram's charge id) and confirm it."""
    message = update.message
    assert message is not None and message.successful_payment is not None
    paid = message.successful_payment
    invoice_id = invoice_id_of(paid.invoice_payload)
    if invoice_id is None:
        return
    found = deps(context)
    async with found.uow() as uow:
        locale = (await get_clinic(uow)).locale
        try:
            await billing.record_payment(
                uow, invoice_id, from_minor_units(paid.total_amount, paid.currency),
                method=METHOD, external_id=paid.telegram_payment_charge_id,
            )
        except DomainError as exc:
            log.warning("telegram payment for invoice %d not recorded: %s", invoice_id, exc.code)
            return
        await uow.commit()
    user = update.effective_user
    t = translator(negotiate([user.language_code if user else None], locale))
    await message.reply_text(t.gettext("Thank you! Your payment was received."))
