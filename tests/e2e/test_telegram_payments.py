"""Paying any open invoice in Telegram (issue 20) through the real Application and the Bot API
stand-in: a membership invoice, a deposit, and a reminder's "Pay now" pressed by a guardian.

Long polling only (webhook delivery of the same updates is covered in test_telegram_patients).
The example clinic is loaded; the clock is Monday 2 November 2026, 08:00 in Toronto.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from telegram import Bot

from bot.delivery.channels import Channels
from bot.delivery.sender import Deliverer
from bot.handlers.telegram_channel import TelegramChannel
from bot.services import accounts, deposit_release, outbox, packages, reminders
from bot.storage.models import Clinic, Invoice, Patient, Payment
from tests.e2e.telegram_harness import Telegram, TgUser, telegram_server
from tests.e2e.telegram_standin import TOKEN
from tests.integration._builders import package_of, patient

MAYA_USER, SOFIA_USER = 7101, 7102


@pytest.fixture
async def tg(clinic: None, database_url: str, clock) -> AsyncIterator[Telegram]:
    async with telegram_server(database_url, clock, mode="polling") as player:
        yield player


async def _linked(tg: Telegram, user_id: int, name: str, phone: str) -> TgUser:
    user = TgUser(tg, user_id, name)
    await user.say("/start")
    await user.share_contact(phone)
    return user


async def _pays(user: TgUser, call_params: dict, charge: str) -> str:
    """Pass the pre-checkout, then pay: the bot's answer to the successful payment."""
    payload, amount = call_params["payload"], call_params["prices"][0]["amount"]
    await user.send(user.update(pre_checkout_query={
        "id": f"pcq-{charge}", "from": user._user(), "currency": "CAD",
        "total_amount": amount, "invoice_payload": payload}))
    assert user.tg.standin.of("answerPreCheckoutQuery")[-1].params["ok"] is True
    return await user.send(_paid(user, payload, amount, charge))


def _paid(user: TgUser, payload: str, amount: int, charge: str) -> dict:
    return user.update(message=user.message(successful_payment={
        "currency": "CAD", "total_amount": amount, "invoice_payload": payload,
        "telegram_payment_charge_id": charge, "provider_payment_charge_id": f"pr-{charge}"}))


async def _payments(make_uow, invoice_id: int) -> list[tuple[str, str | None, Decimal]]:
    async with make_uow() as uow:
        rows = await uow.session.execute(
            select(Payment.method, Payment.external_id, Payment.amount)
            .where(Payment.invoice_id == invoice_id))
        return [tuple(row) for row in rows.tuples()]


async def test_a_membership_invoice_is_paid_in_the_chat_once(tg, make_uow):
    async with make_uow() as uow:
        sofia = await patient(uow, "sofia")
        await accounts.set_locale(uow, sofia.id, "en_CA")
        [november] = (await uow.session.scalars(select(Invoice.id).where(
            Invoice.patient_id == sofia.id, Invoice.kind == "membership",
            Invoice.status == "open"))).all()
        await uow.commit()
    user = await _linked(tg, SOFIA_USER, "Sofia", "+14165550102")
    await user.say("/invoices")
    assert "Pay Wellness membership (monthly), November 2026 in Telegram" in user.labels
    await user.press("Pay Wellness membership")
    [sent] = [c for c in user.last if c.method == "sendInvoice"]
    assert sent.params["payload"] == f"invoice:{november}"
    assert sent.params["prices"][0]["amount"] == 4900
    paid = _paid(user, sent.params["payload"], 4900, "tg-member-1")
    assert "Thank you! Your payment was received." in await _pays(user, sent.params,
                                                                  "tg-member-1")
    again = dict(paid, update_id=paid["update_id"] + 100000)  # redelivered as a new update
    assert "Thank you! Your payment was received." in await user.send(again)
    assert await _payments(make_uow, november) == [
        ("telegram", "tg-member-1", Decimal("49.00"))]
    async with make_uow() as uow:
        assert (await uow.session.get(Invoice, november)).status == "paid"


