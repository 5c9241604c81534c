"""Patients on Telegram through the real server and Application, against the Bot API stand-in.

Both modes: long polling (updates queued for getUpdates) and webhook (updates POSTed with the
secret header). The example clinic is loaded; the clock is Monday 2 November 2026, 08:00 in
Toronto. Maya's phone is +1 416 555 0101.
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
from bot.services import billing
from bot.storage.models import (
    Appointment,
    CreditEntry,
    Invoice,
    OutboxMessage,
    Patient,
    PatientPackage,
    Payment,
)
from tests.e2e.telegram_harness import Telegram, TgUser, telegram_server
from tests.e2e.telegram_standin import TOKEN

MAYA_USER = 7001
DESK_CHAT = -1001234567890  # the example clinic's front desk (staff "desk", role reception)


@pytest.fixture(params=["polling", "webhook"])
async def tg(request, clinic: None, database_url: str, clock) -> AsyncIterator[Telegram]:
    async with telegram_server(database_url, clock, mode=request.param) as player:
        yield player


async def _maya(make_uow) -> Patient:
    async with make_uow() as uow:
        found = await uow.session.scalar(select(Patient).where(Patient.key == "maya"))
        uow.session.expunge_all()
        return found


async def test_start_asks_for_the_users_own_phone_and_links_it(tg, make_uow):
    maya = TgUser(tg, MAYA_USER, "Maya")
    reply = await maya.say("/start")
    assert "share your phone number" in reply
    asked = maya.last[-1]
    assert asked.params["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    reply = await maya.share_contact("14165550101", owner_id=9999)
    assert "your own phone number" in reply
    assert (await _maya(make_uow)).telegram_user_id is None
    reply = await maya.share_contact("+1 416 555 0101")
    assert "linked" in reply and "Hi Maya!" in reply
    assert "Book an appointment" in maya.labels
    assert (await _maya(make_uow)).telegram_user_id == MAYA_USER


async def _linked_maya(tg) -> TgUser:
    maya = TgUser(tg, MAYA_USER, "Maya")
    await maya.say("/start")
    await maya.share_contact("+14165550101")
    return maya


async def test_a_new_phone_registers_with_the_proven_phone(tg, make_uow):
    ada = TgUser(tg, 7002, "Ada")
    await ada.say("/start")
    reply = await ada.share_contact("14165550199")
    assert "first name" in reply
    await ada.say("Ada")
    await ada.say("Lovelace")
    await ada.say("1990-12-10")
    reply = await ada.press("Yes")
    assert "You are registered" in reply
    async with make_uow() as uow:
        new = await uow.session.scalar(select(Patient).where(Patient.first_name == "Ada"))
        assert new is not None and new.online_registration
        assert (new.phone, new.telegram_user_id) == ("+14165550199", 7002)


async def test_books_and_cancels_with_buttons_edited_in_place(tg, make_uow):
    maya = await _linked_maya(tg)
    menu = maya.keyboard_call()
    reply = await maya.press("Book an appointment")
    edit = maya.last[-1]
    assert edit.method == "editMessageText" and edit.params["message_id"] == menu.params[
        "_message_id"] and "Who is this for?" in reply
    await maya.press("Maya")
    await maya.press("Physio 5-pack")
    await maya.press("Tue 3 Nov")
    await maya.press("Morning")
    await maya.press("10:00 a.m.")
    reply = await maya.press("Confirm")
    assert "Booked for Tue 3 Nov, 10:00 a.m." in reply
    async with make_uow() as uow:
        [appointment] = (await uow.session.scalars(select(Appointment))).all()
        assert appointment.status == "booked"
    await maya.say("/appointments")
    await maya.press("Maya")
    await maya.press("Tue 3 Nov")
    await maya.press("Call it off")
    reply = await maya.press("Yes, call it off")
    assert "Cancelled." in reply
    async with make_uow() as uow:
        [appointment] = (await uow.session.scalars(select(Appointment))).all()
        assert appointment.status == "cancelled"


async def test_a_typed_request_books_with_one_press(tg, make_uow):
    """Issue 16 item 10 on Telegram: a typed request goes straight to the confirmation."""
    maya = await _linked_maya(tg)
    reply = await maya.say("physio follow-up with Ana tuesday 10am please")
    assert "Please check your booking:" in reply and "Tue 3 Nov, 10:00 a.m." in reply
    assert "Uses 1 of your Physio 5-pack" in reply
    reply = await maya.press("Confirm")
    assert "Booked for Tue 3 Nov, 10:00 a.m." in reply
    async with make_uow() as uow:
        [appointment] = (await uow.session.scalars(select(Appointment))).all()
        assert appointment.package_id is not None


async def test_a_press_whose_acknowledgement_fails_is_still_answered(tg, make_uow):
    """The turn is committed before the button press is acknowledged (answerCallbackQuery);
    the Bot API failing that call (a 502, or a press too old to answer) must not lose the
    answer: the booking is confirmed to the patient and the update is not failed (in webhook
    mode ``deliver`` asserts the 200)."""
    maya = await _linked_maya(tg)
    await maya.say("physio follow-up with Ana tuesday 10am please")
    tg.standin.fail_method("answerCallbackQuery", 502)
    reply = await maya.press("Confirm")
    assert "Booked for Tue 3 Nov, 10:00 a.m." in reply
    assert len(tg.standin.of("answerCallbackQuery")) == 1  # the failed one, not retried
    async with make_uow() as uow:
        [appointment] = (await uow.session.scalars(select(Appointment))).all()
        assert appointment.status == "booked"


async def test_a_stale_button_is_answered_politely_with_the_current_step(tg):
    maya = await _linked_maya(tg)
    old_menu = maya.keyboard_call()
    await maya.press("Book an appointment")
    reply = await maya.press("My packages", call=old_menu)
    answered = tg.standin.of("answerCallbackQuery")[-1]
    assert "earlier message" in answered.params.get("text", "")
    assert "Who is this for?" in reply
    assert any(c.method == "editMessageReplyMarkup" for c in maya.last)


async def test_buys_a_package_and_pays_in_telegram_once(tg, make_uow):
    maya = await _linked_maya(tg)
    await maya.say("/buy")
    await maya.press("Maya Chen (me)")
    await maya.press("Massage 10-pack")
    await maya.press("Buy it")
    await maya.press("Pay now in Telegram")
    [invoice_call] = [c for c in maya.last if c.method == "sendInvoice"]
    payload = invoice_call.params["payload"]
    assert payload.startswith("invoice:") and invoice_call.params["currency"] == "CAD"
    assert invoice_call.params["prices"][0]["amount"] == 33000  # first of 3 installments
    assert invoice_call.params["title"] == "Massage 10-pack, payment 1 of 3"
    invoice_id = int(payload.split(":")[1])

    def pre_checkout(amount: int) -> dict:
        return maya.update(pre_checkout_query={
            "id": f"pcq{amount}", "from": maya._user(), "currency": "CAD",
            "total_amount": amount, "invoice_payload": payload})

    await maya.send(pre_checkout(100))
    assert tg.standin.of("answerPreCheckoutQuery")[-1].params["ok"] is False
    await maya.send(pre_checkout(33000))
    assert tg.standin.of("answerPreCheckoutQuery")[-1].params["ok"] is True
    paid = maya.update(message=maya.message(successful_payment={
        "currency": "CAD", "total_amount": 33000, "invoice_payload": payload,
        "telegram_payment_charge_id": "tg-charge-1", "provider_payment_charge_id": "pr-1"}))
    assert "payment was received" in await maya.send(paid)
    await tg.deliver(paid)  # the same update again
    again = dict(paid, update_id=paid["update_id"] + 100000)  # redelivered as a new update
    await maya.send(again)
    async with make_uow() as uow:
        payments = (await uow.session.scalars(
            select(Payment).where(Payment.invoice_id == invoice_id))).all()
        assert [(p.method, p.external_id, p.amount) for p in payments] == [
            ("telegram", "tg-charge-1", Decimal("330.00"))]
        invoice = await uow.session.get(Invoice, invoice_id)
        assert invoice.status == "paid"
        package = await uow.session.get(PatientPackage, invoice.package_id)
        assert package.paid_enough


async def _bought_massage_pack(tg) -> tuple[TgUser, str, int]:
    """Maya bought the Massage 10-pack and asked to pay its first installment in Telegram."""
    maya = await _linked_maya(tg)
    await maya.say("/buy")
    await maya.press("Maya Chen (me)")
    await maya.press("Massage 10-pack")
    await maya.press("Buy it")
    await maya.press("Pay now in Telegram")
    [invoice_call] = [c for c in maya.last if c.method == "sendInvoice"]
    payload = invoice_call.params["payload"]
    return maya, payload, int(payload.split(":")[1])


def _paid(maya: TgUser, payload: str, charge: str, amount: int = 33000) -> dict:
    return maya.update(message=maya.message(successful_payment={
        "currency": "CAD", "total_amount": amount, "invoice_payload": payload,
        "telegram_payment_charge_id": charge, "provider_payment_charge_id": f"pr-{charge}"}))


async def test_a_second_payment_of_a_paid_invoice_becomes_credit_told_and_alerted(
    tg, make_uow, engine, clock
):
    """Issue 14: two devices paid the same invoice; the second charge was dropped."""
    maya, payload, invoice_id = await _bought_massage_pack(tg)
    for device in ("phone", "tablet"):  # both pass the pre-checkout before either pays
        await maya.send(maya.update(pre_checkout_query={
            "id": f"pcq-{device}", "from": maya._user(), "currency": "CAD",
            "total_amount": 33000, "invoice_payload": payload}))
        assert tg.standin.of("answerPreCheckoutQuery")[-1].params["ok"] is True
    assert await maya.send(_paid(maya, payload, "tg-phone")) == (
        "Thank you! Your payment was received.")
    reply = await maya.send(_paid(maya, payload, "tg-tablet"))
    assert "payment of $330.00 was received" in reply and "already settled" in reply
    assert "kept as credit" in reply and "The clinic has been told" in reply
    again = await maya.send(_paid(maya, payload, "tg-tablet"))  # redelivered, new update_id
    assert again == reply
    async with make_uow() as uow:
        maya_id = (await _maya(make_uow)).id
        payments = (await uow.session.scalars(
            select(Payment.external_id).where(Payment.invoice_id == invoice_id))).all()
        assert payments == ["tg-phone"]
        [kept] = (await uow.session.scalars(select(CreditEntry))).all()
        assert (kept.patient_id, kept.source, kept.amount, kept.external_id, kept.invoice_id) == (
            maya_id, "overpayment", Decimal("330.00"), "tg-tablet", invoice_id)
        [alert_id] = (await uow.session.scalars(select(OutboxMessage.id).where(
            OutboxMessage.kind == "payment_credited"))).all()
    start = len(tg.standin.calls)
    async with Bot(TOKEN, base_url=tg.settings.telegram_api_base_url) as bot:
        await Deliverer(engine, clock, Channels([TelegramChannel(bot)])).run_once()
    told = await tg.wait_for(lambda c: c.chat_id == DESK_CHAT, after=start)
    assert f"Maya Chen (patient {maya_id}) paid $330.00 (telegram) on invoice {invoice_id}, " \
        "Massage 10-pack, payment 1 of 3, when" in (
        told.text) and "$0.00 was owed: $330.00 became credit" in told.text
    async with make_uow() as uow:
        assert (await uow.session.get(OutboxMessage, alert_id)).status == "sent"
    await maya.say("/invoices")
    reply = await maya.press("Maya Chen (me)")
    assert "Credit held for Maya: $330.00" in reply


async def test_a_payment_the_desk_partly_recorded_meanwhile_credits_the_rest(tg, make_uow):
    maya, payload, invoice_id = await _bought_massage_pack(tg)
    await maya.send(maya.update(pre_checkout_query={
        "id": "pcq-desk", "from": maya._user(), "currency": "CAD", "total_amount": 33000,
        "invoice_payload": payload}))
    assert tg.standin.of("answerPreCheckoutQuery")[-1].params["ok"] is True
    async with make_uow() as uow:  # the desk takes 100.00 in cash meanwhile
        await billing.record_payment(uow, invoice_id, Decimal("100.00"))
        await uow.commit()
    reply = await maya.send(_paid(maya, payload, "tg-after-desk"))
    assert "$230.00 paid this invoice" in reply and "the other $100.00" in reply
    async with make_uow() as uow:
        invoice = await uow.session.get(Invoice, invoice_id)
        assert (invoice.status, invoice.paid) == ("paid", Decimal("330.00"))
        [kept] = (await uow.session.scalars(select(CreditEntry))).all()
        assert (kept.amount, kept.external_id) == (Decimal("100.00"), "tg-after-desk")


async def test_an_update_delivered_twice_is_acted_on_once(tg, make_uow):
    maya = await _linked_maya(tg)
    update = maya.update(message=maya.message(text="/book"))
    update["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": 5}]
    await maya.send(update)
    count = len(tg.standin.calls)
    await tg.deliver(update)
    await tg.settle()
    assert len(tg.standin.calls) == count


TG_VIEWS = {  # issue 16 items 4-7 on Telegram, in each language
    "en": ("Physio 5-pack: 3 left, until Mar 30, 2027", "2 sessions before online records",
           "November 2 10:00 a.m.", "It has been a while", "Massage 10-pack, payment 2 of 3"),
    "es": ("Physio 5-pack: quedan 3, hasta el 30 mar 2027",
           "2 sesiones antes de los registros en línea", "2 de noviembre 10:00",
           "Ha pasado un rato", "Massage 10-pack, pago 2 de 3"),
    "fr": ("Physio 5-pack : 3 restantes, jusqu'au 30 mars 2027",
           "2 séances avant les dossiers en ligne", "2 novembre 10:00", "Cela fait un moment",
           "Massage 10-pack, versement 2 sur 3"),
}


@pytest.mark.parametrize("language", list(TG_VIEWS))
async def test_packages_a_quiet_pause_and_installments_on_telegram(
        tg, make_uow, clock, language):
    listed, earlier, example, note, installment = TG_VIEWS[language]
    maya = await _linked_maya(tg)
    async with make_uow() as uow:
        found = await uow.session.scalar(select(Patient).where(Patient.key == "maya"))
        found.locale = "en_CA" if language == "en" else language
        leo = await uow.session.scalar(select(Patient.id).where(Patient.key == "leo"))
        package = await uow.session.scalar(
            select(PatientPackage.id).where(PatientPackage.patient_id == found.id))
        await uow.commit()
    await maya.say("/start")
    await maya.press_data("packages", maya.keyboard_call())
    await maya.press_data(f"p{found.id}", maya.keyboard_call())
    assert maya.labels == [listed]
    page = await maya.press_data(f"pk{package}", maya.keyboard_call())
    assert earlier in page
    day = await maya.press_data("book", maya.keyboard_call())
    assert example in day, "no package question: straight to the day, with a real example"
    clock.advance(timedelta(hours=2))  # a pause: the day buttons are not acted on any more
    first_day = maya.keyboard_call().buttons[0][1]
    again = await maya.press_data(first_day, maya.keyboard_call())
    assert note in again and "Maya" in again
    await maya.press_data("memberships", maya.keyboard_call())
    reply = await maya.press_data(f"p{leo}", maya.keyboard_call())
    assert installment in reply and "(2/3)" not in reply
