"""Scheduler processes sharing one database (issue 6): exactly once, and nothing lost when killed.

Each scheduler is a real OS process (this module run as a script, see :func:`worker`): its own
engine, a FixedClock, every sweep and one delivery pass per tick (``run_all_once``, what
``clinicbot serve`` and ``clinicbot jobs run`` run), SMS through twilio's client to the local
Twilio stand-in and Telegram through python-telegram-bot to the local Bot API stand-in. The test
moves both processes' clocks together, one tick at a time (so their leases mean the same
thing), and they do each tick's work at the same moment.

* Two processes walk the example clinic through November: every expected message reaches the
  stand-ins exactly once -- Maya's by SMS, Sofía's on Telegram (she linked her account), the
  desk's alerts in the desk's Telegram group -- on PostgreSQL and on SQLite.
* A process killed (SIGKILL) while the stand-in holds a send to each recipient loses nothing:
  once its claims expire, a new process sends the rest. The messages in flight at the kill may
  be sent twice (the documented crash window of bot/delivery/sender.py); no other.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import FixedClock
from bot.delivery.channels import Channel, Channels, SmsChannel
from bot.delivery.sender import Deliverer
from bot.handlers.sms_sender import TwilioSender
from bot.handlers.telegram_channel import outbox_channel
from bot.scheduler.jobs import run_all_once
from bot.services import accounts, appointments, outbox
from bot.storage.db import create_engine
from bot.storage.models import Invoice, Membership, OutboxMessage, Patient, guardianship
from tests.booking_support import at, load_ids
from tests.conftest import START
from tests.e2e.sms_harness import ACCOUNT_SID, FROM_NUMBER, TOKEN
from tests.e2e.telegram_standin import TOKEN as BOT_TOKEN
from tests.e2e.telegram_standin import TelegramStandin
from tests.e2e.twilio_standin import LiveServer, TwilioStandin

ROOT = Path(__file__).resolve().parents[2]
MAYA, SOFIA = "+14165550101", "+14165550102"
SOFIA_TELEGRAM, DESK_CHAT = 5550102, -1001234567890
NO_TELEGRAM = "-"
ANSWER_SECONDS = 120

pytestmark = pytest.mark.usefixtures("clinic")


# -- the scheduler process ---------------------------------------------------------------------


async def worker(database_url: str, twilio_url: str, telegram_url: str) -> None:
    """Read ``tick ISO`` lines; run everything as of that moment; answer one JSON line each."""
    engine = create_engine(database_url)
    clock = FixedClock(datetime(2026, 1, 1))
    sender = TwilioSender(ACCOUNT_SID, TOKEN, api_base_url=twilio_url, from_number=FROM_NUMBER,
                          timeout=60)
    found: list[Channel] = [SmsChannel(sender)]
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(engine.dispose)
        stack.push_async_callback(sender.close)
        if telegram_url != NO_TELEGRAM:
            found.append(await stack.enter_async_context(
                outbox_channel(BOT_TOKEN, telegram_url + "/bot")))
        deliverer = Deliverer(engine, clock, Channels(found))
        print("ready", flush=True)
        while line := await asyncio.to_thread(sys.stdin.readline):
            command, _, moment = line.strip().partition(" ")
            if command != "tick":
                break
            clock.set(datetime.fromisoformat(moment))
            report = await run_all_once(engine, clock, deliverer)
            delivered = report.delivery.sent if report.delivery else None
            print(json.dumps({"ok": report.ok, "sent": delivered}), flush=True)


class Scheduler:
    """One worker process, driven tick by tick."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, database_url: str, twilio_url: str, telegram_url: str = NO_TELEGRAM
                    ) -> Scheduler:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.e2e.test_scheduler_processes", database_url, twilio_url,
            telegram_url,
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )
        scheduler = cls(process)
        assert await scheduler.line() == "ready"
        return scheduler

    async def line(self) -> str:
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), ANSWER_SECONDS)
        assert raw, "the scheduler process died"
        return raw.decode().strip()

    def tick(self, moment: datetime) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"tick {moment.isoformat()}\n".encode())

    async def done(self) -> dict[str, object]:
        answer = json.loads(await self.line())
        assert answer["ok"], answer
        return answer

    async def stop(self) -> None:
        if self.process.returncode is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            await asyncio.wait_for(self.process.wait(), ANSWER_SECONDS)


@contextlib.asynccontextmanager
async def standin() -> AsyncIterator[tuple[TwilioStandin, str]]:
    twilio = TwilioStandin()
    async with LiveServer(twilio.app()) as live:
        yield twilio, live.url


