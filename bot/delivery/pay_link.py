"""What a channel says for a ``payment_link`` effect or a reminder's link (issue 20).

A dialog asks for a link with ``Effect("payment_link", {"invoice_id": id})``; the channel
adapter (SMS, Telegram without in-chat payments) calls :func:`chat_text` after the turn has
committed, with no transaction open while the provider is called, and sends the text: the
page's URL and the amount, or, when the provider cannot open a page just now, a clear message
that the patient can try again later or pay at the front desk (never a silent nothing).
:func:`reminder_line` is the line the outbox sender adds to a reminder, or None (then the
reminder goes without a link rather than not at all).
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock
from bot.i18n import Translator, negotiate, translator
from bot.services.clinic import get_clinic
from bot.services.payment_links import EFFECT, PaymentLink, PaymentLinks, ProviderUnavailable
from bot.storage.models import Conversation, Patient
from bot.storage.uow import UnitOfWork

log = logging.getLogger(__name__)


def link_effects(effects: list[object]) -> list[int]:
    """The invoice ids of an outcome's ``payment_link`` effects, in order, once each."""
    found: list[int] = []
    for effect in effects:
        params = getattr(effect, "params", {})
        invoice_id = params.get("invoice_id") if isinstance(params, dict) else None
        if getattr(effect, "kind", None) == EFFECT and isinstance(invoice_id, int) and (
            invoice_id not in found
        ):
            found.append(invoice_id)
    return found


async def chat_translator(
    db: AsyncEngine, clock: Clock, channel: str, address: str, hint: str | None = None
) -> tuple[Translator, str]:
    """The chat's language (its patient's choice, else what the chat chose, else ``hint``,
    else the clinic's) and the clinic's currency."""
    async with UnitOfWork(db, clock, readonly=True) as uow:
        clinic = await get_clinic(uow)
        clinic_locale, currency = clinic.locale, clinic.currency
        row = (await uow.session.execute(
            select(Conversation.state, Patient.locale)
            .outerjoin(Patient, Patient.id == Conversation.patient_id)
            .where(Conversation.channel == channel, Conversation.address == address)
        )).first()
    chosen = None
    if row is not None:
        state, locale = row
        chosen = locale or (state or {}).get("locale")
    language = negotiate([chosen if isinstance(chosen, str) else None, hint], clinic_locale)
    return translator(language), currency


async def chat_text(
    links: PaymentLinks | None, invoice_id: int, t: Translator, currency: str
) -> str:
    """The message carrying the link for what ``invoice_id`` owes (or why there is none)."""
    if links is None:
        return _unavailable(t)
    try:
        link = await links.link(invoice_id)
    except ProviderUnavailable:
        return _unavailable(t)
    if link is None:
        return t.gettext("Nothing is owed on this invoice any more.")
    return _pay(t, link, currency)


async def reminder_line(
    links: PaymentLinks | None, invoice_id: int | None, t: Translator, currency: str
) -> str | None:
    """The line a reminder ends with, or None (links off, nothing owed, provider down)."""
    if links is None or invoice_id is None:
        return None
    try:
        link = await links.link(invoice_id)
    except ProviderUnavailable:
        log.warning("payment links: a reminder goes without its link (the provider failed)")
        return None
    return None if link is None else _pay(t, link, currency)


def _pay(t: Translator, link: PaymentLink, currency: str) -> str:
    return t.gettext("Pay {amount} online: {url}", amount=t.money(link.amount, currency),
                     url=link.url)


def _unavailable(t: Translator) -> str:
    return t.gettext(
        "Sorry, the page to pay online cannot be opened right now. Please try again later "
        "from Memberships and invoices, or pay at the clinic's front desk."
    )
