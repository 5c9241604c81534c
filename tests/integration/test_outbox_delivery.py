"""The delivery pass on both databases: claims and leases, retries, failures, opt-outs, channels.

The example clinic is loaded; the clock is Monday 2 November 2026, 08:00 in Toronto (outside
quiet hours). Messages go to fake channels (tests/integration/test_outbox_support.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.delivery import queue
from bot.delivery.channels import Channels, SmsChannel
from bot.delivery.errors import OptedOut, PermanentError, TransientError
from bot.delivery.sender import Deliverer, DeliveryPolicy
from bot.handlers.sms_sender import RecipientOptedOut, SmsRefused, SmsUnavailable
from bot.scheduler.jobs import run_all_once
from bot.services import appointments, billing, outbox, reminders
from bot.storage.models import Conversation, OutboxMessage, Patient
from tests.booking_support import at, load_ids
from tests.integration.test_outbox_support import (
    DESK_CHAT,
    MAYA,
    SOFIA,
    FakeChannel,
    deliverer,
    outbox_rows,
)
from tests.integration.test_reminders_walk import book
from tests.unit.test_pacing import Recorded

pytestmark = pytest.mark.usefixtures("clinic")


async def queue_unpaid(make_uow) -> None:
    """At 08:00 on 2 Nov, Leo's 2nd installment (due 15 Oct) is 18 days late: one reminder."""
    async with make_uow() as uow:
        assert await reminders.unpaid_reminders(uow) == 2  # Maya (for Leo), and the desk
        await uow.commit()


async def row(make_uow, purpose_start: str) -> OutboxMessage:
    [found] = [r for r in await outbox_rows(make_uow) if r.purpose.startswith(purpose_start)]
    return found


async def test_a_sent_message_records_channel_provider_id_time_and_text(engine, clock, make_uow):
    await queue_unpaid(make_uow)
    sms = FakeChannel("sms", clock)
    counts = await deliverer(engine, clock, sms).run_once()
    assert counts.sent == 1, "the desk's alert waits: no Telegram channel"
    [sent] = sms.delivered
    assert sent.address == MAYA and "Leo" in sent.text
    message = await row(make_uow, "invoice:3:unpaid")
    assert (message.status, message.channel, message.provider_message_id, message.sent_at,
            message.body, message.claimed_until) == ("sent", "sms", "sms-1", clock.now(),
                                                     sent.text, None)
    desk = await row(make_uow, "invoice:3:overdue")
    assert (desk.status, desk.attempts) == ("pending", 0)


async def test_transient_failures_back_off_then_fail_and_tell_the_desk(engine, clock, make_uow):
    await queue_unpaid(make_uow)
    sms = FakeChannel("sms", clock, fail=[TransientError("Twilio is down")] * 5)
    telegram = FakeChannel("telegram", clock)
    sender = deliverer(engine, clock, sms, telegram,
                       policy=DeliveryPolicy(max_attempts=5))
    waits = []
    for _ in range(5):
        counts = await sender.run_once()
        message = await row(make_uow, "invoice:3:unpaid")
        if message.status == "pending":
            waits.append(message.not_before - clock.now())
            assert counts.retried == 1 and message.attempts == len(waits)
            clock.set(message.not_before - timedelta(seconds=1))
            assert (await sender.run_once()).retried == 0, "not before its time"
            clock.set(message.not_before)
    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert (message.status, message.attempts) == ("failed", 5)
    assert "Twilio is down" in message.last_error and sms.delivered == []
    assert counts.failed == 1

    await sender.run_once()
    [alert] = [d for d in telegram.delivered if "could not be delivered" in d.text]
    assert alert.address == DESK_CHAT and "Leo Chen" in alert.text
    failed = await row(make_uow, f"outbox:{message.id}:failed")
    assert failed.kind == "delivery_failed" and set(failed.params) == {
        "outbox_id", "patient_id", "purpose"}


async def test_a_providers_retry_after_is_honoured(engine, clock, make_uow):
    await queue_unpaid(make_uow)
    sms = FakeChannel("sms", clock, fail=[TransientError("429", retry_after=600)])
    await deliverer(engine, clock, sms).run_once()
    message = await row(make_uow, "invoice:3:unpaid")
    assert message.not_before == clock.now() + timedelta(minutes=10)


async def test_a_permanent_refusal_fails_at_once(engine, clock, make_uow):
    await queue_unpaid(make_uow)
    sms = FakeChannel("sms", clock, fail=[PermanentError("bad number")])
    counts = await deliverer(engine, clock, sms).run_once()
    message = await row(make_uow, "invoice:3:unpaid")
    assert (counts.failed, message.status, message.last_error) == (1, "failed", "bad number")
    assert await row(make_uow, f"outbox:{message.id}:failed")


