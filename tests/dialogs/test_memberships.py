"""Memberships and invoices (RULES.md 13-17): memberships, what is unpaid, and how to pay it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.dialogs.base import Effect
from bot.dialogs.engine import Engine, EngineConfig
from bot.dialogs.registry import build_dialogs
from bot.services import accounts, billing, memberships, package_admin, packages
from bot.storage.models import Invoice, Membership
from tests.dialogs.chat import Chat
from tests.dialogs.conftest import MAYA, SOFIA
from tests.integration._builders import local, package_of, patient

MENU_TEXT = "What would you like to do?"
NOVEMBER = "Wellness membership (monthly), November 2026"
STORED = "Wellness membership (monthly) 2026-11-01"  # the description kept for the desk


async def _sofia_in_english(make_uow) -> None:
    async with make_uow() as uow:
        await accounts.set_locale(uow, (await patient(uow, "sofia")).id, "en_CA")
        await uow.commit()


async def _sofia_membership_id(make_uow) -> int:
    async with make_uow() as uow:
        sofia = await patient(uow, "sofia")
        return await uow.session.scalar(
            select(Membership.id).where(Membership.patient_id == sofia.id))


async def _november_invoice_id(make_uow) -> int:
    async with make_uow() as uow:
        return await uow.session.scalar(
            select(Invoice.id).where(Invoice.description == STORED))


async def _open(chat: Chat, who: str | None = None, label: str = "Memberships and invoices"):
    await chat.say("hi")
    reply = await chat.choose(label)
    return await chat.choose(who) if who else reply


async def test_sofias_membership_and_unpaid_november_invoice(make_chat, make_uow):
    await _sofia_in_english(make_uow)
    sofia = make_chat(SOFIA)
    reply = await _open(sofia)
    lines = reply.text.splitlines()
    assert lines == [
        "Memberships:",
        "Wellness membership (monthly): $49.00 a month; renews Dec 1, 2026",
        "Unpaid invoices:",
        f"{NOVEMBER}: $49.00, due Nov 1, 2026, 1 day overdue",
        "Total outstanding: $49.00",
        "You can pay at the clinic's front desk.",
    ]
    assert sofia.labels == ["Back to menu"]
    reply = await sofia.choose("Back to menu")
    assert MENU_TEXT in reply.text


async def test_sofia_in_her_own_language_sees_the_same_amounts(make_chat):
    sofia = make_chat(SOFIA)
    reply = await _open(sofia, label="Membresías y facturas")
    assert reply.text.count("49,00") == 3, "price per month, the invoice, the total"
    assert "Wellness membership (monthly), noviembre de 2026: 49,00" in reply.text
    assert "2026-11-01" not in reply.text, "no ISO date"
    assert [option.key for option in sofia.last.options] == ["menu"]


async def test_payments_lower_what_is_outstanding(make_chat, make_uow, clock):
    await _sofia_in_english(make_uow)
    invoice_id = await _november_invoice_id(make_uow)
    async with make_uow() as uow:
        await billing.record_payment(uow, invoice_id, Decimal("20.00"))
        await uow.commit()
    clock.set(local(2026, 11, 12, 9))
    sofia = make_chat(SOFIA)
    reply = await _open(sofia)
    assert f"{NOVEMBER}: $29.00, due Nov 1, 2026, 11 days overdue" in reply.text
    assert "Total outstanding: $29.00" in reply.text
    async with make_uow() as uow:
        await billing.record_payment(uow, invoice_id, Decimal("29.00"))
        await uow.commit()
    await sofia.choose("Back to menu")
    reply = await sofia.choose("Memberships and invoices")
    assert reply.text.splitlines() == [
        "Memberships:",
        "Wellness membership (monthly): $49.00 a month; renews Dec 1, 2026",
        "Nothing is unpaid.",
    ]


async def test_nothing_to_show_says_so(chat):
    reply = await _open(chat, "Maya Chen (me)")
    assert reply.text == "You have no memberships and nothing unpaid."
    assert chat.labels == ["Back to menu"]


async def test_a_guardian_sees_their_wards_unpaid_installment(chat, make_uow):
    reply = await _open(chat, "Leo Chen")
    assert reply.text.splitlines() == [
        "Unpaid invoices:",
        "Massage 10-pack, payment 2 of 3: $330.00, due Oct 15, 2026, 18 days overdue",
        "Total outstanding: $330.00",
        "Next installments:",
        "Massage 10-pack, payment 3 of 3: $330.00, due Nov 15, 2026",
        "You can pay at the clinic's front desk.",
    ]
    async with make_uow() as uow:
        leo = await patient(uow, "leo")
        await packages.sell_package(uow, leo.id, "physio-5", online=True)
        await uow.commit()
    await chat.say("BACK")
    reply = await chat.choose("Leo Chen")
    assert "Physio 5-pack: $400.00, due Nov 2, 2026" in reply.text.splitlines()
    assert "Total outstanding: $730.00" in reply.text


async def test_upcoming_ending_and_cancelled_memberships(chat, make_chat, make_uow):
    await _sofia_in_english(make_uow)
    membership_id = await _sofia_membership_id(make_uow)
    async with make_uow() as uow:
        await memberships.enrol(uow, (await patient(uow, "maya")).id, "wellness-annual",
                                date(2026, 12, 1))
        await memberships.cancel(uow, membership_id, date(2026, 12, 1))
        await uow.commit()
    reply = await _open(chat, "Maya Chen (me)")
    assert reply.text.splitlines() == [
        "Memberships:",
        "Wellness membership (annual): $499.00 a year; starts Dec 1, 2026",
        "Nothing is unpaid.",
    ]
    sofia = make_chat(SOFIA)
    reply = await _open(sofia)
    assert "Wellness membership (monthly): $49.00 a month; ends Dec 1, 2026" in reply.text
    async with make_uow() as uow:
        await memberships.cancel(uow, membership_id, date(2026, 11, 1))
        await uow.commit()
    await sofia.choose("Back to menu")
    reply = await sofia.choose("Memberships and invoices")
    assert reply.text.splitlines() == [
        "Memberships:",
        "Wellness membership (monthly): $49.00 a month; ended Nov 1, 2026",
        "Nothing is unpaid.",
    ], "the backdated cancellation voided November's invoice"


async def test_a_refunded_package_is_owed_no_more_and_its_credit_is_shown(chat, make_uow):
    """Issue 14: $400 sold, $200 paid, refunded: no "Total outstanding", the credit shown."""
    async with make_uow() as uow:
        maya = await patient(uow, "maya")
        package = await packages.sell_package(uow, maya.id, "physio-5")
        [invoice] = await packages.package_invoices(uow, package.id)
        await billing.record_payment(uow, invoice.id, Decimal("200.00"))
        await package_admin.refund(uow, package.id, by="desk")
        await uow.commit()
    reply = await _open(chat, "Maya Chen (me)")
    assert reply.text.splitlines() == [
        "Nothing is unpaid.",
        "Credit held for Maya: $200.00",
        "The front desk can use it to pay an invoice, or pay it back.",
    ]
    async with make_uow() as uow:
        await packages.sell_package(uow, maya.id, "physio-5")
        await uow.commit()
    await chat.choose("Back to menu")
    reply = await chat.choose("Memberships and invoices")
    reply = await chat.choose("Maya Chen (me)")
    assert reply.text.splitlines()[-3:] == [
        "You can pay at the clinic's front desk.",
        "Credit held for Maya: $200.00",
        "The front desk can use it to pay an invoice, or pay it back.",
    ]
    assert "Total outstanding: $400.00" in reply.text


def _telegram(engine, clock, phone: str, user_id: int) -> Chat:
    bot = Engine(engine, clock, build_dialogs(), EngineConfig(telegram_payments=True))
    return Chat(bot, channel="telegram", address=str(user_id), phone=phone,
                telegram_user_id=user_id)


async def test_package_invoices_can_be_paid_in_telegram(engine, clock, clinic, make_uow):
    chat = _telegram(engine, clock, MAYA, 8001)
    await _open(chat, "Leo Chen")
    assert chat.labels == ["Pay Massage 10-pack, payment 2 of 3 in Telegram", "Back to menu"]
    reply = await chat.press("Pay Massage 10-pack")
    assert "We sent you an invoice to pay here" in reply.text
    async with make_uow() as uow:
        package_id = (await package_of(uow, "leo")).id
        second = (await packages.package_invoices(uow, package_id))[1]
        assert second.installment_no == 2 and second.status == "open"
        second_id = second.id
    assert chat.outcome.effects == [Effect("telegram_invoice", {"invoice_id": second_id})]


async def test_membership_invoices_can_be_paid_in_telegram_too(engine, clock, clinic, make_uow):
    """Issue 20: any open invoice, not only a package's, is payable in the chat."""
    sofia = _telegram(engine, clock, SOFIA, 8002)
    await _open(sofia, label="Membresías y facturas")
    november = await _november_invoice_id(make_uow)
    assert [option.key for option in sofia.last.options] == [f"pay{november}", "menu"]
    await sofia.send(choice=f"pay{november}")
    assert sofia.outcome.effects == [Effect("telegram_invoice", {"invoice_id": november})]


