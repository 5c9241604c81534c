"""A full scheduler pass over the whole clinic, then the outbox delivery rate.

``bot.scheduler.jobs.run_sweeps`` at the clinic's "now", when the membership periods of the last
few days are not invoiced yet, a quarter of recent invoices are unpaid, appointments of the next
day want reminders and packages near expiry want warnings (see :mod:`benchmarks.build`): the
figure is the wall time of the pass, every sweep included, with the garbage collector set as
``clinicbot serve`` and ``clinicbot jobs run`` set it (:func:`bot.collector.tuned`). Then the
delivery pass (``Deliverer.run_once``, repeated until nothing is due, at most
``Sizes.delivery_messages`` messages or ``Sizes.delivery_seconds``) sends the queued patient
messages by SMS through the real Twilio client to the local Twilio stand-in
(``tests/e2e/twilio_standin.py``); the figure is messages sent per second. It is measured
twice: with the stand-in answering at once (what the sender itself costs), and with every
answer ``Sizes.provider_round_trip`` late, as a provider across the internet answers (what a
pass achieves when most of a message's time is waiting). Passes are kept short
(``PASS_MESSAGES``) so the time limit holds within one pass. Staff alerts go to Telegram only,
so they stay queued here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.common import Bench, Figure, Stopwatch
from bot import collector
from bot.delivery.channels import Channels, SmsChannel
from bot.delivery.sender import Deliverer, DeliveryCounts, DeliveryPolicy
from bot.handlers.sms_sender import TwilioSender
from bot.scheduler.jobs import run_sweeps
from bot.storage.db import create_engine
from bot.storage.models import Membership, OutboxMessage
from tests.e2e.sms_harness import sms_settings
from tests.e2e.twilio_standin import LiveServer, TwilioStandin

PASS_MESSAGES = 200


async def measure(bench: Bench) -> list[Figure]:
    sizes = bench.sizes
    db = create_engine(bench.url)
    clock = bench.clock()
    try:
        async with db.connect() as conn:
            members = int(await conn.scalar(select(func.count()).select_from(Membership)) or 0)
        with collector.tuned(), Stopwatch() as sweep:  # as serve and `jobs run` run passes
            report = await run_sweeps(db, clock)
        async with db.connect() as conn:
            queued = int(await conn.scalar(
                select(func.count()).select_from(OutboxMessage)
                .where(OutboxMessage.status == "pending")) or 0)
        at_once = await deliver(bench, db, 0.0)
        late = await deliver(bench, db, sizes.provider_round_trip)
    finally:
        await db.dispose()
    sweeps = ", ".join(f"{name} {count}" for name, count in report.sweeps.items())
    return [
        Figure("scheduler pass", sweep.seconds, "s", "< 10 s", lambda v: v < 10,
               f"{members:,} memberships; created: {sweeps}; {queued:,} messages pending",
               {"memberships": members, "pending": queued,
                **{name: count or 0 for name, count in report.sweeps.items()}}),
        Figure("scheduler sweeps failed", sum(n is None for n in report.sweeps.values()),
               "sweeps", "0", lambda v: v == 0),
        at_once.figure("outbox delivery"),
        late.figure(f"outbox delivery, {sizes.provider_round_trip * 1000:.0f} ms round trip"),
    ]


@dataclass
class Delivered:
    """One delivery run: what the passes did, how long they took, what the stand-in got."""

    counts: DeliveryCounts
    seconds: float
    accepted: int

    def figure(self, name: str) -> Figure:
        rate = self.counts.sent / self.seconds if self.seconds else 0.0
        return Figure(name, rate, "msg/s",
                      detail=f"{self.counts} in {self.seconds:.1f} s; the stand-in accepted "
                             f"{self.accepted}",
                      counts={"sent": self.counts.sent, "accepted": self.accepted})


async def deliver(bench: Bench, db: AsyncEngine, round_trip: float) -> Delivered:
    """Delivery passes until nothing is due, ``delivery_messages`` were sent or
    ``delivery_seconds`` passed, the stand-in answering each request ``round_trip`` late."""
    sizes = bench.sizes
    standin = TwilioStandin()
    if round_trip:
        standin.hang_next(round_trip, times=sizes.delivery_messages + PASS_MESSAGES)
    total = DeliveryCounts()
    async with LiveServer(standin.app()) as server:
        settings = sms_settings(bench.url, 8080, TWILIO_API_BASE_URL=server.url)
        async with TwilioSender.from_settings(settings, timeout=10) as sender:
            deadline = time.monotonic() + sizes.delivery_seconds
            with Stopwatch() as delivery:
                while total.sent < sizes.delivery_messages and time.monotonic() < deadline:
                    policy = DeliveryPolicy(
                        max_messages=min(PASS_MESSAGES, sizes.delivery_messages - total.sent))
                    counts = await Deliverer(
                        db, bench.clock(), Channels([SmsChannel(sender)]), policy).run_once()
                    total.add(counts)
                    if counts.sent + counts.skipped + counts.held + counts.failed == 0:
                        break
    return Delivered(total, delivery.seconds, len(standin.sent))
