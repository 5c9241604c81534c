"""Buy a package in chat (RULES.md 1, 2): listed terms, the sale, its invoices, how to pay."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.dialogs.base import Effect
from bot.dialogs.engine import Engine, EngineConfig
from bot.dialogs.registry import build_dialogs
from bot.services import packages
from bot.storage.models import Invoice, PackageTemplate, Patient, PatientPackage
from tests.dialogs.chat import Chat
from tests.dialogs.conftest import MAYA

FOR_SALE = ["Massage 10-pack – $990.00", "Physio 5-pack – $400.00"]


async def _packages_of(make_uow, key: str) -> list[PatientPackage]:
    """The patient's packages, oldest first, detached with their values loaded."""
    async with make_uow() as uow:
        rows = await uow.session.scalars(
            select(PatientPackage).join(Patient, Patient.id == PatientPackage.patient_id)
            .where(Patient.key == key).order_by(PatientPackage.id)
        )
        owned = list(rows.all())
        uow.session.expunge_all()
        return owned


async def _invoices_of(make_uow, package_id: int) -> list[Invoice]:
    async with make_uow() as uow:
        invoices = await packages.package_invoices(uow, package_id)
        uow.session.expunge_all()
        return invoices


async def _template(make_uow, key: str) -> PackageTemplate:
    async with make_uow() as uow:
        template = await packages.get_template(uow, key)
        uow.session.expunge_all()
        return template


async def _open_shop(chat: Chat, who: str = "Maya Chen (me)") -> None:
    await chat.say("hi")
    await chat.choose("Buy a package")
    await chat.choose(who)


def _telegram_chat(engine, clock) -> Chat:
    bot = Engine(engine, clock, build_dialogs(), EngineConfig(telegram_payments=True))
    return Chat(bot, channel="telegram", address="7001", phone=MAYA, telegram_user_id=7001)


async def test_only_templates_open_to_online_purchase_are_listed(chat):
    await _open_shop(chat)
    assert "Which package" in chat.text
    assert chat.labels == FOR_SALE, "the desk-only insurer package is never offered"


async def test_buying_a_single_payment_package(chat, make_uow):
    await _open_shop(chat)
    reply = await chat.choose("Physio 5-pack")
    for fact in ("Physio 5-pack: $400.00", "5 sessions", "For: Physiotherapy follow-up",
                 "With: Ana Silva", "At: Downtown", "Valid 180 days", "Paid at once"):
        assert fact in reply.text
    assert "each session" not in reply.text, "patient_pays is 0.00: nothing per session"
    assert chat.labels == ["Buy it", "Back"]
    reply = await chat.choose("Buy it")
    assert "can be used once $400.00 is paid" in reply.text
    assert chat.labels == ["Pay at the clinic"], "SMS never offers Telegram payment"
    reply = await chat.choose("Pay at the clinic")
    assert "Pay $400.00 at the front desk" in reply.text
    assert "What would you like to do?" in reply.text, "the dialog finished at the main menu"

    owned = await _packages_of(make_uow, "maya")
    assert len(owned) == 2
    bought = owned[-1]
    assert (bought.name, bought.uses, bought.available, bought.redeemed, bought.booked) == (
        "Physio 5-pack", 5, 5, 0, 0)
    assert not bought.paid_enough, "usable only once paid (RULES.md 2)"
    assert bought.purchased_on == date(2026, 11, 2)
    assert bought.expires_on == date(2027, 5, 1)
    invoices = await _invoices_of(make_uow, bought.id)
    assert [(i.kind, i.amount, i.status, i.due_on) for i in invoices] == [
        ("package", Decimal("400.00"), "open", date(2026, 11, 2))]


async def test_buying_an_installment_package(chat, make_uow):
    await _open_shop(chat)
    reply = await chat.choose("Massage 10-pack")
    for fact in ("Massage 10-pack: $990.00", "10 sessions", "For: Massage therapy 60 min",
                 "With any practitioner", "At any location", "Valid 365 days",
                 "3 monthly payments of $330.00", "You also pay $10.00 at each session."):
        assert fact in reply.text
    reply = await chat.choose("Buy it")
    assert "can be used once $330.00 is paid" in reply.text
    reply = await chat.choose("Pay at the clinic")
    assert "first payment of $330.00 at the front desk" in reply.text

    bought = (await _packages_of(make_uow, "maya"))[-1]
    assert (bought.name, bought.installments, bought.available) == ("Massage 10-pack", 3, 10)
    assert bought.patient_pays == Decimal("10.00")
    invoices = await _invoices_of(make_uow, bought.id)
    assert [(i.kind, i.installment_no, i.amount, i.due_on) for i in invoices] == [
        ("installment", 1, Decimal("330.00"), date(2026, 11, 2)),
        ("installment", 2, Decimal("330.00"), date(2026, 12, 2)),
        ("installment", 3, Decimal("330.00"), date(2027, 1, 2)),
    ]


async def test_uneven_installments_show_the_first_payment_with_the_odd_cents(chat, make_uow):
    async with make_uow() as uow:
        template = await packages.get_template(uow, "massage-10")
        template.price = Decimal("1000.00")
        await uow.commit()
    await _open_shop(chat)
    reply = await chat.choose("Massage 10-pack")
    assert "3 monthly payments: $333.34 first, then $333.33 each" in reply.text


