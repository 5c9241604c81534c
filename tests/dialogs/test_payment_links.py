"""Dialogs ask for payment links (issue 20) with the ``payment_link`` effect: after buying a
package and in Memberships and invoices, on SMS, and on Telegram only where Telegram itself
cannot take the payment. The channel resolves the effect (tests/e2e/test_stripe_payments.py).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.dialogs.base import Effect
from bot.dialogs.engine import Engine, EngineConfig
from bot.dialogs.registry import build_dialogs
from bot.services import accounts, packages
from bot.storage.models import Invoice, PatientPackage
from tests.dialogs.chat import Chat
from tests.dialogs.conftest import MAYA, SOFIA
from tests.integration._builders import package_of, patient

LINKS = EngineConfig(payment_links=True)
NOVEMBER = "Wellness membership (monthly), November 2026"


def _chat(engine, clock, config: EngineConfig, channel: str = "sms", phone: str = MAYA) -> Chat:
    bot = Engine(engine, clock, build_dialogs(), config)
    if channel == "telegram":
        return Chat(bot, channel="telegram", address="7001", phone=phone,
                    telegram_user_id=7001)
    return Chat(bot, channel=channel, address=phone, phone=phone)


async def _buy_massage(chat: Chat) -> None:
    await chat.say("hi")
    await chat.choose("Buy a package")
    await chat.choose("Maya Chen (me)")
    await chat.choose("Massage 10-pack")
    await chat.choose("Buy it")


async def test_after_buying_by_sms_the_link_is_offered_and_asked_for(engine, clock, clinic,
                                                                      make_uow):
    chat = _chat(engine, clock, LINKS)
    await _buy_massage(chat)
    assert chat.labels == ["Pay online now", "Pay at the clinic"]
    reply = await chat.choose("Pay online now")
    assert "once $330.00 is paid" in reply.text and "link to pay online follows" in reply.text
    async with make_uow() as uow:
        maya = await patient(uow, "maya")
        bought = await uow.session.scalar(select(func.max(PatientPackage.id)).where(
            PatientPackage.patient_id == maya.id))
        first = (await packages.package_invoices(uow, bought))[0].id
    assert chat.outcome.effects == [Effect("payment_link", {"invoice_id": first})]


@pytest.mark.parametrize(("config", "labels"), [
    (EngineConfig(telegram_payments=True, payment_links=True),
     ["Pay now in Telegram", "Pay at the clinic"]),
    (LINKS, ["Pay online now", "Pay at the clinic"]),
])
async def test_telegram_gets_a_link_only_when_it_cannot_take_the_payment(
    engine, clock, clinic, config, labels
):
    chat = _chat(engine, clock, config, "telegram")
    await _buy_massage(chat)
    assert chat.labels == labels


async def test_any_unpaid_invoice_can_be_paid_online_from_memberships(engine, clock, clinic,
                                                                       make_uow):
    async with make_uow() as uow:
        await accounts.set_locale(uow, (await patient(uow, "sofia")).id, "en_CA")
        await uow.commit()
        november = await uow.session.scalar(
            select(Invoice.id).where(Invoice.description == "Wellness membership (monthly) "
                                                             "2026-11-01"))
        leo_package = (await package_of(uow, "leo")).id
        leo_invoice = (await packages.package_invoices(uow, leo_package))[1].id
    sofia = _chat(engine, clock, LINKS, phone=SOFIA)
    await sofia.say("hi")
    await sofia.choose("Memberships and invoices")
    assert sofia.labels == [f"Pay {NOVEMBER} online", "Back to menu"]
    await sofia.send(choice=f"link{leo_invoice}")  # not hers: no link
    assert sofia.outcome.effects == []
    assert sofia.labels == [f"Pay {NOVEMBER} online", "Back to menu"]
    reply = await sofia.choose(f"Pay {NOVEMBER}")
    assert "link to pay online follows" in reply.text
    assert sofia.outcome.effects == [Effect("payment_link", {"invoice_id": november})]