async def test_an_adapter_bug_is_retried_not_fatal(engine, clock, make_uow):
    await queue_unpaid(make_uow)
    sms = FakeChannel("sms", clock, fail=[RuntimeError("oops")])
    counts = await deliverer(engine, clock, sms).run_once()
    message = await row(make_uow, "invoice:3:unpaid")
    assert (counts.retried, message.status, message.attempts) == (1, "pending", 1)


async def test_an_unsubscribed_number_opts_the_patient_out(engine, clock, make_uow):
    await queue_unpaid(make_uow)
    async with make_uow() as uow:
        uow.session.add(Conversation(channel="sms", address=MAYA, state={},
                                     updated_at=clock.now()))
        await uow.commit()
    sms = FakeChannel("sms", clock, fail=[OptedOut("21610")])
    counts = await deliverer(engine, clock, sms).run_once()
    message = await row(make_uow, "invoice:3:unpaid")
    assert (counts.skipped, message.status) == (1, "skipped")
    async with make_uow(readonly=True) as uow:
        maya = await uow.session.scalar(select(Patient).where(Patient.phone == MAYA))
        chat = await uow.session.scalar(select(Conversation).where(Conversation.address == MAYA))
        assert maya.opted_out and chat.state.get("opted_out") is True


async def test_staff_alerts_go_to_chats_that_exist(engine, clock, make_uow):
    await queue_unpaid(make_uow)
    async with make_uow() as uow:
        await outbox.alert_staff(uow, alert="no_show", purpose="test",
                                 params={"no_show_id": 0, "appointment_id": 0})
        await uow.commit()
    telegram = FakeChannel("telegram", clock)
    await deliverer(engine, clock, telegram).run_once()
    rows = {r.purpose: r for r in await outbox_rows(make_uow)}
    assert rows["invoice:3:overdue:staff:1"].status == "sent"
    assert rows["test:staff:2"].status == "skipped"  # Ana has no chat
    assert rows["test:staff:1"].status == "skipped"  # nothing to say about no-show 0
    assert [d.address for d in telegram.delivered] == [DESK_CHAT]
    # Maya is not on Telegram, and this deployment has no SMS.
    assert rows["invoice:3:unpaid:10d"].status == "skipped"
    assert rows["invoice:3:unpaid:10d"].last_error == "no configured channel reaches the patient"


async def test_a_linked_telegram_account_is_preferred_to_sms(engine, clock, make_uow):
    await queue_unpaid(make_uow)
    async with make_uow() as uow:
        maya = await uow.session.scalar(select(Patient).where(Patient.phone == MAYA))
        maya.telegram_user_id = 4242
        await uow.commit()
    sms, telegram = FakeChannel("sms", clock), FakeChannel("telegram", clock)
    await deliverer(engine, clock, sms, telegram).run_once()
    assert sms.delivered == []
    # Maya's chat and the desk's are two destinations, sent at once: in either order.
    sent = {d.address: d.text for d in telegram.delivered}
    assert len(telegram.delivered) == 2 and set(sent) == {"4242", DESK_CHAT}
    assert "Leo" in sent["4242"]


async def test_what_no_longer_matters_is_skipped_at_send(engine, clock, make_uow):
    async with make_uow() as uow:
        ids = await load_ids(uow)
    first = await book(make_uow, ids.maya, ids.ana, ids.downtown, ids.physio_follow,
                       at("2026-11-03", 10))
    second = await book(make_uow, ids.sofia, ids.ben, ids.east, ids.massage,
                        at("2026-11-04", 9))
    await queue_unpaid(make_uow)
    clock.set(at("2026-11-03", 9, 30))
    async with make_uow() as uow:
        assert await reminders.appointment_reminders(uow) == 2
        await appointments.cancel(uow, first, by="staff")
        await billing.record_payment(uow, 3, (await billing.lock_invoice(uow, 3)).outstanding)
        await uow.commit()
    clock.set(at("2026-11-03", 9, 45))
    async with make_uow() as uow:  # Sofía's is moved to later that day: a new reminder
        await appointments.reschedule(uow, second, at("2026-11-04", 11), by="staff")
        await uow.commit()
    clock.set(at("2026-11-03", 11))
    sms = FakeChannel("sms", clock)
    await run_all_once(engine, clock, deliverer(engine, clock, sms))

    rows = {r.purpose: r for r in await outbox_rows(make_uow)}
    assert rows["invoice:3:unpaid:10d"].last_error == "the invoice is settled"
    assert rows[f"appointment:{first}:reminder:20261103T1500Z"].last_error == (
        "the appointment is no longer booked")
    assert rows[f"appointment:{second}:reminder:20261104T1400Z"].last_error == (
        "the appointment was moved")
    assert rows[f"appointment:{second}:reminder:20261104T1600Z"].status == "sent"
    assert [d.address for d in sms.delivered] == [SOFIA]


