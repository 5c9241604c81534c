"""Paying any open invoice inside Telegram (issues 5 and 20; RULES.md 2, 14, 17).

The Buy, "Memberships and invoices" and booking (a deposit) dialogs ask for a
``telegram_invoice`` effect, and a reminder's "Pay now" button (``payinvoice:<id>``, pressed by
the patient or a guardian who manages them, RULES.md 17/19) asks the same; :func:`send_invoice`
sends it with the payload ``invoice:<id>``, the clinic's currency and the outstanding amount in
minor units. The pre-checkout query is answered at once: ok only while the invoice is open and
the amount and currency still match. A successful payment is always recorded, once per Telegram
charge id (a redelivered update records nothing more): what the invoice still owes is paid (a
paid package becomes usable), and money beyond it (a second device paid too, or the desk
recorded a payment meanwhile) becomes the patient's credit, with the patient told and staff
alerted.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from babel.numbers import get_currency_precision
from sqlalchemy import select
from telegram import LabeledPrice, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    MessageHandler,
    PreCheckoutQueryHandler,
    filters,
)

from bot.delivery.notifications import PAY_PREFIX
from bot.dialogs.invoice_labels import invoice_label
from bot.handlers.telegram_context import Context, deps
from bot.i18n import Translator, negotiate, translator
from bot.services import accounts, invoices, payments
from bot.services.clinic import get_clinic
from bot.services.errors import DomainError
from bot.storage.models import Invoice, Patient
from bot.storage.uow import UnitOfWork

log = logging.getLogger(__name__)
PAYLOAD_PREFIX = "invoice:"
METHOD = "telegram"


def handlers() -> list[BaseHandler[Update, Context, None]]:
    return [
        PreCheckoutQueryHandler(on_pre_checkout),
        CallbackQueryHandler(on_pay_button, pattern=rf"^{PAY_PREFIX}\d{{1,18}}$"),
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
        t = translator(negotiate([], locale))
        facts = await invoices.invoice_facts(uow, [invoice])
        description, outstanding = invoice_label(t, facts[invoice.id]), invoice.outstanding
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


async def on_pay_button(update: Update, context: Context) -> None:
    """Send the invoice a reminder's "Pay now" names, to its patient or their guardian only."""
    query = update.callback_query
    assert query is not None and query.data is not None
    invoice_id = int(query.data.removeprefix(PAY_PREFIX))
    found = deps(context)
    user, chat = query.from_user, update.effective_chat
    async with found.uow(readonly=True) as uow:
        clinic = await get_clinic(uow)
        account = await accounts.find_by_telegram(uow, user.id)
        invoice = await uow.session.get(Invoice, invoice_id)
        allowed = account is not None and invoice is not None and await _may_pay(
            uow, account.id, invoice.patient_id)
        still_open = invoice is not None and invoice.status == "open"
        t = translator(negotiate([account.locale if account else None, user.language_code],
                                 clinic.locale))
    if found.settings.telegram_payment_provider_token is None:
        await query.answer(t.gettext("You can pay at the clinic's front desk."), show_alert=True)
        return
    if not allowed or chat is None:
        log.info("telegram: refused a pay button for an invoice this account may not pay")
        await query.answer(t.gettext("This button is not for you."), show_alert=True)
        return
    if not still_open:
        await query.answer()
        await context.bot.send_message(chat.id, t.gettext("This invoice is already settled."))
        return
    await query.answer()
    await send_invoice(context, chat.id, invoice_id)


async def _may_pay(uow: UnitOfWork, account_id: int, patient_id: int) -> bool:
    try:
        await accounts.require_may_act(uow, account_id, patient_id)
    except DomainError:
        return False
    return True


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
    """Record the money once (by Telegram's charge id), whatever the invoice's state, and say so.

    What the invoice still owes is paid; the rest (all of it when the invoice was paid or voided
    meanwhile) becomes the patient's credit and staff are alerted (services.payments).
    """
    message = update.message
    assert message is not None and message.successful_payment is not None
    paid = message.successful_payment
    invoice_id = invoice_id_of(paid.invoice_payload)
    if invoice_id is None:
        log.error("telegram payment %s with a payload that names no invoice was not recorded",
                  paid.telegram_payment_charge_id)
        return
    found = deps(context)
    user = update.effective_user
    async with found.uow() as uow:
        clinic = await get_clinic(uow)
        locale, currency = clinic.locale, clinic.currency
        chosen = None if user is None else await uow.session.scalar(
            select(Patient.locale).where(Patient.telegram_user_id == user.id))
        try:
            receipt = await payments.receive(
                uow, invoice_id, from_minor_units(paid.total_amount, paid.currency),
                method=METHOD, external_id=paid.telegram_payment_charge_id,
            )
        except DomainError as exc:
            log.error("telegram payment %s for invoice %d not recorded: %s",
                      paid.telegram_payment_charge_id, invoice_id, exc.code)
            return
        await uow.commit()
    if receipt.credited > 0 and not receipt.again:
        log.warning("telegram payment for invoice %d: %s kept as credit", invoice_id,
                    receipt.credited)
    t = translator(negotiate([chosen, user.language_code if user else None], locale))
    await message.reply_text(receipt_text(t, receipt, currency))


def receipt_text(t: Translator, receipt: payments.Receipt, currency: str) -> str:
    """What the patient reads once their payment is recorded."""
    if receipt.credited <= 0:
        return t.gettext("Thank you! Your payment was received.")
    if receipt.applied <= 0:
        return t.gettext(
            "Thank you! Your payment of {amount} was received. This invoice was already "
            "settled, so the whole amount is kept as credit on your account. The clinic has "
            "been told: it can use the credit for another invoice or pay it back.",
            amount=t.money(receipt.received, currency))
    return t.gettext(
        "Thank you! Your payment of {amount} was received: {applied} paid this invoice and "
        "the other {credit}, more than was owed, is kept as credit on your account. The "
        "clinic has been told: it can use the credit for another invoice or pay it back.",
        amount=t.money(receipt.received, currency), applied=t.money(receipt.applied, currency),
        credit=t.money(receipt.credited, currency))
