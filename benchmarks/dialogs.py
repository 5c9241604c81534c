"""Dialog turns per second and latency, in process, with concurrent SMS conversations.

``Sizes.conversations`` known patients (each with a usable package) talk to one
:class:`bot.dialogs.engine.Engine` at once, as the SMS handler would call it. Each repeats a
round of turns: ``MENU`` (menu), "My packages" (packages), ``MENU``, "Book an appointment"
(book), then answers the booking questions -- package, treatment, practitioner and place, day,
time (the answers whose reply lists days or times count as *availability* turns), and finally
``Confirm`` (a *booking* turn, which books the appointment and reserves a package use). The
choice at each question is random (seeded), so the conversations spread over practitioners,
days and times as patients do; a time taken meanwhile is answered with fresh times, as in
production. An apology (an unexpected error in a turn) is counted.

Two runs, because one cannot measure both figures (Little's law: with 50 conversations always
waiting for an answer, the mean latency *is* 50 / throughput, 100 ms at 500 turns/s):

* **capacity**: every patient answers the moment the reply arrives; turns per second is all
  turns over the wall time.
* **paced**: every patient sends at planned moments, a random (exponential) pause apart, so
  that all of them together offer a given rate of turns per second; a patient still waiting for
  an answer sends as soon as it comes. Latency runs from the *planned* moment to the answer, so
  time spent waiting for the event loop or for an earlier answer counts (no coordinated
  omission). One paced run per offered rate: :data:`TARGET_RATE` (the target's rate: p99 < 50 ms
  on SQLite, < 100 ms on PostgreSQL) and ``Sizes.paced_rate``, or the rates given in
  ``CLINICBOT_BENCH_PACED_RATES`` (e.g. ``300,500``; the first is held to the target) or to
  :func:`measure`.

The garbage collector is set as ``clinicbot serve`` sets it (``bot.collector.tuned``), so
the turns cost what they cost in the server. Each paced run also says where a turn's time went:
waiting for a turn slot (the engine lets the pool's size of turns run at once), and, on
PostgreSQL, how often a sample of ``pg_stat_activity`` found a turn waiting for a row lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Literal

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.common import Bench, Figure, Stopwatch, percentile
from bot import collector
from bot.app import build_engine
from bot.dialogs.engine import Engine
from bot.dialogs.types import Inbound, Outcome
from bot.settings import Settings
from bot.storage.db import create_engine
from bot.storage.models import Clinic, Patient, PatientPackage

APOLOGY = "something went wrong"
TARGET_RATE = 300
RATES_ENV = "CLINICBOT_BENCH_PACED_RATES"
LOCK_SAMPLE_SECONDS = 0.01
PICKED = ("pk", "f", "a", "d", "pmorning", "pafternoon", "pevening", "t", "yes")
BOOKING_ANSWERS = 7  # package, fee, practitioner, day, part of the day, time, confirm


async def patients_with_packages(db: AsyncEngine, bench: Bench, count: int) -> list[str]:
    """Phones of ``count`` reachable patients who own a usable package (lowest ids first)."""
    async with db.connect() as conn:
        assert await conn.scalar(select(Clinic.id)) is not None, "the clinic is not built"
        today = bench.anchor.date()
        rows = await conn.execute(
            select(Patient.phone)
            .join(PatientPackage, PatientPackage.patient_id == Patient.id)
            .where(
                Patient.opted_out.is_(False), Patient.phone.is_not(None),
                PatientPackage.available > 0, PatientPackage.paid_enough.is_(True),
                PatientPackage.expires_on > today,
            )
            .group_by(Patient.id, Patient.phone)
            .order_by(Patient.id)
            .limit(count)
        )
        return [str(row.phone) for row in rows]


class Conversation:
    """One patient texting the clinic: plays rounds of turns and records their latencies."""

    def __init__(self, engine: Engine, phone: str, seed: int,
                 samples: dict[str, list[float]], pause: float | None = None) -> None:
        """``pause``: the mean seconds between planned messages (None: no pause)."""
        self.engine = engine
        self.pause = pause
        self.planned = time.perf_counter()
        self.phone = phone
        self.rng = random.Random(seed)
        self.samples = samples
        self.last: Outcome = Outcome()
        self.apologies = 0
        self.booked = 0

    async def say(self, text: str, kind: str) -> Outcome:
        inbound = Inbound(channel="sms", address=self.phone, text=text, phone=self.phone)
        started = time.perf_counter()
        if self.pause is not None:
            self.planned += self.rng.expovariate(1 / self.pause)
            await asyncio.sleep(self.planned - started)  # at once when already late
            started = self.planned
        outcome = await self.engine.handle(inbound)
        elapsed = time.perf_counter() - started
        if outcome.replies and APOLOGY in outcome.replies[-1].text:
            self.apologies += 1
        keys = [o.key for o in outcome.replies[-1].options] if outcome.replies else []
        if kind == "book" and any(k.startswith(("d", "t")) and k != "day" for k in keys):
            kind = "availability"
        self.samples[kind].append(elapsed)
        self.last = outcome
        return outcome

    def number_of(self, *prefixes: str) -> str | None:
        """The number of a random shown option whose key starts with one of ``prefixes``."""
        if not self.last.replies:
            return None
        reply = self.last.replies[-1]  # numbered as shown: on from page to page, More is 0
        found = [n for n, o in zip(reply.numbers(), reply.options, strict=True)
                 if o.key.startswith(prefixes) and o.key not in ("day", "talk", "other")]
        return str(self.rng.choice(found)) if found else None

    async def play(self, turns: int) -> None:
        """Rounds of menu / my packages / book until ``turns`` turns were taken."""
        taken = 0
        while taken < turns:
            plan = ["menu", "packages", "menu", "book"]
            for step in plan:
                if taken >= turns:
                    return
                if step == "menu":
                    await self.say("MENU", "menu")
                else:
                    number = self.number_of(step)
                    await self.say(number or "MENU", step if number else "menu")
                taken += 1
            for _ in range(BOOKING_ANSWERS):
                number = self.number_of(*PICKED)
                if taken >= turns or number is None:
                    break
                reply = self.last.replies[-1]
                chosen = dict(zip(reply.numbers(), reply.options, strict=True))[int(number)]
                confirming = chosen.key == "yes"
                await self.say(number, "booking" if confirming else "book")
                taken += 1
                if confirming:
                    self.booked += 1
                    break


async def run(engine: Engine, phones: list[str], turns: int, pause: float | None,
              seed: int) -> tuple[dict[str, list[float]], list[Conversation], float]:
    """Every phone plays ``turns`` turns at once; latencies by kind, the talks, wall time."""
    samples: dict[str, list[float]] = defaultdict(list)
    talks = [Conversation(engine, phone, seed + n, samples, pause)
             for n, phone in enumerate(phones)]
    with Stopwatch() as watch:
        await asyncio.gather(*(talk.play(turns) for talk in talks))
    return samples, talks, watch.seconds


def _kinds(samples: dict[str, list[float]]) -> str:
    return ", ".join(f"{kind} {len(s)}: p99 {percentile(s, 99) * 1000:.0f} ms"
                     for kind, s in sorted(samples.items()))


def _below(limit: float) -> Callable[[float], bool]:
    return lambda value: value < limit


def paced_rates(bench: Bench, rates: Sequence[int] | None = None) -> list[int]:
    """The offered rates of the paced runs, the target's first (see the module docstring)."""
    if rates:
        return list(rates)
    given = os.environ.get(RATES_ENV, "").strip()
    if given:
        return [int(rate) for rate in given.split(",") if rate.strip()]
    paced = bench.sizes.paced_rate
    return [min(TARGET_RATE, paced), *([paced] if paced > TARGET_RATE else [])]


