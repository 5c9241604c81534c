"""The SMS webhook as patients meet it: ``clinicbot serve`` with its sweeps, beside the floor.

Everything runs in processes of its own (:mod:`benchmarks.serving`): the load generator
(:mod:`benchmarks.loadgen`: ``Sizes.webhook_patients`` simulated patients, each its own
``From`` number, real Twilio signatures, a script that books and cancels), the floor app
(:mod:`benchmarks.floor`: Starlette/uvicorn checking the same signature, constant TwiML) and
``python -m bot serve`` on the working copy of the clinic, with its scheduler on, sweeps every
``Sizes.sweep_seconds`` and SMS delivered to a local Twilio stand-in. In order:

1. **floor**: capacity (closed loop for ``capacity_seconds``: every patient texts again when
   answered; requests/s answered, and the server process's CPU per request from
   ``/proc/PID/stat``), then the highest offered rate with p99 < 100 ms (paced runs of
   ``step_seconds`` at ``step_shares`` of the capacity, stopping at the first miss).
2. **serve**, started after the floor stopped: warm-up, capacity, and on PostgreSQL a second
   ``serve`` process on the same database for the two-process capacity (the generator spreads
   requests over both ports; the second is stopped before its scheduler's first pass).
3. **serve**: the highest rate with p99 < 100 ms, as for the floor.
4. **serve, paced**: ``webhook_rate`` requests/s offered (open loop: planned send times,
   latency from the planned moment) for at least ``webhook_paced_seconds`` and until
   ``sweep_cover`` seconds after the scheduler's first sweep pass began, so a sweep runs
   inside the measurement. ``/metrics`` is scraped every :data:`SCRAPE_SECONDS`: the event-loop
   lag probe's histogram gives the stalls over 50 ms during the run and the longest one (from
   the ``_max`` gauge where it rose during the run, else the top bucket's bound); the outbox
   counts show what the sweep queued meanwhile. Then the process's peak memory (``VmHWM``).

Each run stops itself (seconds or requests); the figures are printed against issue 15's targets.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from benchmarks.common import Bench, Figure, Sizes
from benchmarks.serving import (
    Generator,
    Served,
    cpu_seconds,
    floor_command,
    peak_rss_mb,
    scrape,
    serve_command,
)
from bot.observability.metrics import LAG_BUCKETS
from bot.storage.db import create_engine
from bot.storage.models import Patient, PatientPackage
from tests.e2e.twilio_standin import LiveServer, TwilioStandin

SLOW_MS = 100.0
STALL_SECONDS = 0.05
SCRAPE_SECONDS = 2.0
LAG = "clinicbot_event_loop_lag_seconds"


async def sms_phones(bench: Bench, count: int) -> list[str]:
    """Phones of ``count`` reachable English-speaking patients with a usable package (the
    generator reads the English labels of the choices)."""
    db = create_engine(bench.url)
    try:
        async with db.connect() as conn:
            rows = await conn.execute(
                select(Patient.phone)
                .join(PatientPackage, PatientPackage.patient_id == Patient.id)
                .where(
                    Patient.opted_out.is_(False), Patient.phone.is_not(None),
                    or_(Patient.locale.is_(None), Patient.locale.like("en%")),
                    PatientPackage.available > 0, PatientPackage.paid_enough.is_(True),
                    PatientPackage.expires_on > bench.anchor.date(),
                )
                .group_by(Patient.id, Patient.phone).order_by(Patient.id).limit(count))
            return [str(row.phone) for row in rows]
    finally:
        await db.dispose()


@dataclass
class Capacity:
    """A closed-loop run and the CPU its servers used."""

    run: dict[str, Any]
    server_cpu: float

    @property
    def rate(self) -> float:
        return float(self.run["ok"]) / float(self.run["seconds"])

    @property
    def cpu_ms(self) -> float:
        return self.server_cpu * 1000 / max(1, int(self.run["requests"]))

    def say(self) -> str:
        run = self.run
        return (f"{run['requests']} requests in {run['seconds']:.1f} s, p50 {run['p50']:.1f} ms, "
                f"p99 {run['p99']:.1f} ms, {self.cpu_ms:.2f} ms server CPU/req, generator CPU "
                f"{run['client_cpu'] / run['seconds']:.0%}, {run['confirmed']} booked, "
                f"{run['cancelled']} cancelled")


async def capacity(gen: Generator, servers: list[Served], sizes: Sizes) -> Capacity:
    before = [cpu_seconds(s.pid) for s in servers]
    run = await gen.run([s.url for s in servers], "closed", seconds=sizes.capacity_seconds,
                        requests=sizes.capacity_requests)
    return Capacity(run, sum(cpu_seconds(s.pid) - b for s, b in zip(servers, before, strict=True)))


async def highest_rate(gen: Generator, server: Served, top: float,
                       sizes: Sizes) -> tuple[float, str, int]:
    """The highest rate tried with p99 < 100 ms and no error; what was tried; errors."""
    best, tried, errors = 0.0, [], 0
    for share in sizes.step_shares:  # a few steps, stopping at the first miss
        rate = max(1.0, round(top * share))
        run = await gen.run([server.url], "paced", seconds=sizes.step_seconds,
                            requests=int(rate * sizes.step_seconds * 2) + 10, rate=rate)
        errors += int(run["errors"])
        tried.append(f"{rate:.0f}/s: p99 {run['p99']:.0f} ms")
        if run["p99"] >= SLOW_MS or run["errors"]:
            break
        best = rate
    return best, ", ".join(tried) or "none tried", errors


@dataclass
class Lag:
    """What /metrics said during a run: stalls over 50 ms, the longest, outbox rows added."""

    stalls: int
    longest: float
    exact: bool
    queued: int


def lag_between(snapshots: list[dict[str, float]]) -> Lag:
    first, last = snapshots[0], snapshots[-1]

    def added(name: str) -> float:
        return last.get(name, 0.0) - first.get(name, 0.0)

    def bucket(le: float) -> str:
        return f"{LAG}_bucket{{le={'+Inf' if math.isinf(le) else le}}}"

    bounds = [*LAG_BUCKETS, math.inf]
    stalls = int(added(f"{LAG}_count") - added(bucket(STALL_SECONDS)))
    top = next((b for lower, b in zip([0.0, *bounds], bounds, strict=False)
                if added(bucket(b)) == added(f"{LAG}_count") and added(bucket(lower)) <
                added(bucket(b))), 0.0)
    gauge = "clinicbot_event_loop_lag_max_seconds"
    rises = [b[gauge] for a, b in itertools.pairwise(snapshots)
             if b.get(gauge, 0.0) > a.get(gauge, 0.0)]
    outbox = sum(v for k, v in last.items() if k.startswith("clinicbot_outbox_messages{")) - sum(
        v for k, v in first.items() if k.startswith("clinicbot_outbox_messages{"))
    if rises:
        return Lag(stalls, max(rises), True, int(outbox))
    return Lag(stalls, top, False, int(outbox))


async def paced_with_sweeps(gen: Generator, server: Served,
                            sizes: Sizes) -> tuple[dict[str, Any], Lag, float]:
    """The paced run (see module docstring); its summary, the lag, the server's CPU share."""
    seconds = sizes.webhook_paced_seconds
    if sizes.sweep_cover is not None:
        sweep_ends = server.started + sizes.sweep_seconds + sizes.sweep_cover
        seconds = max(seconds, sweep_ends - time.monotonic())
    seconds = min(seconds, sizes.webhook_max_paced_seconds)
    snapshots = [await scrape(server.url)]
    cpu = cpu_seconds(server.pid)
    run_task = asyncio.create_task(gen.run(
        [server.url], "paced", seconds=seconds, rate=sizes.webhook_rate,
        requests=int(sizes.webhook_rate * seconds * 2) + 10))
    while not run_task.done():  # ends with the run, which is bounded
        await asyncio.wait([run_task], timeout=SCRAPE_SECONDS)
        snapshots.append(await scrape(server.url))
    run = run_task.result()
    share = (cpu_seconds(server.pid) - cpu) / run["seconds"]
    return run, lag_between(snapshots), share


