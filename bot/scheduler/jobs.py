"""Running the sweeps and the delivery pass: once (``clinicbot jobs run``) or from the scheduler.

Each sweep of :data:`bot.services.reminders.SWEEPS` runs in its own transaction, so one failing
sweep does not hold back the others. On PostgreSQL two instances sweeping at once may deadlock
or fail to serialise; such a sweep is simply run again (a bounded number of times): sweeps are
idempotent, the database decides what exists.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock
from bot.delivery.sender import Deliverer, DeliveryCounts
from bot.pacing import Pacing
from bot.services.errors import DomainError
from bot.services.reminders import SWEEPS, Sweep
from bot.storage.sweep_uow import SweepUnitOfWork
from bot.storage.uow import UnitOfWork

log = logging.getLogger(__name__)
SWEEP_TRIES = 3
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock
UnitFactory = Callable[[], UnitOfWork]


@dataclass
class RunReport:
    """What one run did: per sweep, how many rows it created (None: it failed)."""

    sweeps: dict[str, int | None] = field(default_factory=dict)
    delivery: DeliveryCounts | None = None
    delivery_failed: bool = False

    @property
    def ok(self) -> bool:
        return not self.delivery_failed and all(n is not None for n in self.sweeps.values())


def _retryable(exc: DBAPIError) -> bool:
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code in RETRYABLE_SQLSTATES or "database is locked" in str(orig)


async def run_sweep(
    db: AsyncEngine, clock: Clock, sweep: Sweep, unit: UnitFactory | None = None,
    pacing: Pacing | None = None,
) -> int:
    """Run one sweep in its own transaction and commit; how many rows it created.

    ``unit``: where the transaction comes from (default: a
    :class:`bot.storage.sweep_uow.SweepUnitOfWork` on ``db``, one connection for its chunks; a dry
    run passes units of work that are rolled back in the end, see :mod:`bot.scheduler.preview`).
    ``pacing``: how the default unit of work pauses between chunks (``serve``: while requests
    flow, see :mod:`bot.pacing`; none: it only yields).
    """
    for attempt in range(1, SWEEP_TRIES + 1):
        try:
            async with (unit or (lambda: SweepUnitOfWork(db, clock, pacing=pacing)))() as uow:
                created = await sweep(uow)
                await uow.commit()
                return created
        except DBAPIError as exc:
            if attempt == SWEEP_TRIES or not _retryable(exc):
                raise
            log.info("sweep %s collided with another instance; running it again",
                     sweep.__name__)
            await asyncio.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


async def run_sweeps(
    db: AsyncEngine, clock: Clock, report: RunReport | None = None,
    unit: UnitFactory | None = None, pacing: Pacing | None = None,
) -> RunReport:
    """Every sweep once, in order; a failing sweep is logged and the others still run."""
    report = report or RunReport()
    for name, sweep in SWEEPS.items():
        try:
            report.sweeps[name] = await run_sweep(db, clock, sweep, unit, pacing)
        except DomainError as exc:  # e.g. no clinic loaded yet: say so, no traceback
            log.warning("sweep %s did not run: %s", name, exc.message)
            report.sweeps[name] = None
        except Exception:
            log.exception("sweep %s failed", name)
            report.sweeps[name] = None
    return report


async def run_all_once(
    db: AsyncEngine, clock: Clock, deliverer: Deliverer | None = None
) -> RunReport:
    """Every sweep once, then one delivery pass (when a deliverer is given)."""
    report = await run_sweeps(db, clock)
    if deliverer is not None:
        try:
            report.delivery = await deliverer.run_once()
        except Exception:
            log.exception("the delivery pass failed")
            report.delivery_failed = True
    return report
