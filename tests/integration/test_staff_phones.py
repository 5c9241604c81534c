"""Staff alerts by SMS (issue 17): a staff member with a ``phone`` and no Telegram chat gets their
alerts texted; Telegram stays preferred when it reaches them; staff without either keep theirs
queued; quiet hours hold them as they hold every alert; a staff phone that unsubscribes at the
provider opts no patient out. The example clinic; 08:00 Monday 2 November in Toronto."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.delivery.errors import OptedOut
from bot.services import outbox
from bot.storage.models import Patient, Staff
from tests.booking_support import at
from tests.integration.test_outbox_delivery import queue_unpaid
from tests.integration.test_outbox_support import (
    DESK_CHAT,
    MAYA,
    FakeChannel,
    deliverer,
    outbox_rows,
)

pytestmark = pytest.mark.usefixtures("clinic")
DESK_PHONE = "+14165550177"


async def _phones(make_uow, **phones: str | None) -> None:
    async with make_uow() as uow:
        for key, phone in phones.items():
            member = await uow.session.scalar(select(Staff).where(Staff.key == key))
            member.phone = phone
        await uow.commit()


async def test_a_staff_phone_gets_alerts_by_sms_when_no_chat_reaches_it(engine, clock, make_uow):
    await _phones(make_uow, desk=DESK_PHONE)
    await queue_unpaid(make_uow)
    async with make_uow() as uow:  # Ana (no phone) asked for no-show alerts too
        await outbox.alert_staff(uow, alert="no_show", purpose="test", params={})
        await uow.commit()
    sms = FakeChannel("sms", clock)
    counts = await deliverer(engine, clock, sms).run_once()
    assert [d.address for d in sms.to(DESK_PHONE)] == [DESK_PHONE]
    assert sms.to(DESK_PHONE)[0].text.startswith("Unpaid: invoice 3 of Leo Chen (patient 2)")
    rows = {r.purpose: r for r in await outbox_rows(make_uow)}
    assert rows["invoice:3:overdue:staff:1"].channel == "sms"
    assert rows["test:staff:2"].status == "pending", "Ana: no phone, no Telegram: queued"
    assert counts.sent == 2  # Maya's reminder and the desk's alert


async def test_telegram_is_preferred_when_it_reaches_the_staff_member(engine, clock, make_uow):
    await _phones(make_uow, desk=DESK_PHONE)
    await queue_unpaid(make_uow)
    sms, telegram = FakeChannel("sms", clock), FakeChannel("telegram", clock)
    await deliverer(engine, clock, sms, telegram).run_once()
    assert [d.address for d in telegram.delivered] == [DESK_CHAT]
    assert sms.to(DESK_PHONE) == []


async def test_quiet_hours_hold_a_staff_sms(engine, clock, make_uow):
    await _phones(make_uow, desk=DESK_PHONE)
    await queue_unpaid(make_uow)
    clock.set(at("2026-11-02", 22))
    sms = FakeChannel("sms", clock)
    counts = await deliverer(engine, clock, sms).run_once()
    assert sms.delivered == [] and counts.held == 2


async def test_a_staff_phone_that_unsubscribed_opts_no_patient_out(engine, clock, make_uow):
    await _phones(make_uow, desk=MAYA)  # the desk's phone is also Maya's (a family clinic)
    async with make_uow() as uow:
        await outbox.alert_staff(uow, alert="unpaid", purpose="test",
                                 params={"invoice_id": 3, "patient_id": 2})
        await uow.commit()
    sms = FakeChannel("sms", clock, fail=[OptedOut("21610")])
    counts = await deliverer(engine, clock, sms).run_once()
    assert counts.skipped == 1
    async with make_uow(readonly=True) as uow:
        maya = await uow.session.scalar(select(Patient).where(Patient.phone == MAYA))
        assert maya.opted_out is False