async def measure(bench: Bench) -> list[Figure]:
    sizes = bench.sizes
    phones = await sms_phones(bench, sizes.webhook_patients)
    standin = TwilioStandin()
    two: Capacity | None = None
    async with LiveServer(standin.app()) as twilio, Generator(phones) as gen:
        async with Served(floor_command, "floor") as floor:
            await gen.run([floor.url], "closed", seconds=60, requests=sizes.webhook_warmup)
            floor_cap = await capacity(gen, [floor], sizes)
            floor_best, floor_tried, floor_errors = await highest_rate(
                gen, floor, floor_cap.rate, sizes)

        def serve(port: int) -> tuple[list[str], dict[str, str]]:
            return serve_command(bench.url, port, twilio.url, sizes.sweep_seconds)

        async with Served(serve, "serve") as one:
            warm = await gen.run([one.url], "closed", seconds=60, requests=sizes.webhook_warmup)
            bot = await capacity(gen, [one], sizes)
            if bench.kind == "postgresql":
                async with Served(serve, "serve-2") as other:
                    await gen.run([other.url], "closed", seconds=60,
                                  requests=sizes.webhook_warmup)
                    two = await capacity(gen, [one, other], sizes)
            best, tried, step_errors = await highest_rate(gen, one, bot.rate, sizes)
            paced, lag, cpu_share = await paced_with_sweeps(gen, one, sizes)
            peak = peak_rss_mb(one.pid)
            said = one.said()
    return figures(bench, warm, floor_cap, bot, two, paced, lag, cpu_share, peak,
                   (floor_best, floor_tried, floor_errors), (best, tried, step_errors),
                   len(standin.sent), one.exit_status, said)