class SlotWaits:
    """Time turns spent waiting for the engine's turn slot (its pool-sized semaphore)."""

    def __init__(self, engine: Engine) -> None:
        self.samples: list[float] = []
        slots = engine._turns
        acquire = slots.acquire

        async def timed() -> Literal[True]:
            started = time.perf_counter()
            try:
                return await acquire()
            finally:
                self.samples.append(time.perf_counter() - started)

        slots.acquire = timed


@contextlib.asynccontextmanager
async def lock_waits(bench: Bench, seen: list[int]) -> AsyncIterator[None]:
    """On PostgreSQL, sample pg_stat_activity while the block runs: ``seen`` gets [samples,
    sessions of this database found waiting for a lock]."""
    if bench.kind != "postgresql":
        yield
        return
    probe = create_engine(bench.url, pool_size=1, max_overflow=0)
    query = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND wait_event_type = 'Lock'")
    seen[:] = [0, 0]

    async def sample() -> None:
        async with probe.connect() as conn:
            while True:
                seen[1] += int(await conn.scalar(query) or 0)
                seen[0] += 1
                await asyncio.sleep(LOCK_SAMPLE_SECONDS)

    task = asyncio.create_task(sample())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await probe.dispose()


async def measure(bench: Bench, rates: Sequence[int] | None = None) -> list[Figure]:
    """Capacity (turns/s), then latency at each offered rate (:func:`paced_rates`; the first is
    held to the target); apologies in any run."""
    sizes = bench.sizes
    offered = paced_rates(bench, rates)
    db = create_engine(bench.url)
    paced_runs: list[tuple[int, dict[str, list[float]], list[Conversation], float, list[float],
                           list[int]]] = []
    with collector.tuned():  # the collector as `serve` sets it
        try:
            settings = Settings(_env_file=None, DATABASE_URL=bench.url)  # type: ignore[call-arg]
            engine = build_engine(settings, db, bench.clock())
            phones = await patients_with_packages(db, bench, sizes.conversations)
            warm: dict[str, list[float]] = defaultdict(list)
            await asyncio.gather(*(Conversation(engine, phone, 0, warm).say("MENU", "warm-up")
                                   for phone in phones))
            cpu = time.process_time()
            full, talks, seconds = await run(engine, phones, sizes.turns_per_conversation, None, 0)
            cpu = time.process_time() - cpu
            slots = SlotWaits(engine)
            for n, rate in enumerate(offered):
                slots.samples = []
                locks: list[int] = []
                async with lock_waits(bench, locks):
                    paced, paced_talks, paced_seconds = await run(
                        engine, phones, sizes.turns_per_conversation, len(phones) / rate,
                        1000 * (n + 1))
                paced_runs.append((rate, paced, paced_talks, paced_seconds, slots.samples, locks))
        finally:
            await db.dispose()
    turns = [s for kind in full.values() for s in kind]
    sqlite = bench.kind == "sqlite"
    limit = 50 if sqlite else 100
    apologies = sum(t.apologies for t in talks) + sum(
        t.apologies for run_ in paced_runs for t in run_[2])
    booked = sum(t.booked for t in talks)
    figures = [
        Figure("dialog turns/s", len(turns) / seconds, "turns/s", ">= 500 (SQLite)",
               (lambda v: v >= 500) if sqlite else None,
               f"capacity: {len(talks)} conversations answering at once, {len(turns)} turns, "
               f"{booked} bookings; time inside Engine.handle: {_kinds(full)}",
               {"conversations": len(talks), "turns": len(turns), "booked": booked}),
        Figure("dialog CPU per turn", cpu / len(turns) * 1000, "ms", "", None,
               "capacity run: this process's CPU (the engine and the simulated patients; on "
               "PostgreSQL the server's own is not counted) over its turns; steadier than turns/s "
               "on a machine whose speed varies"),
    ]
    for n, (rate, paced, paced_talks, paced_seconds, waits, locks) in enumerate(paced_runs):
        latencies = [s for kind in paced.values() for s in kind]
        where = (f"; waiting for a turn slot: p99 {percentile(waits, 99) * 1000:.0f} ms"
                 if waits else "")
        if locks:
            where += f"; sessions waiting for a lock: {locks[1]} in {locks[0]} samples"
        detail = (f"paced: {rate} turns/s offered by {len(paced_talks)} conversations "
                  f"(mean pause {len(paced_talks) / rate * 1000:.0f} ms), {len(latencies)} "
                  f"turns answered at {len(latencies) / paced_seconds:.0f} turns/s; "
                  f"{_kinds(paced)}{where}")
        suffix = "" if n == 0 else f" at {rate}/s"
        figures.append(Figure(f"dialog turn p50{suffix}", percentile(latencies, 50) * 1000,
                              "ms", "", None, detail, {"turns": len(latencies)}))
        figures.append(Figure(
            f"dialog turn p99{suffix}", percentile(latencies, 99) * 1000, "ms",
            f"< {limit} ms at {rate}/s" if n == 0 else "",
            _below(limit) if n == 0 else None))
    figures.append(Figure("dialog apologies", apologies, "turns", "0", lambda v: v == 0))
    return figures