async def test_a_paid_invoice_is_no_longer_offered_in_telegram(engine, clock, clinic, make_uow):
    november = await _november_invoice_id(make_uow)
    async with make_uow() as uow:
        await billing.record_payment(uow, november, Decimal("49.00"))
        await uow.commit()
    sofia = _telegram(engine, clock, SOFIA, 8003)
    await _open(sofia, label="Membresías y facturas")
    assert [option.key for option in sofia.last.options] == ["menu"]
    await sofia.send(choice=f"pay{november}")
    assert sofia.outcome.effects == []


async def test_a_no_show_fee_and_a_deposit_can_be_paid_in_telegram(
    engine, clock, clinic, make_uow
):
    async with make_uow() as uow:
        maya = await patient(uow, "maya")
        fee = await billing.create_invoice(
            uow, patient_id=maya.id, kind="no_show", description="Missed appointment fee",
            amount=Decimal("40.00"), issued_on=date(2026, 11, 2))
        deposit = await billing.create_invoice(
            uow, patient_id=maya.id, kind="deposit", description="Physiotherapy follow-up",
            amount=Decimal("20.00"), issued_on=date(2026, 11, 2))
        await uow.commit()
        fee_id, deposit_id = fee.id, deposit.id
    chat = _telegram(engine, clock, MAYA, 8004)
    await _open(chat, "Maya Chen (me)")
    assert chat.labels == ["Pay Missed appointment fee in Telegram",
                           "Pay Deposit, Physiotherapy follow-up in Telegram", "Back to menu"]
    await chat.press("Pay Missed appointment fee")
    assert chat.outcome.effects == [Effect("telegram_invoice", {"invoice_id": fee_id})]
    await _open(chat, "Maya Chen (me)")
    await chat.press("Pay Deposit")
    assert chat.outcome.effects == [Effect("telegram_invoice", {"invoice_id": deposit_id})]