async def sent_rows(database_url: str) -> list[Any]:
    """Every outbox row, read afresh."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(select(OutboxMessage.__table__))).all())
    finally:
        await engine.dispose()


# -- the tests ---------------------------------------------------------------------------------


async def test_two_schedulers_deliver_a_month_exactly_once(database_url, make_uow):
    async with make_uow() as uow:
        ids = await load_ids(uow)
        membership = await uow.session.scalar(
            select(Membership.id).where(Membership.patient_id == ids.sofia))
        invoices = {(row.package_id, row.installment_no, row.period_start): row.id
                    for row in await uow.session.scalars(select(Invoice))}
        await accounts.link_telegram(uow, ids.sofia, SOFIA_TELEGRAM)
        booked = {}
        for name, who, where, fee, when in (
            ("maya", ids.maya, (ids.ana, ids.downtown), ids.physio_follow, at("2026-11-10", 10)),
            ("leo", ids.leo, (ids.ben, ids.east), ids.massage, at("2026-11-18", 11)),
            ("sofia", ids.sofia, (ids.ben, ids.east), ids.massage, at("2026-11-21", 9)),
        ):
            appointment = await appointments.book(
                uow, patient_id=who, practitioner_id=where[0], location_id=where[1],
                fee_id=fee, starts_at=when, booked_by="staff")
            booked[name] = f"appointment:{appointment.id}:reminder:{when:%Y%m%dT%H%MZ}"
        await uow.commit()
    leo_2nd = invoices[(ids.leo_pack, 2, None)]
    leo_3rd = invoices[(ids.leo_pack, 3, None)]
    sofia_nov = invoices[(None, None, date(2026, 11, 1))]
    by_sms = {
        (MAYA, f"invoice:{leo_2nd}:unpaid:10d"), (MAYA, f"invoice:{leo_2nd}:unpaid:24d"),
        (MAYA, booked["maya"]), (MAYA, booked["leo"]),
        (MAYA, f"invoice:{leo_3rd}:unpaid:3d"), (MAYA, f"invoice:{leo_3rd}:unpaid:10d"),
    }
    on_telegram = {
        (SOFIA_TELEGRAM, f"invoice:{sofia_nov}:unpaid:3d"),
        (SOFIA_TELEGRAM, f"invoice:{sofia_nov}:unpaid:10d"),
        (SOFIA_TELEGRAM, f"invoice:{sofia_nov}:unpaid:24d"), (SOFIA_TELEGRAM, booked["sofia"]),
        (SOFIA_TELEGRAM, f"membership:{membership}:renewal:2026-12-01"),
    }

    telegram = TelegramStandin()
    async with standin() as (twilio, url), LiveServer(telegram.app) as api:
        schedulers = [await Scheduler.start(database_url, url, api.url) for _ in range(2)]
        try:
            day = date(2026, 11, 2)
            while day <= date(2026, 12, 2):
                for hour in (2, 13):
                    if at(day, hour) <= START:
                        continue
                    for scheduler in schedulers:
                        scheduler.tick(at(day, hour))
                    await asyncio.gather(*(s.done() for s in schedulers))
                day += timedelta(days=1)
        finally:
            for scheduler in schedulers:
                await scheduler.stop()

    everything = await sent_rows(database_url)
    unsent = [row for row in everything if row.status != "sent"]
    assert {(row.status, row.last_error) for row in unsent} == {
        ("skipped", "the staff member has no Telegram chat")}, "Ana's no-show alerts"
    assert all(row.staff_id is not None for row in unsent)
    rows = [row for row in everything if row.status == "sent"]
    by_id = {row.provider_message_id: row for row in rows}
    texts = twilio.sent
    chats = telegram.of("sendMessage")
    delivered = [by_id[m.sid].purpose for m in texts] + [
        by_id[f"{c.chat_id}:{c.params['_message_id']}"].purpose for c in chats]
    assert len(delivered) == len(rows) == len(set(delivered)), Counter(delivered)
    assert {(m.params["To"], by_id[m.sid].purpose) for m in texts} == by_sms
    to_sofia = {(c.chat_id, by_id[f"{c.chat_id}:{c.params['_message_id']}"].purpose)
                for c in chats if c.chat_id == SOFIA_TELEGRAM}
    assert to_sofia == on_telegram
    staff_rows = {row.purpose for row in rows if row.staff_id is not None}
    assert staff_rows and {c.chat_id for c in chats} == {SOFIA_TELEGRAM, DESK_CHAT}
    assert {by_id[f"{c.chat_id}:{c.params['_message_id']}"].purpose for c in chats
            if c.chat_id == DESK_CHAT} == staff_rows


async def test_a_scheduler_killed_mid_batch_loses_nothing(database_url, make_uow, clock):
    async with make_uow() as uow:
        ids = await load_ids(uow)
        for n in range(6):
            await outbox.enqueue(uow, purpose=f"batch:{n}", kind="unpaid_reminder",
                                 patient_id=(ids.leo, ids.sofia)[n % 2],
                                 params={"invoice_id": 3})
        await uow.commit()
    now = clock.now()

    async with standin() as (twilio, url):
        # The batch goes out per recipient (Leo's guardian, Sofia), each's messages in turn:
        # each one's first send is answered, each one's second hangs, and the process dies then.
        twilio.delays.extend([0.0, 0.0, 3.0, 3.0])
        first = await Scheduler.start(database_url, url)
        first.tick(now)
        for _ in range(ANSWER_SECONDS * 50):
            if len(twilio.received) >= 4:
                break
            await asyncio.sleep(0.02)
        first.process.kill()
        await first.process.wait()
        in_flight = twilio.received[2:4]
        recorded_before = [r for r in await sent_rows(database_url) if r.status == "sent"]
        assert len(recorded_before) == 2, "killed mid-batch: one sent per recipient, rest claimed"

        await asyncio.sleep(3.5)  # the stand-in accepts the message in flight (a crash window)
        second = await Scheduler.start(database_url, url)
        try:
            second.tick(now + timedelta(minutes=2))
            assert (await second.done())["sent"] == 0, "the dead process's claims still hold"
            second.tick(now + timedelta(minutes=6))  # its 5-minute lease has run out
            await second.done()
        finally:
            await second.stop()

    # (Leo's unpaid installment, found by the sweeps of the first tick, went out as well.)
    rows = [r for r in await sent_rows(database_url) if r.patient_id is not None]
    assert {r.status for r in rows} == {"sent"} and len(rows) == 7
    recorded = {r.provider_message_id for r in rows}
    assert recorded <= {m.sid for m in twilio.sent}
    unrecorded = [m for m in twilio.sent if m.sid not in recorded]
    assert len(twilio.sent) == 7 + len(unrecorded)
    assert all(m in in_flight for m in unrecorded), "a duplicate only of a message in flight"



async def test_a_killed_scheduler_resends_at_most_one_message_per_phone(database_url, make_uow,
                                                                        clock):
    """Maya is the guardian of Leo and three more children: their messages all go to her phone.
    They go one after the other (not one per profile at once), so a process killed while the
    stand-in holds a send leaves one message in flight per phone: at most one duplicate each."""
    async with make_uow() as uow:
        ids = await load_ids(uow)
        wards = [ids.leo]
        for n in range(3):
            child = Patient(first_name=f"Kid{n}", last_name="Chen", created_at=clock.now())
            uow.session.add(child)
            await uow.session.flush()
            await uow.session.execute(guardianship.insert().values(
                ward_id=child.id, guardian_id=ids.maya))
            wards.append(child.id)
        for n, who in enumerate([ids.maya, *wards, ids.sofia]):
            await outbox.enqueue(uow, purpose=f"family:{n}", kind="unpaid_reminder",
                                 patient_id=who, params={"invoice_id": 3})
        await uow.commit()
    now = clock.now()

    async with standin() as (twilio, url):
        twilio.hang_next(3.0, times=20)  # every send is held 3 s, then accepted
        first = await Scheduler.start(database_url, url)
        first.tick(now)
        for _ in range(ANSWER_SECONDS * 50):  # the first sends have reached the stand-in
            if len(twilio.received) >= 2:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.5)  # (anything else the process would send at once, too)
        first.process.kill()
        await first.process.wait()
        in_flight = list(twilio.received)
        await asyncio.sleep(3.5)  # the stand-in accepts what was in flight (the crash window)
        assert all(m.sid is not None for m in in_flight)
        second = await Scheduler.start(database_url, url)
        try:
            second.tick(now + timedelta(minutes=6))  # the dead process's leases have run out
            await second.done()
        finally:
            await second.stop()

    rows = [r for r in await sent_rows(database_url) if r.patient_id is not None]
    assert {r.status for r in rows} == {"sent"} and len(rows) == 7
    recorded = {r.provider_message_id for r in rows}
    unrecorded = [m for m in twilio.sent if m.sid not in recorded]
    print(f"in flight at the kill: {len(in_flight)}; sent twice: {len(unrecorded)}")
    assert len(twilio.sent) == len(rows) + len(unrecorded)
    assert all(m in in_flight for m in unrecorded), "a duplicate only of a message in flight"
    by_phone = Counter(m.params["To"] for m in in_flight)
    assert by_phone == {MAYA: 1, SOFIA: 1}, "one message in flight per phone"
    assert len(unrecorded) <= len(by_phone)


if __name__ == "__main__":
    asyncio.run(worker(sys.argv[1], sys.argv[2], sys.argv[3]))
