"""Three months of the example clinic, day by day (RULES.md 8, 13-16; issue 6's checks).

A FixedClock ticks at 02:00 and 13:00 clinic time (quiet hours are 21:00-08:00: what is queued
at 02:00 waits) from Monday 2 November 2026 to 5 February 2027; each tick runs every sweep and
one delivery pass on fake SMS and Telegram channels. Every message must arrive on its day, once,
in its recipient's language; invoices appear on their period's first day.

The example clinic: Maya (en_CA, +1 416 555 0101) with a Physio 5-pack and her son Leo (no phone:
his messages go to Maya) with a Massage 10-pack in three installments (the 2nd was due 15
October, the 3rd is due 15 November); Sofía (es) with a monthly membership from 1 September,
paid through October. Unpaid reminders 3, 10 and 24 days after the due date; appointment
reminders 24 hours before; package expiry warnings 14 days before.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.services import appointments, billing, package_admin
from bot.storage.models import Invoice, Membership
from tests.booking_support import TORONTO, at, load_ids
from tests.integration.test_outbox_support import (
    DESK_CHAT,
    MAYA,
    SOFIA,
    FakeChannel,
    deliverer,
    local_day,
    outbox_rows,
    walk,
)

pytestmark = pytest.mark.usefixtures("clinic")


async def book(make_uow, patient: int, practitioner: int, location: int, fee: int,
               starts_at: datetime) -> int:
    async with make_uow() as uow:
        appointment = await appointments.book(
            uow, patient_id=patient, practitioner_id=practitioner, location_id=location,
            fee_id=fee, starts_at=starts_at, booked_by="staff",
        )
        await uow.commit()
        return appointment.id


def action(make_uow, work):
    async def run() -> None:
        async with make_uow() as uow:
            await work(uow)
            await uow.commit()
    return run


async def invoice_id(make_uow, **where: object) -> int:
    async with make_uow(readonly=True) as uow:
        stmt = select(Invoice.id)
        for column, value in where.items():
            stmt = stmt.where(getattr(Invoice, column) == value)
        found = (await uow.session.scalars(stmt)).all()
        assert len(found) == 1, (where, found)
        return found[0]


async def test_three_months_every_message_on_its_day_once_in_its_language(
    engine, clock, make_uow
):
    async with make_uow() as uow:
        ids = await load_ids(uow)
        sofia_membership = await uow.session.scalar(
            select(Membership.id).where(Membership.patient_id == ids.sofia))
        await package_admin.change_expiry(uow, ids.maya_pack, date(2026, 12, 20))
        await uow.commit()
    physio = (ids.ana, ids.downtown, ids.physio_follow)
    massage = (ids.ben, ids.east, ids.massage)
    maya_10th = await book(make_uow, ids.maya, *physio, at("2026-11-10", 10))
    maya_12th = await book(make_uow, ids.maya, *physio, at("2026-11-12", 10))
    maya_moved = await book(make_uow, ids.maya, *physio, at("2026-11-17", 14))
    leo_18th = await book(make_uow, ids.leo, *massage, at("2026-11-18", 11))
    sofia_5th = await book(make_uow, ids.sofia, *massage, at("2026-12-05", 9))
    leo_2nd = await invoice_id(make_uow, package_id=ids.leo_pack, installment_no=2)
    leo_3rd = await invoice_id(make_uow, package_id=ids.leo_pack, installment_no=3)
    sofia_nov = await invoice_id(make_uow, membership_id=sofia_membership,
                                 period_start=date(2026, 11, 1))

    events = [
        (at("2026-11-05", 10), action(make_uow, lambda uow: appointments.cancel(
            uow, maya_12th, by="staff"))),
        (at("2026-11-10", 10, 5), action(make_uow, lambda uow: appointments.arrive(
            uow, maya_10th))),
        (at("2026-11-10", 15), action(make_uow, lambda uow: appointments.reschedule(
            uow, maya_moved, at("2026-11-19", 10, 30), by="staff"))),
        (at("2026-11-15", 10), action(make_uow, lambda uow: billing.record_payment(
            uow, sofia_nov, Decimal("49.00")))),
    ]
    sms, telegram = FakeChannel("sms", clock), FakeChannel("telegram", clock)
    await walk(engine, clock, deliverer(engine, clock, sms, telegram), date(2027, 2, 5),
               events=events)

    sofia_invoices = {}
    for start in (date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1)):
        sofia_invoices[start] = await invoice_id(
            make_uow, membership_id=sofia_membership, period_start=start)
    dec, jan, feb = sofia_invoices.values()
    m = sofia_membership
    expected = {
        # Maya's phone: her reminders and Leo's.
        (MAYA, date(2026, 11, 2), f"invoice:{leo_2nd}:unpaid:10d"),  # 18 days late at start
        (MAYA, date(2026, 11, 8), f"invoice:{leo_2nd}:unpaid:24d"),
        (MAYA, date(2026, 11, 9), f"appointment:{maya_10th}:reminder:20261110T1500Z"),
        (MAYA, date(2026, 11, 17), f"appointment:{leo_18th}:reminder:20261118T1600Z"),
        (MAYA, date(2026, 11, 18), f"invoice:{leo_3rd}:unpaid:3d"),
        (MAYA, date(2026, 11, 18), f"appointment:{maya_moved}:reminder:20261119T1530Z"),
        (MAYA, date(2026, 11, 25), f"invoice:{leo_3rd}:unpaid:10d"),
        (MAYA, date(2026, 12, 6), f"package:{ids.maya_pack}:expiry:2026-12-20"),
        (MAYA, date(2026, 12, 9), f"invoice:{leo_3rd}:unpaid:24d"),
        # Sofía: November paid on the 15th, so no 24-day reminder for it.
        (SOFIA, date(2026, 11, 4), f"invoice:{sofia_nov}:unpaid:3d"),
        (SOFIA, date(2026, 11, 11), f"invoice:{sofia_nov}:unpaid:10d"),
        (SOFIA, date(2026, 11, 28), f"membership:{m}:renewal:2026-12-01"),
        (SOFIA, date(2026, 12, 4), f"invoice:{dec}:unpaid:3d"),
        (SOFIA, date(2026, 12, 4), f"appointment:{sofia_5th}:reminder:20261205T1400Z"),
        (SOFIA, date(2026, 12, 11), f"invoice:{dec}:unpaid:10d"),
        (SOFIA, date(2026, 12, 25), f"invoice:{dec}:unpaid:24d"),
        (SOFIA, date(2026, 12, 29), f"membership:{m}:renewal:2027-01-01"),
        (SOFIA, date(2027, 1, 4), f"invoice:{jan}:unpaid:3d"),
        (SOFIA, date(2027, 1, 11), f"invoice:{jan}:unpaid:10d"),
        (SOFIA, date(2027, 1, 25), f"invoice:{jan}:unpaid:24d"),
        (SOFIA, date(2027, 1, 29), f"membership:{m}:renewal:2027-02-01"),
        (SOFIA, date(2027, 2, 4), f"invoice:{feb}:unpaid:3d"),
    }
    rows = await outbox_rows(make_uow)
    purpose = {row.provider_message_id: row.purpose for row in rows if row.status == "sent"}
    got = [(d.address, d.local_day, purpose[d.provider_id]) for d in sms.delivered]
    assert len(got) == len(set(got)), "a message was delivered twice"
    assert set(got) == expected

    desk = {(d.local_day, purpose[d.provider_id].rsplit(":staff:", 1)[0])
            for d in telegram.to(DESK_CHAT)}
    no_show_alerts = sorted(p for _, p in desk if p.startswith("noshow:"))
    assert len(telegram.delivered) == len(desk) == 9, "only the desk has a chat; each once"
    assert {(day, p) for day, p in desk if not p.startswith("noshow:")} == {
        (date(2026, 11, 2), f"invoice:{leo_2nd}:overdue"),
        (date(2026, 11, 4), f"invoice:{sofia_nov}:overdue"),
        (date(2026, 11, 18), f"invoice:{leo_3rd}:overdue"),
        (date(2026, 12, 4), f"invoice:{dec}:overdue"),
        (date(2027, 1, 4), f"invoice:{jan}:overdue"),
        (date(2027, 2, 4), f"invoice:{feb}:overdue"),
    }
    # Leo's, Sofía's and Maya's moved appointment were never marked arrived.
    assert sorted(day for day, p in desk if p.startswith("noshow:")) == [
        date(2026, 11, 18), date(2026, 11, 19), date(2026, 12, 5)]
    assert len(no_show_alerts) == 3
    ana_rows = [r for r in rows if r.kind == "no_show" and r.status != "sent"]
    assert {r.status for r in ana_rows} == {"skipped"} and len(ana_rows) == 3

    # Nothing was sent at the 02:00 ticks (quiet hours): it waited for the next tick.
    local_hours = {d.at.astimezone(TORONTO).hour for d in sms.delivered + telegram.delivered}
    assert local_hours == {13}

    # Sofía reads Spanish (money, dates); Maya Canadian English.
    renewal = next(d for d in sms.to(SOFIA) if d.local_day == date(2026, 11, 28))
    assert "se renueva" in renewal.text
    assert "1 dic 2026" in renewal.text and "49,00" in renewal.text
    reminder = next(d for d in sms.to(SOFIA) if d.local_day == date(2026, 12, 4)
                    and "sáb 5 dic, 09:00" in d.text)
    assert "Responda C para confirmar" in reminder.text and "CANCEL" not in reminder.text
    maya_reminder = next(d for d in sms.to(MAYA) if d.local_day == date(2026, 11, 9))
    assert "Tue 10 Nov, 10:00 a.m." in maya_reminder.text
    assert "Reply C to confirm, R to reschedule or X to cancel." in maya_reminder.text
    leo_reminder = next(d for d in sms.to(MAYA) if d.local_day == date(2026, 11, 17))
    assert "Leo" in leo_reminder.text and "Massage therapy 60 min" in leo_reminder.text
    expiry = next(d for d in sms.to(MAYA) if d.local_day == date(2026, 12, 6))
    assert "Dec 20, 2026" in expiry.text and "1 use left" in expiry.text
    leo_unpaid = next(d for d in sms.to(MAYA) if d.local_day == date(2026, 11, 2))
    assert "$330.00" in leo_unpaid.text and "18 days ago" in leo_unpaid.text
    assert "(Massage 10-pack, payment 2 of 3)" in leo_unpaid.text, "no nested parentheses"

    # The no-show alert for Leo's package appointment offers the desk its choices as buttons;
    # raised because nobody marked the visit, it also offers Arrived / No-show first.
    [leo_alert] = [d for d in telegram.delivered if d.local_day == date(2026, 11, 18)
                   and d.text.startswith("No-show")]
    assert [o.label for o in leo_alert.options] == [
        "Arrived", "No-show", "Redeem package use", "Missed appointment fee ($45.00)",
        "Late cancellation fee ($30.00)"]

    # Membership invoices were created on their period's first day, one per period.
    async with make_uow(readonly=True) as uow:
        created = {
            invoice.period_start: local_day(invoice.created_at)
            for invoice in await uow.session.scalars(
                select(Invoice).where(Invoice.membership_id == sofia_membership,
                                      Invoice.period_start >= date(2026, 12, 1)))
        }
    assert created == {start: start for start in sofia_invoices}

