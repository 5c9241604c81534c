"""The booking dialog's deposit step (issue 20), in English, Spanish and French.

The example clinic with ``[booking] deposit = "20.00"`` (held 120 minutes); the clock is Monday
2 November 2026, 08:00 in Toronto. Maya books a physio follow-up ($90) without her package;
Sofía (es, no package) books Ben's massage at East End.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.dialogs.base import Effect
from bot.dialogs.engine import Engine, EngineConfig
from bot.dialogs.registry import build_dialogs
from bot.storage.models import Appointment, Clinic, Invoice, Patient
from tests.dialogs.chat import Chat
from tests.dialogs.conftest import MAYA, SOFIA
from tests.dialogs.test_book import start_booking


async def ask_deposits(make_uow, amount: str | None = "20.00") -> None:
    """Set the clinic's deposit as loading ``[booking] deposit`` does."""
    async with make_uow() as uow:
        clinic = await uow.session.get(Clinic, 1)
        clinic.deposit = Decimal(amount) if amount else None
        clinic.setup_version += 1
        await uow.commit()


async def deposits_of(make_uow, key: str) -> list[tuple[int, str, Decimal, str]]:
    """(appointment id, kind, amount, status) of the patient's deposit invoices."""
    async with make_uow() as uow:
        rows = await uow.session.execute(
            select(Invoice.appointment_id, Invoice.kind, Invoice.amount, Invoice.status)
            .join(Patient, Patient.id == Invoice.patient_id)
            .where(Patient.key == key, Invoice.kind == "deposit"))
        return [tuple(row) for row in rows.tuples()]


async def appointment_ids(make_uow, key: str) -> list[int]:
    async with make_uow() as uow:
        return list((await uow.session.scalars(
            select(Appointment.id).join(Patient, Patient.id == Appointment.patient_id)
            .where(Patient.key == key).order_by(Appointment.id))).all())


async def _maya_books_without_package(chat: Chat):
    await start_booking(chat)
    await chat.choose("Without a package")
    await chat.choose("follow-up")
    await chat.choose("East End")
    await chat.choose("Fri 6 Nov")
    await chat.choose("Morning")
    await chat.choose("10:00 a.m.")
    return await chat.choose("Confirm")


async def test_booking_without_a_package_opens_the_deposit_payable_at_the_desk(
    chat, make_uow
):
    await ask_deposits(make_uow)
    reply = await _maya_books_without_package(chat)
    assert "Booked for Fri 6 Nov, 10:00 a.m." in reply.text
    assert ("A deposit of $20.00 keeps this time. If it is not paid by Mon 2 Nov, 10:00 a.m., "
            "the time is released.") in reply.text
    assert "You can pay it at the clinic's front desk." in reply.text
    [appointment_id] = await appointment_ids(make_uow, "maya")
    assert await deposits_of(make_uow, "maya") == [
        (appointment_id, "deposit", Decimal("20.00"), "open")]
    async with make_uow() as uow:
        assert await uow.session.scalar(select(Invoice.id).where(Invoice.kind == "deposit"))
    assert chat.outcome.effects == []  # payment links are off: nothing to send


async def test_with_payment_links_on_the_deposit_comes_with_a_link(engine, clock, clinic,
                                                                    make_uow):
    await ask_deposits(make_uow)
    bot = Engine(engine, clock, build_dialogs(), EngineConfig(payment_links=True))
    chat = Chat(bot, channel="sms", address=MAYA, phone=MAYA)
    reply = await _maya_books_without_package(chat)
    assert "A deposit of $20.00 keeps this time." in reply.text
    assert ("Your link to pay it online follows; the clinic's front desk takes it too."
            in reply.text)
    async with make_uow() as uow:
        deposit_id = await uow.session.scalar(select(Invoice.id).where(Invoice.kind == "deposit"))
    assert chat.outcome.effects == [Effect("payment_link", {"invoice_id": deposit_id})]


