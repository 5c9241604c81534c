"""The sweeps benchmark cannot rot: it runs at a tiny scale on SQLite and PostgreSQL.

Only counts and sanity are asserted, never timings (those belong in benchmarks/README.md).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks import sweeps
from benchmarks.__main__ import MEASURES, OWN_COPY
from benchmarks.build import Scale, anchor_for, build
from benchmarks.common import Bench, Sizes


async def test_the_sweeps_benchmark_runs_a_full_and_a_quiet_pass(
    engine: AsyncEngine, database_url: str
) -> None:
    assert MEASURES["sweeps"] is sweeps.measure and "sweeps" in OWN_COPY
    anchor = anchor_for(date(2026, 11, 2))
    await build(engine, Scale(0.003, members=400), anchor)
    await engine.dispose()
    figures = {f.name: f for f in await sweeps.measure(
        Bench(engine.dialect.name, database_url, anchor, Sizes.tiny()))}
    full = figures["sweeps: full pass"]
    assert full.counts["memberships"] == 400 and full.counts["failed"] == 0
    assert full.counts["membership invoices"] > 0  # the last few days' periods
    assert full.counts["again membership invoices"] == 0
    assert full.counts["again unpaid reminders"] == full.counts["again renewal reminders"] == 0
    assert figures["sweeps failed"].value == 0
    assert figures["sweeps: peak memory"].value > 10
    assert 0 <= figures["sweeps: longest stall"].value < 60_000
