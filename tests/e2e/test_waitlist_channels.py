"""A waitlist offer end to end (issue 19): by SMS (Twilio's REST stand-in out, signed webhooks
in) and on Telegram (the Bot API stand-in), through the real server.

Monday 2 November 2026, 08:00 in Toronto. Sofía's Tuesday 10:00 physio follow-up with Ana is
booked; Maya joins the waitlist; the desk cancels Sofía's appointment; one delivery pass sends
Maya the offer, and her answer books it with her Physio 5-pack.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from telegram import Bot

from bot.delivery.channels import Channels, SmsChannel
from bot.delivery.sender import Deliverer
from bot.handlers.sms_sender import TwilioSender
from bot.handlers.telegram_channel import TelegramChannel
from bot.services import appointments, waitlist
from bot.services.waitlist import Wish
from bot.storage.models import Appointment, WaitlistOffer
from tests.booking_support import Ids, at, load_ids
from tests.dialogs.conftest import MAYA
from tests.e2e.sms_harness import ACCOUNT_SID, FROM_NUMBER, TOKEN, SmsPatient, sms_server
from tests.e2e.telegram_harness import TgUser, telegram_server
from tests.e2e.telegram_standin import TOKEN as BOT_TOKEN
from tests.e2e.test_scheduler_processes import standin

pytestmark = pytest.mark.usefixtures("clinic")
TUESDAY_10 = at("2026-11-03", 10)


async def sofia_booked(make_uow) -> tuple[Ids, int]:
    async with make_uow() as uow:
        ids = await load_ids(uow)
        booked = await appointments.book(
            uow, patient_id=ids.sofia, practitioner_id=ids.ana, location_id=ids.downtown,
            fee_id=ids.physio_follow, starts_at=TUESDAY_10, booked_by="staff")
        await uow.commit()
        return ids, booked.id


async def desk_cancels(make_uow, appointment_id: int) -> None:
    async with make_uow() as uow:
        await appointments.cancel(uow, appointment_id, by="staff")
        await uow.commit()


async def mayas_appointment(make_uow, ids: Ids) -> Appointment | None:
    async with make_uow(readonly=True) as uow:
        found = await uow.session.scalar(select(Appointment).where(
            Appointment.patient_id == ids.maya, Appointment.status == "booked"))
        if found is not None:
            uow.session.expunge(found)
        return found


async def test_an_offer_by_sms_is_booked_by_replying_1(database_url, clock, engine, make_uow):
    ids, booked = await sofia_booked(make_uow)
    async with make_uow() as uow:
        await waitlist.join(uow, ids.maya, Wish(fee_id=ids.physio_follow,
                                                practitioner_id=ids.ana))
        await uow.commit()
    await desk_cancels(make_uow, booked)
    async with standin() as (twilio_api, url):
        sender = TwilioSender(ACCOUNT_SID, TOKEN, api_base_url=url, from_number=FROM_NUMBER)
        try:
            await Deliverer(engine, clock, Channels([SmsChannel(sender)])).run_once()
        finally:
            await sender.close()
        [offer] = [m for m in twilio_api.received if "a time opened up" in m.params["Body"]]
    assert offer.params["To"] == MAYA
    assert offer.params["Body"].endswith("Reply 1 to book it or 2 to let it go.")
    assert "CANCEL" not in offer.params["Body"]
    async with sms_server(database_url, clock) as twilio:
        maya = SmsPatient(twilio, MAYA)
        reply = await maya.say("1")
    assert "Booked: Tue 3 Nov, 10:00 a.m." in reply
    appointment = await mayas_appointment(make_uow, ids)
    assert appointment is not None and appointment.starts_at == TUESDAY_10
    assert appointment.package_id == ids.maya_pack


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_on_telegram_maya_joins_with_buttons_and_books_the_offer(
        database_url, clock, engine, make_uow, mode):
    ids, booked = await sofia_booked(make_uow)
    async with telegram_server(database_url, clock, mode=mode) as tg:
        maya = TgUser(tg, 7001, "Maya")
        await maya.say("/start")
        await maya.share_contact("+14165550101")
        await maya.press("Book an appointment")
        await maya.press("Maya")
        await maya.press("Physio 5-pack")
        await maya.press("Tue 3 Nov")
        await maya.press("Tell me if something opens")  # offered with the parts of the day
        await maya.press("Tuesday")
        await maya.press("Done")
        await maya.press("Mornings")
        await maya.press("Done")
        reply = await maya.press("Confirm")
        assert "You are on the waitlist until" in reply
        await desk_cancels(make_uow, booked)
        start = len(tg.standin.calls)
        async with Bot(BOT_TOKEN, base_url=tg.settings.telegram_api_base_url) as bot:
            await Deliverer(engine, clock, Channels([TelegramChannel(bot)])).run_once()
        offer = await tg.wait_for(lambda c: c.chat_id == 7001 and "opened up" in c.text,
                                  after=start)
        assert [label for label, _ in offer.buttons] == ["Book it", "Let it go"]
        reply = await maya.press("Book it", call=offer)
        assert "Booked: Tue 3 Nov, 10:00 a.m." in reply
    appointment = await mayas_appointment(make_uow, ids)
    assert appointment is not None and appointment.starts_at == TUESDAY_10
    async with make_uow(readonly=True) as uow:
        assert await uow.session.scalar(select(WaitlistOffer.status)) == "accepted"