async def test_no_deposit_when_the_clinic_asks_none_or_a_package_covers_it(chat, make_uow):
    reply = await _maya_books_without_package(chat)
    assert "deposit" not in reply.text and chat.outcome.effects == []
    await ask_deposits(make_uow)
    await start_booking(chat)
    await chat.choose("Physio 5-pack")
    await chat.choose("Tue 3 Nov")
    await chat.choose("Morning")
    await chat.choose("10:00 a.m.")
    reply = await chat.choose("Confirm")
    assert "Physio 5-pack: 2 uses left." in reply.text and "deposit" not in reply.text
    assert await deposits_of(make_uow, "maya") == [], "package bookings never need a deposit"


def _telegram(engine, clock, phone: str, user_id: int) -> Chat:
    bot = Engine(engine, clock, build_dialogs(), EngineConfig(telegram_payments=True))
    return Chat(bot, channel="telegram", address=str(user_id), phone=phone,
                telegram_user_id=user_id)


async def test_on_telegram_the_deposit_is_paid_in_the_chat(engine, clock, clinic, make_uow):
    await ask_deposits(make_uow)
    chat = _telegram(engine, clock, MAYA, 8101)
    reply = await _maya_books_without_package(chat)
    assert "A deposit of $20.00 keeps this time." in reply.text
    assert "How would you like to pay the deposit?" in reply.text
    assert chat.labels == ["Pay now in Telegram", "Pay at the clinic"]
    assert chat.outcome.effects == []
    reply = await chat.choose("Pay now in Telegram")
    assert "We sent you an invoice to pay here." in reply.text
    async with make_uow() as uow:
        deposit_id = await uow.session.scalar(select(Invoice.id).where(Invoice.kind == "deposit"))
    assert chat.outcome.effects == [Effect("telegram_invoice", {"invoice_id": deposit_id})]


async def test_on_telegram_paying_at_the_desk_is_said_plainly(engine, clock, clinic, make_uow):
    await ask_deposits(make_uow)
    chat = _telegram(engine, clock, MAYA, 8102)
    await _maya_books_without_package(chat)
    reply = await chat.say("BACK")
    assert reply.text == "How would you like to pay the deposit?", "booked: never booked again"
    reply = await chat.choose("Pay at the clinic")
    assert "You can pay it at the clinic's front desk." in reply.text
    assert chat.outcome.effects == []
    assert len(await appointment_ids(make_uow, "maya")) == 1


SOFIA_BOOKS = {  # a later day: the deposit is held 120 minutes from 8:00 today
    "es": ("hola", "Confirmar", ("Un depósito de 20,00", "reserva esta hora. Si no se paga "
                                 "antes de lun 2 nov, 10:00, la hora queda libre."),
           "Puede pagarlo en la recepción de la clínica."),
    "fr": ("bonjour", "Confirmer", ("Un acompte de 20,00", "retient ce créneau. S'il n'est pas "
                                    "payé avant"),
           "Vous pouvez le payer à l'accueil de la clinique."),
}


@pytest.mark.parametrize("language", list(SOFIA_BOOKS))
async def test_the_deposit_step_in_sofias_language(make_chat, make_uow, language):
    greeting, confirm, deposit_line, desk_line = SOFIA_BOOKS[language]
    await ask_deposits(make_uow)
    async with make_uow() as uow:
        sofia = await uow.session.scalar(select(Patient).where(Patient.key == "sofia"))
        sofia.locale = language
        await uow.commit()
    chat = make_chat(SOFIA)
    await chat.say(greeting)
    await chat.say("1")
    await chat.choose("Massage therapy 60 min")
    await chat.say("2")  # the second day offered
    await chat.say("1")  # the first part of the day
    await chat.say("1")  # its first time
    reply = await chat.choose(confirm)
    assert all(part in reply.text for part in deposit_line) and desk_line in reply.text
    [(_, kind, amount, status)] = await deposits_of(make_uow, "sofia")
    assert (kind, amount, status) == ("deposit", Decimal("20.00"), "open")