async def test_back_menu_and_stale_input_keep_the_place(chat, make_uow):
    await _open(chat, "Leo Chen")
    summary = chat.last
    reply = await chat.say("5")
    assert "5 is not one of the choices" in reply.text and "Total outstanding" in reply.text
    reply = await chat.say("gimme money")
    assert "number of one of the choices" in reply.text and chat.labels == ["Back to menu"]
    async with make_uow() as uow:
        package_id = (await package_of(uow, "leo")).id
        second_id = (await packages.package_invoices(uow, package_id))[1].id
    reply = await chat.send(choice=f"pay{second_id}")
    assert "earlier message" in reply.text and chat.outcome.effects == []
    reply = await chat.say(f"pay{second_id}")
    assert "number of one of the choices" in reply.text and chat.outcome.effects == []
    reply = await chat.say("back")
    assert "Who is this for?" in reply.text
    reply = await chat.choose("Maya Chen (me)")
    assert "no memberships" in reply.text
    chat.last = summary
    reply = await chat.press("Back to menu")
    assert MENU_TEXT in reply.text, "the same button is on the current message too"
    reply = await chat.say("MENU")
    assert MENU_TEXT in reply.text


async def _maya_buys_massage_in_installments(make_uow) -> None:
    """Maya buys the Massage 10-pack (3 installments of $330) and pays the first."""
    async with make_uow() as uow:
        maya = await patient(uow, "maya")
        sold = await packages.sell_package(uow, maya.id, "massage-10", online=True)
        first = (await packages.package_invoices(uow, sold.id))[0]
        await billing.record_payment(uow, first.id, first.amount)
        await uow.commit()


async def test_the_next_installment_is_shown_not_nothing_unpaid(chat, make_uow):
    await _maya_buys_massage_in_installments(make_uow)
    reply = await _open(chat, "Maya Chen (me)")
    assert reply.text.splitlines() == [
        "Nothing is due now.",
        "Next installments:",
        "Massage 10-pack, payment 2 of 3: $330.00, due Dec 2, 2026",
        "You can pay at the clinic's front desk.",
    ]
    assert "Nothing is unpaid" not in reply.text and "((" not in reply.text


@pytest.mark.parametrize(("locale", "line"), [
    ("es", "Massage 10-pack, pago 2 de 3: 330,00\xa0CAD, vence el 2 dic 2026"),
    ("fr", "Massage 10-pack, versement 2 sur 3 : 330,00\xa0$CA, dû le 2 déc. 2026"),
])
async def test_the_next_installment_in_the_patients_language(chat, make_uow, locale, line):
    async with make_uow() as uow:
        (await patient(uow, "maya")).locale = locale
        await uow.commit()
    await _maya_buys_massage_in_installments(make_uow)
    await chat.say("hi")
    await chat.say("5")  # Memberships and invoices
    reply = await chat.say("1")  # for Maya
    assert line in reply.text.splitlines(), reply.text
