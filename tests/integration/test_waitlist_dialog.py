"""A waitlist offer by SMS and Telegram (issue 19): sent through the outbox, answered 1 or 2.

A walk-in's Tuesday 10:00 physio follow-up with Ana is cancelled on Monday at 08:00; Maya (and
Leo, through Maya, his guardian; and Sofía) wait for such a time. The delivery pass sends the
offer and puts the chat in the offer dialog, as a reminder does.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.dialogs.engine import Engine
from bot.dialogs.registry import build_dialogs
from bot.scheduler.jobs import run_all_once
from bot.services.waitlist import Wish
from bot.storage.models import Appointment, Clinic, Invoice, Patient, WaitlistEntry
from tests.booking_support import at, load_ids
from tests.dialogs.chat import Chat
from tests.integration.test_outbox_support import MAYA, SOFIA, FakeChannel, deliverer
from tests.integration.test_waitlist import booked, cancel, join, walk_in

pytestmark = pytest.mark.usefixtures("clinic")


async def offered(engine, clock, make_uow, *, who: str = "maya", telegram_user: int | None = None,
                  sofia_waits: bool = False):
    """A walk-in's 10:00 is cancelled with ``who`` waiting; the offers delivered (sms, telegram)."""
    async with make_uow() as uow:
        ids = await load_ids(uow)
        if telegram_user is not None:
            maya = await uow.session.get(Patient, ids.maya)
            assert maya is not None
            maya.telegram_user_id = telegram_user
            await uow.commit()
    appointment = await booked(make_uow, ids, await walk_in(make_uow))
    waiter = ids.maya if who == "maya" else ids.leo
    wish = Wish(fee_id=ids.physio_follow, practitioner_id=ids.ana)
    await join(make_uow, waiter, wish, acting=ids.maya)
    if sofia_waits:
        await join(make_uow, ids.sofia, wish)
    await cancel(make_uow, appointment)
    sms, telegram = FakeChannel("sms", clock), FakeChannel("telegram", clock)
    await run_all_once(engine, clock, deliverer(engine, clock, sms, telegram))
    return ids, sms, telegram


def offers_to(channel: FakeChannel, address: str):
    """The waitlist offers among what was sent (Leo's unpaid installment goes too)."""
    return [d for d in channel.to(address)
            if "opened up" in d.text or "se liberó" in d.text or "libéré" in d.text]


def sms_chat(engine, clock, phone: str = MAYA) -> Chat:
    return Chat(Engine(engine, clock, build_dialogs()), channel="sms", address=phone,
                phone=phone)


async def live(make_uow, patient: int) -> list[Appointment]:
    async with make_uow(readonly=True) as uow:
        rows = await uow.session.scalars(select(Appointment).where(
            Appointment.patient_id == patient, Appointment.status == "booked"))
        found = list(rows)
        uow.session.expunge_all()
        return found


async def test_the_offer_asks_for_1_or_2_and_1_books_it_with_the_package(
    engine, clock, make_uow
):
    ids, sms, _ = await offered(engine, clock, make_uow)
    [offer] = offers_to(sms, MAYA)
    assert offer.text == (
        "Harbour Physio & Wellness: a time opened up for Maya, held for you until 8:15 a.m.: "
        "Tue 3 Nov, 10:00 a.m., Physiotherapy follow-up with Ana Silva at Downtown. "
        "Reply 1 to book it or 2 to let it go.")
    assert "CANCEL" not in offer.text
    reply = await sms_chat(engine, clock).say("1")
    assert "Booked: Tue 3 Nov, 10:00 a.m." in reply.text
    [appointment] = await live(make_uow, ids.maya)
    assert appointment.starts_at == at("2026-11-03", 10)
    assert appointment.package_id == ids.maya_pack