async def test_a_deposit_is_paid_in_the_chat_and_keeps_the_time(tg, make_uow, clock):
    async with make_uow() as uow:
        clinic = await uow.session.get(Clinic, 1)
        clinic.deposit, clinic.setup_version = Decimal("20.00"), clinic.setup_version + 1
        await uow.commit()
    maya = await _linked(tg, MAYA_USER, "Maya", "+14165550101")
    await maya.say("/book")
    for label in ("Maya", "Without a package", "follow-up", "East End", "Fri 6 Nov", "Morning",
                  "10:00 a.m."):
        await maya.press(label)
    reply = await maya.press("Confirm")
    assert "Booked for Fri 6 Nov, 10:00 a.m." in reply and "A deposit of $20.00" in reply
    assert maya.labels == ["Pay now in Telegram", "Pay at the clinic"]
    await maya.press("Pay now in Telegram")
    [sent] = [c for c in maya.last if c.method == "sendInvoice"]
    assert sent.params["title"] == "Deposit, Physiotherapy follow-up"
    assert sent.params["prices"][0]["amount"] == 2000
    deposit_id = int(sent.params["payload"].removeprefix("invoice:"))
    assert "payment was received" in await _pays(maya, sent.params, "tg-deposit")
    paid = _paid(maya, sent.params["payload"], 2000, "tg-deposit")
    await maya.send(dict(paid, update_id=paid["update_id"] + 100000))
    assert await _payments(make_uow, deposit_id) == [
        ("telegram", "tg-deposit", Decimal("20.00"))]
    clock.advance(timedelta(hours=3))
    async with make_uow() as uow:
        assert await deposit_release.release_unpaid(uow) == 0, "paid: the time is kept"
        deposit = await uow.session.get(Invoice, deposit_id)
        assert (deposit.kind, deposit.status) == ("deposit", "paid")


async def test_a_guardian_pays_a_wards_invoice_from_the_reminder(tg, make_uow, engine, clock):
    async with make_uow() as uow:
        leo_package = await package_of(uow, "leo")
        second = (await packages.package_invoices(uow, leo_package.id))[1]
        leo = await patient(uow, "leo")
        await accounts.set_locale(uow, (await patient(uow, "sofia")).id, "en_CA")
        await outbox.enqueue(uow, purpose=f"invoice:{second.id}:unpaid:test",
                             kind=reminders.UNPAID_REMINDER, params={"invoice_id": second.id},
                             patient_id=leo.id)
        await uow.commit()
        second_id = second.id
    maya = await _linked(tg, MAYA_USER, "Maya", "+14165550101")
    sofia = await _linked(tg, SOFIA_USER, "Sofia", "+14165550102")
    start = len(tg.standin.calls)
    async with Bot(TOKEN, base_url=tg.settings.telegram_api_base_url) as bot:
        channel = TelegramChannel(bot, payments=True)
        await Deliverer(engine, clock, Channels([channel])).run_once()
    reminder = await tg.wait_for(lambda c: c.chat_id == MAYA_USER, after=start)
    assert "Massage 10-pack, payment 2 of 3" in reminder.text
    assert reminder.buttons == [("Pay now", f"payinvoice:{second_id}")]
    refused = await sofia.press_data(f"payinvoice:{second_id}", reminder)
    assert "sendInvoice" not in [c.method for c in sofia.last] and refused == ""
    assert "not for you" in tg.standin.of("answerCallbackQuery")[-1].params["text"]
    await maya.press("Pay now", call=reminder)
    [sent] = [c for c in maya.last if c.method == "sendInvoice"]
    assert sent.params["payload"] == f"invoice:{second_id}"
    assert "payment was received" in await _pays(maya, sent.params, "tg-guardian")
    async with make_uow() as uow:
        invoice = await uow.session.get(Invoice, second_id)
        maya_id = await uow.session.scalar(select(Patient.id).where(Patient.key == "maya"))
        assert invoice.status == "paid" and invoice.patient_id != maya_id
    again = await maya.press("Pay now", call=reminder)
    assert "This invoice is already settled." in again


async def test_pay_now_is_dropped_where_the_bot_takes_no_payments(tg, make_uow, engine, clock):
    async with make_uow() as uow:
        second = (await packages.package_invoices(uow, (await package_of(uow, "leo")).id))[1]
        await outbox.enqueue(uow, purpose=f"invoice:{second.id}:unpaid:test",
                             kind=reminders.UNPAID_REMINDER, params={"invoice_id": second.id},
                             patient_id=(await patient(uow, "leo")).id)
        await uow.commit()
    await _linked(tg, MAYA_USER, "Maya", "+14165550101")
    start = len(tg.standin.calls)
    async with Bot(TOKEN, base_url=tg.settings.telegram_api_base_url) as bot:
        await Deliverer(engine, clock, Channels([TelegramChannel(bot)])).run_once()
    reminder = await tg.wait_for(lambda c: c.chat_id == MAYA_USER, after=start)
    assert "You can pay at the desk." in reminder.text and reminder.buttons == []