def figures(bench: Bench, warm: dict[str, Any], floor: Capacity, bot: Capacity,
            two: Capacity | None, paced: dict[str, Any], lag: Lag, cpu_share: float,
            peak: float, floor_steps: tuple[float, str, int], steps: tuple[float, str, int],
            delivered: int, exit_status: int | None, said: str) -> list[Figure]:
    sqlite = bench.kind == "sqlite"
    rate = bench.sizes.webhook_rate
    errors = sum(int(r["errors"]) for r in (warm, floor.run, bot.run, paced)) + floor_steps[2] + \
        steps[2] + (int(two.run["errors"]) if two else 0)
    found = [
        Figure("floor capacity", floor.rate, "req/s", detail=floor.say(),
               counts={"requests": int(floor.run["requests"]), "answered": int(floor.run["ok"])}),
        Figure("webhook capacity", bot.rate, "req/s", ">= 400 (SQLite)",
               (lambda v: v >= 400) if sqlite else None, bot.say(),
               {"requests": int(bot.run["requests"]), "answered": int(bot.run["ok"])}),
        Figure("webhook / floor", bot.rate / floor.rate, "x", ">= 0.1 (SQLite)",
               (lambda v: v >= 0.1) if sqlite else None,
               f"floor {floor.cpu_ms:.2f} ms CPU/req, serve {bot.cpu_ms:.2f}"),
        Figure("webhook CPU per request", bot.cpu_ms, "ms", detail="serve process, "
               "user + system, capacity run"),
    ]
    if two is not None:
        found.append(Figure(
            "webhook capacity, 2 serve", two.rate, "req/s", ">= 300 (PostgreSQL)",
            lambda v: v >= 300, two.say(),
            {"requests": int(two.run["requests"]), "answered": int(two.run["ok"])}))
    found += [
        Figure("floor highest rate p99 < 100 ms", floor_steps[0], "req/s",
               detail=f"tried {floor_steps[1]}"),
        Figure("webhook highest rate p99 < 100 ms", steps[0], "req/s",
               detail=f"tried {steps[1]} (short runs, before the first sweep)"),
        Figure(f"webhook p50 at {rate}/s, sweeps on", paced["p50"], "ms"),
        Figure(f"webhook p99 at {rate}/s, sweeps on", paced["p99"], "ms", "< 100 ms",
               lambda v: v < SLOW_MS,
               f"{paced['requests']} requests over {paced['offered_seconds']:.0f} s "
               f"({paced['requests'] / paced['offered_seconds']:.0f}/s offered), p90 "
               f"{paced['p90']:.0f} ms, max {paced['max']:.0f} ms, {paced['slow']} >= 100 ms; "
               f"serve CPU {cpu_share:.0%}; outbox rows added meanwhile (the sweep) "
               f"{lag.queued:,}; {delivered} SMS delivered to the stand-in in all",
               {"requests": int(paced["requests"]), "answered": int(paced["ok"])}),
        # issue 15: "no event-loop stall over 50 ms" (a bound of 50 ms read off the histogram
        # says that none was over it)
        Figure("event-loop stall (longest)", lag.longest * 1000, "ms", "none over 50 ms",
               lambda v: v <= STALL_SECONDS * 1000,
               f"paced run: {lag.stalls} probe samples later than 50 ms; the longest "
               + ("read from the max gauge" if lag.exact else "bounded by its histogram bucket")),
        Figure("webhook errors", errors, "requests", "0", lambda v: v == 0,
               "non-200 answers and apologies, every run" + (
                   f"; serve exited {exit_status}: {said[-300:]!r}" if errors or exit_status
                   else "")),
        Figure("serve peak memory, sweeps on", peak, "MB", "< 300 MB", lambda v: v < 300,
               "VmHWM after the paced run", {"exit_status": exit_status or 0}),
    ]
    return found