async def test_2_passes_it_to_the_next_patient_who_answers_in_spanish(engine, clock, make_uow):
    ids, _, _ = await offered(engine, clock, make_uow, sofia_waits=True)
    reply = await sms_chat(engine, clock).say("2")
    assert "All right. You stay on the waitlist." in reply.text
    more = FakeChannel("sms", clock)
    await run_all_once(engine, clock, deliverer(engine, clock, more))
    [offer] = offers_to(more, SOFIA)
    assert offer.text.startswith("Harbour Physio & Wellness: se liberó un horario para Sofía")
    assert "Responda 1 para reservarlo o 2 para dejarlo." in offer.text
    reply = await sms_chat(engine, clock, SOFIA).say("sí")
    assert "Reservado" in reply.text
    assert [a.starts_at for a in await live(make_uow, ids.sofia)] == [at("2026-11-03", 10)]
    async with make_uow(readonly=True) as uow:
        maya_waits = await uow.session.scalar(select(WaitlistEntry.status).where(
            WaitlistEntry.patient_id == ids.maya))
    assert maya_waits == "waiting"


async def test_a_guardian_books_for_the_child_on_telegram_and_a_late_answer_is_told(
    engine, clock, make_uow
):
    ids, sms, telegram = await offered(engine, clock, make_uow, who="leo", telegram_user=777)
    assert offers_to(sms, MAYA) == []
    [offer] = offers_to(telegram, "777")
    assert "a time opened up for Leo" in offer.text
    assert [(o.key, o.label) for o in offer.options] == [("1", "Book it"), ("2", "Let it go")]
    await booked(make_uow, ids, ids.sofia)  # the desk books the time meanwhile
    chat = Chat(Engine(engine, clock, build_dialogs()), channel="telegram", address="777",
                phone=None, telegram_user_id=777)
    reply = await chat.send(choice="1")
    assert "Sorry, that time has gone. You stay on the waitlist" in reply.text
    assert await live(make_uow, ids.leo) == []


async def test_anything_else_asks_again(engine, clock, make_uow):
    await offered(engine, clock, make_uow)
    reply = await sms_chat(engine, clock).say("maybe")
    assert reply.text.startswith("Please reply 1 to book it or 2 to let it go.")


async def test_a_time_now_inside_the_booking_notice_is_refused_saying_why(
    engine, clock, make_uow
):
    ids, _, _ = await offered(engine, clock, make_uow)
    async with make_uow() as uow:  # the clinic now wants 30 hours' notice
        clinic = await uow.session.get(Clinic, 1)
        assert clinic is not None
        clinic.min_notice_minutes = 30 * 60
        await uow.commit()
    reply = await sms_chat(engine, clock).say("1")
    assert reply.text.startswith(
        "Sorry, that time is now too close to book online: the clinic needs 1800 minutes' "
        "notice. You stay on the waitlist and we will tell you if another one opens.")
    assert await live(make_uow, ids.maya) == []
    async with make_uow(readonly=True) as uow:
        waits = await uow.session.scalar(select(WaitlistEntry.status).where(
            WaitlistEntry.patient_id == ids.maya))
    assert waits == "waiting"
async def test_a_time_taken_without_a_package_asks_the_clinics_deposit(engine, clock, make_uow):
    """Issue 20: Sofía (no package) books from the waitlist where a deposit is asked."""
    async with make_uow() as uow:
        clinic = await uow.session.get(Clinic, 1)
        assert clinic is not None
        clinic.deposit, clinic.setup_version = Decimal("20.00"), clinic.setup_version + 1
        await uow.commit()
    ids, _, _ = await offered(engine, clock, make_uow, sofia_waits=True)
    await sms_chat(engine, clock).say("2")  # Maya lets it go: Sofía is offered it next
    more = FakeChannel("sms", clock)
    await run_all_once(engine, clock, deliverer(engine, clock, more))
    reply = await sms_chat(engine, clock, SOFIA).say("1")
    assert "Reservado" in reply.text and "20,00" in reply.text
    [appointment] = await live(make_uow, ids.sofia)
    async with make_uow(readonly=True) as uow:
        deposit = await uow.session.scalar(select(Invoice).where(
            Invoice.appointment_id == appointment.id, Invoice.kind == "deposit"))
        assert deposit is not None and deposit.amount == Decimal("20.00")