async def test_a_claim_is_held_by_one_sender_until_its_lease_expires(engine, clock, make_uow):
    await queue_unpaid(make_uow)
    lease = timedelta(minutes=5)
    async with make_uow() as uow:
        [mine] = await queue.claim_due(uow, limit=10, lease=lease, patients=True, staff=False)
        await uow.commit()
    async with make_uow() as uow:
        assert await queue.claim_due(uow, limit=10, lease=lease, patients=True,
                                     staff=False) == []
    clock.advance(lease)  # the first sender died: its claim runs out
    async with make_uow() as uow:
        [theirs] = await queue.claim_due(uow, limit=10, lease=lease, patients=True, staff=False)
        await uow.commit()
    assert theirs.message_id == mine.message_id and theirs.token > mine.token
    async with make_uow() as uow:
        assert not await queue.settle(uow, mine, status="sent"), "the late sender lost it"
        assert await queue.renew(uow, mine, lease) is None
        assert await queue.settle(uow, theirs, status="sent")
        await uow.commit()


async def test_claims_take_the_oldest_due_rows_whether_waiting_or_run_out(engine, clock,
                                                                          make_uow):
    """Rows waiting and rows whose sender's lease ran out are claimed oldest due first, across
    both (they are read apart, each in its index's order), never more than the limit."""
    lease = timedelta(minutes=5)
    start = clock.now()
    async with make_uow() as uow:
        ids = await load_ids(uow)
        for minutes in (10, 20, 30, 40, 50):  # due 10, 20 ... 50 minutes before now
            await outbox.enqueue(uow, purpose=f"order:{minutes}", kind="unpaid_reminder",
                                 patient_id=ids.sofia, params={"invoice_id": 3},
                                 not_before=start - timedelta(minutes=60 - minutes))
        await uow.commit()
    async with make_uow() as uow:  # a sender takes the two oldest, then dies
        dead = await queue.claim_due(uow, limit=2, lease=lease, patients=True, staff=False)
        await uow.commit()
    by_id = {r.id: r.purpose for r in await outbox_rows(make_uow)}
    assert [by_id[c.message_id] for c in dead] == ["order:10", "order:20"]
    async with make_uow() as uow:
        assert [by_id[c.message_id] for c in await queue.claim_due(
            uow, limit=2, lease=lease, patients=True, staff=False)] == ["order:30", "order:40"]
        await uow.rollback()
    clock.advance(lease)
    async with make_uow() as uow:
        taken = await queue.claim_due(uow, limit=3, lease=lease, patients=True, staff=False)
        await uow.commit()
    assert [by_id[c.message_id] for c in taken] == ["order:10", "order:20", "order:30"]
    async with make_uow() as uow:
        assert [by_id[c.message_id] for c in await queue.claim_due(
            uow, limit=5, lease=lease, patients=True, staff=False)] == ["order:40", "order:50"]


async def test_a_batch_held_at_night_lets_others_run_between_its_messages(engine, clock,
                                                                          make_uow):
    """Nothing is sent at night, so no network wait gives the event loop a turn, and SQLite's
    statements never yield it (bot.storage.sqlite_inline): the sender gives way itself."""
    clock.set(at("2026-11-02", 22))
    await queue_alternating(make_uow, "night", range(10))
    ticks = 0
    stop = asyncio.Event()

    async def tick() -> None:
        nonlocal ticks
        while not stop.is_set():  # stopped as soon as the pass ends
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(tick())
    try:
        counts = await deliverer(engine, clock, FakeChannel("sms", clock),
                                 policy=DeliveryPolicy(batch_size=10)).run_once()
    finally:
        stop.set()
        await ticker
    assert counts.held == 10
    assert ticks >= 10, "others ran at least once per message"


async def queue_alternating(make_uow, prefix: str, numbers: range):
    """An unpaid reminder for each number, Sofia's for even ones, Leo's (to his guardian Maya's
    phone) for odd ones; the clinic's ids."""
    async with make_uow() as uow:
        ids = await load_ids(uow)
        for n in numbers:
            await outbox.enqueue(uow, purpose=f"{prefix}:{n}", kind="unpaid_reminder",
                                 patient_id=ids.leo if n % 2 else ids.sofia,
                                 params={"invoice_id": 3})
        await uow.commit()
    return ids


async def test_two_senders_at_once_send_each_message_once(engine, clock, make_uow):
    await queue_alternating(make_uow, "load", range(30))
    sms = FakeChannel("sms", clock)
    policy = DeliveryPolicy(batch_size=3)
    one, two = deliverer(engine, clock, sms, policy=policy), deliverer(
        engine, clock, sms, policy=policy)
    first, second = await asyncio.gather(one.run_once(), two.run_once())
    assert first.sent + second.sent == 30 and len(sms.delivered) == 30
    assert len({d.provider_id for d in sms.delivered}) == 30


