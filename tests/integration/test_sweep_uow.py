"""A sweep's own unit of work (issue 15): one connection for its chunks, given back as it was,
and on PostgreSQL its rows walked in two lanes at once, each row once.

``SweepUnitOfWork`` (bot/storage/sweep_uow.py) sets its connection up for sweeping
(``synchronous_commit`` off and no bitmap scans on PostgreSQL, no automatic WAL checkpoint on
SQLite) and must undo that before the connection serves anyone else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, cast

import pytest
from sqlalchemy import Table, exists, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FixedClock
from bot.scheduler.jobs import run_sweeps
from bot.services.sweep_writes import move_cursors
from bot.services.sweeping import chunk_size, walk
from bot.storage.models import Invoice, Membership, MembershipSchedule
from bot.storage.sweep_uow import POSTGRESQL_LANES, SweepUnitOfWork
from bot.storage.uow import UnitOfWork
from tests.integration.test_sweep_cursors import _bulk_members
from tests.unit.test_pacing import Recorded

pytestmark = pytest.mark.usefixtures("clinic")
SETTING = {
    "postgresql": ("SHOW synchronous_commit", "off", "on"),
    "sqlite": ("PRAGMA wal_autocheckpoint", 0, 1000),
}
_M = cast(Table, MembershipSchedule.__table__)


async def _who(uow: UnitOfWork) -> Any:
    """Which database connection ``uow`` is on (PostgreSQL's backend, SQLite's connection)."""
    if uow.dialect == "postgresql":
        return await uow.session.scalar(text("SELECT pg_backend_pid()"))
    raw = await (await uow.session.connection()).get_raw_connection()
    return id(raw.driver_connection)


async def _pooled(engine: AsyncEngine, show: str) -> list[Any]:
    """``show`` on each connection the pool holds (checked out in turn: the pool hands out the
    longest idle first, so each comes round once)."""
    found = []
    for _ in range(engine.pool.checkedin()):  # type: ignore[attr-defined]
        async with engine.connect() as conn:
            found.append(await conn.scalar(text(show)))
    return found


async def test_a_sweep_keeps_one_connection_and_gives_it_back_as_it_was(
    engine: AsyncEngine, clock: FixedClock
) -> None:
    show, during, usual = SETTING[engine.dialect.name]
    async with SweepUnitOfWork(engine, clock) as uow:
        first = await _who(uow)
        assert await uow.session.scalar(text(show)) == during
        await uow.checkpoint()
        assert await _who(uow) == first  # the next chunk's transaction, the same connection
        assert await uow.session.scalar(text(show)) == during
        driver = (await (await uow.session.connection()).get_raw_connection()).driver_connection
        await uow.commit()
    if engine.dialect.name == "sqlite":  # its calls ran in a worker thread, and no longer do
        assert driver.in_worker is False
    # Every connection the pool holds now (the sweep's among them) is as it was.
    assert set(await _pooled(engine, show)) == {usual}


async def test_a_sweeps_sqlite_calls_run_in_a_worker_thread(
    engine: AsyncEngine, clock: FixedClock
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's driver never holds the event loop")
    loop_thread = threading.get_ident()
    seen: list[int] = []

    def where() -> int:
        seen.append(threading.get_ident())
        return 1

    async with SweepUnitOfWork(engine, clock) as uow:
        raw = await (await uow.session.connection()).get_raw_connection()
        assert raw.driver_connection.in_worker is True
        await raw.driver_connection.create_function("where_am_i", 0, where)
        assert await uow.session.scalar(text("SELECT where_am_i()")) == 1
        await uow.commit()
    assert seen and loop_thread not in seen


async def test_a_failing_sweep_gives_its_connection_back_as_it_was(
    engine: AsyncEngine, clock: FixedClock
) -> None:
    show, _, usual = SETTING[engine.dialect.name]
    with pytest.raises(RuntimeError, match="boom"):
        async with SweepUnitOfWork(engine, clock) as uow:
            await uow.checkpoint()
            raise RuntimeError("boom")
    assert set(await _pooled(engine, show)) == {usual}


_DUE = select(_M.c.membership_id, _M.c.renewal_remind_on).where(
    _M.c.renewal_remind_on <= date(2027, 1, 1))


async def _walk_due(engine: AsyncEngine, clock: FixedClock, pacing: Recorded | None = None
                    ) -> tuple[int, list[int], set[Any], int]:
    """Walk the memberships due a renewal reminder, moving each one's cursor past: what walk
    returned, the ids seen (in order), the connections they were seen on and the lanes."""
    seen: list[int] = []
    connections: set[Any] = set()

    async def handle(uow: UnitOfWork, rows: Sequence[Sequence[Any]]) -> int:
        connections.add(await _who(uow))
        seen.extend(membership_id for membership_id, _ in rows)
        await move_cursors(uow, _M, "renewal_remind_on",
                           [(membership_id, None) for membership_id, _ in rows])
        return len(rows)

    async with SweepUnitOfWork(engine, clock, pacing=pacing) as uow:
        lanes = uow.lanes
        walked = await walk(uow, _DUE, (_M.c.renewal_remind_on, _M.c.membership_id), _M, handle)
        await uow.commit()
    return walked, seen, connections, lanes


async def test_lanes_walk_every_due_row_once(engine: AsyncEngine, clock: FixedClock) -> None:
    count = 3 * chunk_size(engine.dialect.name) + 7  # several chunks per lane
    await _bulk_members(engine, count)
    walked, seen, connections, _ = await _walk_due(engine, clock)
    assert walked == len(seen) >= count
    assert len(set(seen)) == len(seen)  # no row twice
    expected = POSTGRESQL_LANES if engine.dialect.name == "postgresql" else 1
    assert len(connections) == expected
    async with UnitOfWork(engine, clock, readonly=True) as uow:
        left = (await uow.session.execute(_DUE)).all()
    assert left == []  # every due row walked


async def test_while_requests_flow_a_paced_sweep_walks_one_lane(
    engine: AsyncEngine, clock: FixedClock
) -> None:
    """Lanes walked at once put as many tasks before a webhook's every step: while requests
    flow, a paced sweep walks one (bot.pacing's width), and its rows all the same."""
    count = 3 * chunk_size(engine.dialect.name) + 7
    await _bulk_members(engine, count)
    pacing = Recorded()
    pacing.traffic.seen()
    walked, _, connections, lanes = await _walk_due(engine, clock, pacing)
    assert lanes == 1
    assert walked >= count and len(connections) == 1
    pacing.traffic.last -= 60  # idle again: lanes as usual
    async with SweepUnitOfWork(engine, clock, pacing=pacing) as uow:
        assert uow.lanes == (POSTGRESQL_LANES if engine.dialect.name == "postgresql" else 1)


async def test_a_pass_in_lanes_creates_what_a_pass_in_one_lane_does(
    engine: AsyncEngine, clock: FixedClock, make_uow: Callable[..., UnitOfWork]
) -> None:
    assert (await run_sweeps(engine, clock)).ok
    count = 2 * chunk_size(engine.dialect.name) + 50  # lanes on PostgreSQL
    await _bulk_members(engine, count)
    report = await run_sweeps(engine, clock)
    assert report.ok, report.sweeps
    assert report.sweeps["membership invoices"] == count  # one invoice each, none twice
    async with make_uow(readonly=True) as uow:
        uninvoiced = await uow.session.scalar(
            select(func.count()).select_from(Membership).where(~exists().where(
                Invoice.membership_id == Membership.id)))
    assert uninvoiced == 0
    again = await run_sweeps(engine, clock)
    assert again.ok and again.sweeps["membership invoices"] == 0


async def test_a_paced_sweep_pauses_after_every_chunk_in_every_lane(
    engine: AsyncEngine, clock: FixedClock
) -> None:
    """``serve`` hands its sweeps a pacing (bot.pacing): each chunk's commit is followed by a
    pause, in each lane's own unit of work too, so webhooks get the event loop meanwhile."""
    assert (await run_sweeps(engine, clock)).ok
    count = 3 * chunk_size(engine.dialect.name) + 7
    await _bulk_members(engine, count)
    pacing = Recorded()
    report = await run_sweeps(engine, clock, pacing=pacing)
    assert report.ok and report.sweeps["membership invoices"] == count
    # at least one checkpoint per chunk of the invoices walked, whichever lane walked it
    assert len(pacing.worked) >= count // chunk_size(engine.dialect.name)
    assert all(worked >= 0 for worked in pacing.worked)
    async with SweepUnitOfWork(engine, clock, pacing=pacing) as uow:
        lane = uow.fresh()
        assert isinstance(lane, SweepUnitOfWork) and lane.pacing is pacing
        assert not isinstance(uow.fresh(readonly=True), SweepUnitOfWork)
