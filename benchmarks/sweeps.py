"""Sweeps at scale (issue 15): a full scheduler pass, a quiet second pass, memory and stalls.

On a copy of the cached clinic (``--memberships``: 50,000 on SQLite, 200,000 on PostgreSQL at
``--scale 1``; its membership periods of the last few days not invoiced yet, see
:mod:`benchmarks.build`), in a process of its own (``python -m benchmarks.sweeps URL ANCHOR``,
so its peak resident memory is the pass's, not the builder's): ``run_sweeps`` at the clinic's
"now" (the full pass: invoices, reminders, alerts), then again at once (the quiet pass: nothing
is due, it must cost little). Meanwhile a lag probe (a task sleeping 5 ms in a loop) records how
late the event loop wakes it: the longest overshoot is the longest stall a webhook would have
waited. Start-up's objects are frozen out of the garbage collector first, as ``serve``
does. Targets: full pass < 10 s on PostgreSQL, stall < 50 ms, peak memory < 300 MB.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from benchmarks.common import Bench, Figure, Stopwatch
from benchmarks.serving import peak_rss_mb
from bot import collector
from bot.clock import FixedClock
from bot.scheduler.jobs import run_sweeps
from bot.storage.db import create_engine
from bot.storage.models import Membership

PROBE_SECONDS = 0.005
STALL_MS = 50.0
MEMORY_MB = 300.0
PASS_SECONDS = 10.0  # on PostgreSQL at 200,000 memberships


class LagProbe:
    """A task sleeping :data:`PROBE_SECONDS` in a loop; the longest overshoot since reset."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(PROBE_SECONDS)
            self.longest = max(self.longest, time.perf_counter() - started - PROBE_SECONDS)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def reset(self) -> float:
        """The longest overshoot so far (once the probe woke from the sleep it was in: a pass
        that never yields shows as one overshoot as long as itself), and start afresh."""
        await asyncio.sleep(PROBE_SECONDS * 4)
        longest, self.longest = self.longest, 0.0
        return longest

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def passes(url: str, anchor: datetime) -> dict[str, Any]:
    """The two passes with the probe running: seconds, longest stalls (ms), what was created,
    and this process's peak resident memory (MB)."""
    db = create_engine(url)
    probe = LagProbe()
    try:
        async with db.connect() as conn:
            members = int(await conn.scalar(select(func.count()).select_from(Membership)) or 0)
        with collector.tuned():  # as ``serve`` and ``clinicbot jobs run`` run passes
            probe.start()
            await asyncio.sleep(0.05)
            await probe.reset()
            with Stopwatch() as full:
                first = await run_sweeps(db, FixedClock(anchor))
            full_stall = await probe.reset()
            with Stopwatch() as quiet:
                second = await run_sweeps(db, FixedClock(anchor))
            quiet_stall = await probe.reset()
    finally:
        await probe.stop()
        await db.dispose()
    return {
        "memberships": members, "full_seconds": full.seconds, "quiet_seconds": quiet.seconds,
        "full_stall_ms": full_stall * 1000, "quiet_stall_ms": quiet_stall * 1000,
        # VmHWM, not getrusage's ru_maxrss: Linux keeps that over fork and exec, so it would
        # report the benchmark process that started this one when that was larger.
        "peak_mb": peak_rss_mb(os.getpid()),
        "created": first.sweeps, "created_again": second.sweeps,
    }


async def measure(bench: Bench) -> list[Figure]:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.sweeps", bench.url, bench.anchor.isoformat(),
        stdout=asyncio.subprocess.PIPE)
    out, _ = await child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"the sweeps process exited with {child.returncode}")
    got = json.loads(out.decode().strip().splitlines()[-1])
    created = {str(k): v for k, v in got["created"].items()}
    again = {str(k): v for k, v in got["created_again"].items()}
    failed = sum(v is None for v in [*created.values(), *again.values()])
    pg = bench.kind == "postgresql"
    detail = (f"{got['memberships']:,} memberships; created: "
              + ", ".join(f"{k} {v}" for k, v in created.items()))
    counts = {"memberships": got["memberships"], "failed": failed,
              **{k: v or 0 for k, v in created.items()},
              **{f"again {k}": v or 0 for k, v in again.items()}}
    return [
        Figure("sweeps: full pass", got["full_seconds"], "s",
               f"< {PASS_SECONDS:.0f} s (PostgreSQL)" if pg else "",
               (lambda v: v < PASS_SECONDS) if pg else None, detail, counts),
        Figure("sweeps: quiet pass", got["quiet_seconds"], "s",
               detail="the same pass again at once: nothing due"),
        Figure("sweeps: longest stall", max(got["full_stall_ms"], got["quiet_stall_ms"]), "ms",
               f"< {STALL_MS:.0f} ms", lambda v: v < STALL_MS,
               f"lag probe every {PROBE_SECONDS * 1000:.0f} ms: full pass "
               f"{got['full_stall_ms']:.1f} ms, quiet pass {got['quiet_stall_ms']:.1f} ms"),
        Figure("sweeps: peak memory", got["peak_mb"], "MB", f"< {MEMORY_MB:.0f} MB",
               lambda v: v < MEMORY_MB, "the sweeping process's peak resident memory"),
        Figure("sweeps failed", failed, "sweeps", "0", lambda v: v == 0),
    ]


def main(argv: list[str]) -> None:
    url, anchor = argv
    print(json.dumps(asyncio.run(passes(url, datetime.fromisoformat(anchor)))), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