async def test_a_guardian_buys_for_their_ward(chat, make_uow):
    await _open_shop(chat, who="Leo Chen")
    await chat.choose("Physio 5-pack")
    await chat.choose("Buy it")
    await chat.choose("Pay at the clinic")
    leo = await _packages_of(make_uow, "leo")
    assert [p.name for p in leo] == ["Massage 10-pack", "Physio 5-pack"]
    assert len(await _packages_of(make_uow, "maya")) == 1, "nothing was sold to Maya"


async def test_a_desk_only_template_cannot_be_chosen(chat, make_uow):
    await _open_shop(chat)
    insurer = await _template(make_uow, "insurer-physio-6")
    reply = await chat.say("Insurer-friendly physio 6")
    assert "number of one of the packages" in reply.text and chat.labels == FOR_SALE
    reply = await chat.send(choice=f"t{insurer.id}")
    assert "earlier message" in reply.text and chat.labels == FOR_SALE
    assert len(await _packages_of(make_uow, "maya")) == 1


async def test_a_template_made_desk_only_meanwhile_is_refused_by_the_rule(chat, make_uow):
    await _open_shop(chat)
    await chat.choose("Physio 5-pack")
    async with make_uow() as uow:
        template = await uow.session.scalar(
            select(PackageTemplate).where(PackageTemplate.key == "physio-5"))
        template.online_purchase = False
        await uow.commit()
    reply = await chat.choose("Buy it")
    assert "front desk only" in reply.text
    assert chat.labels == ["Massage 10-pack – $990.00"], "the list no longer offers it"
    assert len(await _packages_of(make_uow, "maya")) == 1, "nothing was sold"


async def test_telegram_payment_sends_the_first_invoice(engine, clock, clinic, make_uow):
    chat = _telegram_chat(engine, clock)
    await _open_shop(chat)
    await chat.choose("Massage 10-pack")
    await chat.press("Buy it")
    assert chat.labels == ["Pay now in Telegram", "Pay at the clinic"]
    reply = await chat.press("Pay now in Telegram")
    assert "We sent you an invoice to pay here" in reply.text
    bought = (await _packages_of(make_uow, "maya"))[-1]
    first = (await _invoices_of(make_uow, bought.id))[0]
    assert first.installment_no == 1
    assert chat.outcome.effects == [Effect("telegram_invoice", {"invoice_id": first.id})]


@pytest.mark.parametrize(("channel", "payments"), [("telegram", False), ("sms", True)])
async def test_no_telegram_payment_without_the_setting_or_off_telegram(
    engine, clock, clinic, channel, payments
):
    bot = Engine(engine, clock, build_dialogs(), EngineConfig(telegram_payments=payments))
    chat = Chat(bot, channel=channel, address=MAYA if channel == "sms" else "7002", phone=MAYA)
    await _open_shop(chat)
    await chat.choose("Physio 5-pack")
    await chat.choose("Buy it")
    assert chat.labels == ["Pay at the clinic"]
    reply = await chat.say("Pay now in Telegram")
    assert "number of one of the choices" in reply.text
    await chat.choose("Pay at the clinic")
    assert chat.outcome.effects == []


async def test_back_after_buying_never_sells_twice(chat, make_uow):
    await _open_shop(chat)
    await chat.choose("Physio 5-pack")
    await chat.choose("Buy it")
    reply = await chat.say("BACK")
    assert chat.labels == ["Buy it", "Back"]
    reply = await chat.choose("Buy it")
    assert "already bought" in reply.text and chat.labels == ["Pay at the clinic"]
    assert len(await _packages_of(make_uow, "maya")) == 2, "one sale, not two"


async def test_back_menu_and_stale_input_keep_the_place(chat, make_uow):
    await _open_shop(chat)
    listing = chat.last
    await chat.choose("Physio 5-pack")
    details = chat.last
    reply = await chat.say("7")
    assert "7 is not one of the choices" in reply.text and chat.labels == ["Buy it", "Back"]
    reply = await chat.say("qwerty zzz")
    assert "1 to buy it or 2 to go back" in reply.text and "Physio 5-pack" in reply.text
    chat.last = listing
    reply = await chat.press("Massage 10-pack")
    assert "earlier message" in reply.text and "Physio 5-pack: $400.00" in reply.text
    await chat.choose("Back")
    assert chat.labels == FOR_SALE
    await chat.choose("Massage 10-pack")
    await chat.say("back")
    assert chat.labels == FOR_SALE
    chat.last = details
    reply = await chat.press("Buy it")
    assert "earlier message" in reply.text and chat.labels == FOR_SALE
    await chat.say("menu")
    assert "What would you like to do?" in chat.text
    assert len(await _packages_of(make_uow, "maya")) == 1, "nothing was sold"


async def test_a_free_package_is_ready_at_once(chat, make_uow):
    async with make_uow() as uow:
        template = await packages.get_template(uow, "physio-5")
        template.price = Decimal("0.00")
        await uow.commit()
    await _open_shop(chat)
    await chat.choose("Physio 5-pack")
    reply = await chat.choose("Buy it")
    assert "Physio 5-pack is yours and ready to use" in reply.text
    assert "What would you like to do?" in reply.text
    bought = (await _packages_of(make_uow, "maya"))[-1]
    assert bought.paid_enough and await _invoices_of(make_uow, bought.id) == []


async def test_nothing_for_sale_says_so(chat, make_uow):
    async with make_uow() as uow:
        for template in await packages.templates_for_sale(uow):
            template.online_purchase = False
        await uow.commit()
    await _open_shop(chat)
    assert "No packages can be bought in chat" in chat.text
    assert chat.labels == ["Back to menu"]
    reply = await chat.choose("Back to menu")
    assert "What would you like to do?" in reply.text
