"""Downtime, opt-out and quiet hours over walked weeks of the example clinic (RULES.md 13, 14).

The clock ticks at 02:00 and 13:00 clinic time, as in test_reminders_walk; see there for who is
who. Unpaid reminders come 3, 10 and 24 days after the due date.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from bot.delivery.sender import DeliveryCounts
from bot.scheduler.jobs import run_all_once
from bot.services import accounts, memberships, outbox
from bot.storage.models import Invoice, Membership
from tests.booking_support import at, load_ids
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
from tests.integration.test_reminders_walk import book, invoice_id

pytestmark = pytest.mark.usefixtures("clinic")


async def test_a_week_of_downtime_is_caught_up_once(engine, clock, make_uow):
    async with make_uow() as uow:
        ids = await load_ids(uow)
        membership = await uow.session.scalar(
            select(Membership.id).where(Membership.patient_id == ids.sofia))
    missed = await book(make_uow, ids.sofia, ids.ben, ids.east, ids.massage, at("2026-11-28", 9))
    after = await book(make_uow, ids.maya, ids.ana, ids.downtown, ids.physio_follow,
                       at("2026-12-02", 15))
    leo_3rd = await invoice_id(make_uow, package_id=ids.leo_pack, installment_no=3)
    sofia_nov = await invoice_id(make_uow, membership_id=membership,
                                 period_start=date(2026, 11, 1))
    sms, telegram = FakeChannel("sms", clock), FakeChannel("telegram", clock)
    sender = deliverer(engine, clock, sms, telegram)

    await walk(engine, clock, sender, date(2026, 12, 5),
               down=(date(2026, 11, 24), date(2026, 12, 1)))
    for _ in range(2):  # running everything again, at once, changes nothing
        report = await run_all_once(engine, clock, sender)
        assert set(report.sweeps.values()) == {0} and report.delivery == DeliveryCounts()

    rows = await outbox_rows(make_uow)
    purpose = {row.provider_message_id: row.purpose for row in rows}
    got = [(d.address, d.local_day, purpose[d.provider_id]) for d in sms.delivered]
    assert len(got) == len(set(got))
    dec = await invoice_id(make_uow, membership_id=membership, period_start=date(2026, 12, 1))
    after_downtime = {g for g in got if g[1] >= date(2026, 11, 24)}
    assert after_downtime == {
        # The stage reached while down is sent once (not every stage missed).
        (MAYA, date(2026, 12, 2), f"invoice:{leo_3rd}:unpaid:10d"),
        (SOFIA, date(2026, 12, 2), f"invoice:{sofia_nov}:unpaid:24d"),
        # Reminded the day it is due, 02:00 queue, held to the end of quiet hours.
        (MAYA, date(2026, 12, 2), f"appointment:{after}:reminder:20261202T2000Z"),
        (SOFIA, date(2026, 12, 4), f"invoice:{dec}:unpaid:3d"),
    }, "no renewal reminder for a period that began while down, no reminder for a past visit"
    assert not [r for r in rows if r.purpose.startswith(f"appointment:{missed}:reminder")]
    # The missed appointment is raised to staff once, after the downtime.
    raised = [r for r in rows if r.kind == "no_show" and r.status == "sent"
              and r.params["appointment_id"] == missed]
    assert [local_day(r.sent_at) for r in raised] == [date(2026, 12, 2)]
    assert len(telegram.to(DESK_CHAT)) == len({d.text for d in telegram.to(DESK_CHAT)})

    async with make_uow(readonly=True) as uow:
        invoices = (await uow.session.execute(
            select(Invoice.period_start, Invoice.created_at)
            .where(Invoice.membership_id == membership).order_by(Invoice.period_start)
        )).tuples().all()
    starts = [start for start, _ in invoices]
    assert starts == [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)]
    assert invoices[-1][1].date() == date(2026, 12, 2), "caught up on the first tick back"


async def test_an_opted_out_patient_gets_nothing(engine, clock, make_uow):
    async with make_uow() as uow:
        ids = await load_ids(uow)
        await accounts.opt_out(uow, ids.sofia)
        await uow.commit()
    await book(make_uow, ids.sofia, ids.ben, ids.east, ids.massage, at("2026-11-14", 9))
    sms, telegram = FakeChannel("sms", clock), FakeChannel("telegram", clock)
    sender = deliverer(engine, clock, sms, telegram)

    await walk(engine, clock, sender, date(2026, 12, 5))

    assert sms.to(SOFIA) == []
    rows = await outbox_rows(make_uow)
    assert not [r for r in rows if r.patient_id == ids.sofia], "nothing is even queued"
    staff_about_sofia = [d for d in telegram.to(DESK_CHAT) if "Sofía Ramírez" in d.text]
    assert len(staff_about_sofia) == 3, "staff still hear of her unpaid invoices and no-show"
    assert sms.to(MAYA), "the others still get theirs"


async def test_a_patient_who_opts_out_after_queueing_is_skipped_at_send(engine, clock, make_uow):
    async with make_uow() as uow:
        ids = await load_ids(uow)
    sms = FakeChannel("sms", clock)
    sender = deliverer(engine, clock, sms)
    clock.set(at("2026-11-08", 2))  # Leo's 24-day reminder is queued, held until 08:00
    report = await run_all_once(engine, clock, sender)
    assert report.delivery is not None and report.delivery.held == 2  # and Sofía's 3-day one
    async with make_uow() as uow:
        await accounts.opt_out(uow, ids.maya)  # the guardian Leo's reminder goes to
        await uow.commit()

    clock.set(at("2026-11-08", 9))
    report = await run_all_once(engine, clock, sender)

    assert [d.address for d in sms.delivered] == [SOFIA]
    assert report.delivery is not None and report.delivery.skipped == 1
    [leo] = [r for r in await outbox_rows(make_uow) if r.patient_id == ids.leo]
    assert leo.status == "skipped" and "opted out" in (leo.last_error or "")


async def test_quiet_hours_hold_every_message_until_they_end(engine, clock, make_uow):
    async with make_uow() as uow:
        ids = await load_ids(uow)
    sms, telegram = FakeChannel("sms", clock), FakeChannel("telegram", clock)
    sender = deliverer(engine, clock, sms, telegram)
    clock.set(at("2026-11-02", 22, 30))
    async with make_uow() as uow:
        await outbox.enqueue(uow, purpose="test:patient", kind="renewal_reminder",
                             patient_id=ids.sofia, params={"membership_id": 1,
                                                           "period_start": "2026-12-01"})
        await outbox.enqueue(uow, purpose="test:staff", kind="unpaid", staff_id=1,
                             params={"invoice_id": 3, "patient_id": ids.leo})
        await uow.commit()

    held = await sender.run_once()
    clock.set(at("2026-11-03", 7, 59))
    early = await sender.run_once()
    clock.set(at("2026-11-03", 8))
    on_time = await sender.run_once()

    assert (held.held, early, on_time.sent) == (2, DeliveryCounts(), 2)
    rows = await outbox_rows(make_uow)
    assert {r.not_before for r in rows} == {at("2026-11-03", 8)}
    assert [d.at for d in sms.delivered + telegram.delivered] == [at("2026-11-03", 8)] * 2


async def test_a_membership_cancelled_before_renewal_gets_no_reminder_or_invoice(
    engine, clock, make_uow
):
    async with make_uow() as uow:
        ids = await load_ids(uow)
        membership = await uow.session.scalar(
            select(Membership).where(Membership.patient_id == ids.sofia))
        await memberships.cancel(uow, membership.id, date(2026, 12, 1))
        await uow.commit()
    sms = FakeChannel("sms", clock)
    await walk(engine, clock, deliverer(engine, clock, sms), date(2026, 12, 10))
    rows = await outbox_rows(make_uow)
    assert not [r for r in rows if r.kind == "renewal_reminder"]
    async with make_uow(readonly=True) as uow:
        later = (await uow.session.scalars(select(Invoice.id).where(
            Invoice.membership_id == membership.id,
            Invoice.period_start >= date(2026, 12, 1)))).all()
    assert later == []
    assert [r for r in rows if r.kind == "unpaid_reminder" and r.patient_id == ids.sofia], (
        "November is still owed and reminded")