class FakeTwilio:
    def __init__(self, error: Exception | None) -> None:
        self.error = error

    async def send(self, to: str, body: str) -> str:
        if self.error is not None:
            raise self.error
        return "SM1"


@pytest.mark.parametrize(("error", "mapped"), [
    (RecipientOptedOut("x", status=400, code=21610), OptedOut),
    (SmsRefused("x", status=400, code=21211), PermanentError),
    (SmsUnavailable("x", status=503), TransientError),
])
async def test_the_sms_adapter_maps_twilio_errors(error, mapped):
    with pytest.raises(mapped):
        await SmsChannel(FakeTwilio(error)).send(MAYA, "hi")
    assert await SmsChannel(FakeTwilio(None)).send(MAYA, "hi") == "SM1"
    assert Channels([SmsChannel(FakeTwilio(None))]).reach_staff is False


class Overlapping(FakeChannel):
    """Holds each send until ``wanted`` sends are in flight at once (at most ``patience``
    seconds, then goes on); records the most in flight, overall and per address."""

    def __init__(self, name: str, clock, wanted: int, patience: float = 5.0) -> None:
        super().__init__(name, clock)
        self.wanted = wanted
        self.patience = patience
        self.reached = asyncio.Event()
        self.in_flight: list[str] = []
        self.most = 0
        self.most_per_address = 0

    async def send(self, address, text, options=()):
        self.in_flight.append(address)
        self.most = max(self.most, len(self.in_flight))
        self.most_per_address = max(self.most_per_address, self.in_flight.count(address))
        if self.most >= self.wanted:
            self.reached.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.reached.wait(), self.patience)
        try:
            return await super().send(address, text, options)
        finally:
            self.in_flight.remove(address)


async def test_a_batch_goes_out_at_once_one_recipient_in_order(engine, clock, make_uow):
    # Sofia 0, 2, 4; Leo (to his guardian Maya's phone) 1, 3
    ids = await queue_alternating(make_uow, "batch", range(5))
    sms = Overlapping("sms", clock, wanted=2)
    counts = await deliverer(engine, clock, sms, policy=DeliveryPolicy(batch_size=10)).run_once()
    assert counts.sent == 5 and sms.most == 2, "two recipients' messages were in flight at once"
    assert sms.most_per_address == 1
    rows = sorted((r for r in await outbox_rows(make_uow) if r.purpose.startswith("batch:")),
                  key=lambda r: r.id)
    for patient in (ids.sofia, ids.leo):  # each one's messages were sent in the order queued
        sent = [int(r.provider_message_id.split("-")[1]) for r in rows if r.patient_id == patient]
        assert sent == sorted(sent)


async def test_while_requests_flow_a_paced_batch_goes_out_one_recipient_at_a_time(
        engine, clock, make_uow):
    """Sends in flight at once put as many tasks before a webhook's every step (bot.pacing's
    width): while requests flow, the batch's recipients take turns; idle, they go together."""
    await queue_alternating(make_uow, "paced", range(4))
    pacing = Recorded()
    pacing.traffic.seen()  # a webhook just came in
    busy = Overlapping("sms", clock, wanted=2, patience=0.05)
    counts = await Deliverer(engine, clock, Channels([busy]), DeliveryPolicy(batch_size=2),
                             pacing=pacing).run_once()
    assert counts.sent == 4 and busy.most == 1  # never two recipients at once
    assert len(pacing.worked) == 2  # and a pause after each batch
    await queue_alternating(make_uow, "paced", range(4, 6))
    pacing.traffic.last -= 60  # nobody has texted for a minute
    idle = Overlapping("sms", clock, wanted=2)
    counts = await Deliverer(engine, clock, Channels([idle]), DeliveryPolicy(batch_size=2),
                             pacing=pacing).run_once()
    assert counts.sent == 2 and idle.most == 2


async def test_a_paced_pass_pauses_after_every_batch(engine, clock, make_uow):
    """``serve`` hands its sender a pacing (bot.pacing): after each batch it pauses, so a long
    queue (a sweep's thousands of reminders) gives way to webhooks while they flow."""
    await queue_unpaid(make_uow)
    sms = FakeChannel("sms", clock)
    pacing = Recorded()
    sender = Deliverer(engine, clock, Channels([sms]), DeliveryPolicy(batch_size=1),
                       pacing=pacing)
    counts = await sender.run_once()
    assert counts.sent == 1 and len(sms.delivered) == 1  # the desk's alert waits for Telegram
    assert len(pacing.worked) == 1 and pacing.worked[0] >= 0  # one batch, one pause
