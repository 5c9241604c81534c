"""The benchmarks cannot rot: the builder at a tiny scale, and every measurement once.

On SQLite and PostgreSQL. Only counts and sanity are asserted, never timings (the machine is
shared; timings belong in benchmarks/README.md).
"""

from __future__ import annotations

import os
import uuid
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks import availability, dialogs, memory, scheduler, webhook
from benchmarks.__main__ import table
from benchmarks.build import Scale, anchor_for, build
from benchmarks.common import Bench, Figure, Sizes
from benchmarks.databases import Cache, checkout_prefix
from bot.storage.models import Appointment, Invoice, Membership, Patient, PatientPackage

SCALE = Scale(0.003)


def by_name(figures: list[Figure]) -> dict[str, Figure]:
    return {figure.name: figure for figure in figures}


async def test_the_membership_count_is_set_apart_from_the_scale(engine: AsyncEngine) -> None:
    scale = Scale(0.003, members=7_500)  # more than one batch of the streamed build
    assert scale.tag == "0p003_m7500" and Scale(0.003).tag == "0p003"
    built = await build(engine, scale, anchor_for(date(2026, 11, 2)))
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(Membership)) == 7_500
        invoiced = await conn.scalar(select(func.count(Invoice.membership_id.distinct())))
    assert built.counts["memberships"] == 7_500 and built.counts["patients"] == 60
    assert 7_000 < invoiced <= 7_500  # every membership begun before the last few days


def test_the_postgresql_cache_is_named_per_checkout(tmp_path: Path) -> None:
    mine = Cache(tmp_path, postgres_admin="postgresql://x@127.0.0.1/postgres")
    assert mine.prefix == checkout_prefix() != "clinicbot_bench"
    assert mine.prefix.startswith("clinicbot_bench_") and len(mine.prefix) == 24


async def test_the_builder_keeps_the_clinic_consistent(engine: AsyncEngine) -> None:
    built = await build(engine, SCALE, anchor_for(date(2026, 11, 2)))
    async with engine.connect() as conn:
        for model, name in ((Patient, "patients"), (Appointment, "appointments"),
                            (PatientPackage, "packages"), (Membership, "memberships")):
            rows = await conn.scalar(select(func.count()).select_from(model))
            assert rows == built.counts[name]
        assert built.counts["appointments"] == 600 and built.counts["patients"] == 60
        overlapping = await conn.scalar(text(
            "SELECT count(*) FROM appointment a JOIN appointment b "
            "ON a.practitioner_id = b.practitioner_id AND a.id < b.id "
            "AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at"))
        assert overlapping == 0
        periods = await conn.scalar(select(func.count()).select_from(Invoice)
                                    .where(Invoice.membership_id.is_not(None)))
        assert periods == built.counts["membership invoices"] > 0


async def test_every_measurement_runs_once(engine: AsyncEngine, database_url: str) -> None:
    anchor = anchor_for(date(2026, 11, 2))
    await build(engine, SCALE, anchor)
    kind = engine.dialect.name
    bench = Bench(kind, database_url, anchor, Sizes.tiny())

    found = by_name(await availability.measure(bench))
    assert found["availability 14 days (median)"].counts["slots"] > 0

    found = by_name(await dialogs.measure(bench))
    counts = found["dialog turns/s"].counts
    assert counts["conversations"] == 3 and counts["turns"] == 24 and counts["booked"] <= 3
    assert found["dialog turn p50"].counts == {"turns": 24}  # the paced run
    assert found["dialog apologies"].value == 0

    found = by_name(await webhook.measure(bench))  # serve, floor, generator: processes
    for name in ("floor capacity", "webhook capacity") + (
            ("webhook capacity, 2 serve",) if kind == "postgresql" else ()):
        assert found[name].counts == {"requests": 12, "answered": 12}, name
    paced = found["webhook p99 at 10/s, sweeps on"].counts
    assert paced["requests"] == paced["answered"] > 0
    assert found["webhook errors"].value == 0
    assert found["serve peak memory, sweeps on"].counts == {"exit_status": 0}
    assert found["event-loop stall (longest)"].value >= 0

    results = await scheduler.measure(bench)
    found = by_name(results)
    pass_counts = found["scheduler pass"].counts
    assert found["scheduler sweeps failed"].value == 0
    assert pass_counts["membership invoices"] > 0 and pass_counts["unpaid reminders"] > 0
    at_once, late = found["outbox delivery"], found["outbox delivery, 50 ms round trip"]
    assert pass_counts["pending"] >= 10  # patients' messages (and staff alerts, left queued)
    assert at_once.counts == late.counts == {"sent": 5, "accepted": 5}  # Sizes.tiny: 5 each

    found = by_name(await memory.measure(bench))
    assert found["serve peak memory"].counts == {"requests": 10, "answered": 10, "exit_status": 0}
    assert found["serve peak memory"].value > 0

    printed, _ = table({kind: results})
    assert "scheduler pass" in printed and kind in printed


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def test_the_built_clinic_is_cached(kind: str, tmp_path: Path) -> None:
    admin = os.environ.get("CLINICBOT_TEST_POSTGRES_URL")
    if kind == "postgresql" and not admin:
        pytest.skip("set CLINICBOT_TEST_POSTGRES_URL to run the PostgreSQL cases")
    prefix = f"cbt_bench_{uuid.uuid4().hex[:8]}"
    cache = Cache(tmp_path, postgres_admin=admin, postgres_prefix=prefix)
    try:
        first = await cache.prepare(kind, SCALE)
        assert first.build_seconds is not None and first.counts["patients"] == 60
        await cache.discard(first)
        second = await cache.prepare(kind, SCALE)
        assert second.build_seconds is None and second.counts == first.counts
        await cache.discard(second)
    finally:
        if kind == "postgresql":
            await cache.forget(kind, SCALE)
