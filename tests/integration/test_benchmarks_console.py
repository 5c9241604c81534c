"""The console benchmark cannot rot: it runs at a tiny scale on SQLite and PostgreSQL, logs
in, opens every page it lists (skipping those that answer 404) and makes a figure of each.

Only counts are asserted, never timings (those belong in benchmarks/README.md).
"""

from __future__ import annotations

import math
from datetime import date

from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks import console
from benchmarks.__main__ import MEASURES
from benchmarks.build import Scale, anchor_for, build
from benchmarks.common import Bench, Sizes


async def test_the_console_benchmark_opens_every_page(
    engine: AsyncEngine, database_url: str
) -> None:
    assert MEASURES["console"] is console.measure
    anchor = anchor_for(date(2026, 11, 2))
    await build(engine, Scale(0.003, members=50), anchor)
    await engine.dispose()
    figures = await console.measure(Bench(engine.dialect.name, database_url, anchor,
                                          Sizes.tiny()))
    assert [f.name for f in figures] == [f"console {label}" for label, _, _ in console.PAGES]
    measured = {f.name: f for f in figures if not math.isnan(f.value)}
    for name in ("dashboard", "today", "no-shows", "registrations", "patient search, name",
                 "patient search, phone", "reports"):
        assert measured[f"console {name}"].counts == {"runs": 2}
    for figure in figures:
        if math.isnan(figure.value):
            assert "answers 404" in figure.detail and figure.passed is None
