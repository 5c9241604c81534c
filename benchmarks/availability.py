"""The time to compute two weeks of availability for one practitioner.

``availability.offered_slots`` for the busiest physiotherapist's follow-up (30 minutes, on the
15-minute grid) at their location, from the clinic's today over 14 days, as a patient sees it.
Each run opens its own read-only unit of work (as a dialog turn does) and is timed whole; the
figure is the median of ``Sizes.availability_runs`` runs after one warm-up.
"""

from __future__ import annotations

import statistics

from sqlalchemy import func, select

from benchmarks.common import Bench, Figure, Stopwatch, percentile
from bot.services.availability import offered_slots
from bot.services.clinic import get_clinic, local_today
from bot.storage.db import create_engine
from bot.storage.models import Appointment, Fee, WorkingHours, fee_practitioner
from bot.storage.uow import UnitOfWork

DAYS = 14
FEE = "physio-follow"


async def measure(bench: Bench) -> list[Figure]:
    """Median and p95 over the runs; the number of start times found is in the detail."""
    db = create_engine(bench.url)
    try:
        async with UnitOfWork(db, bench.clock(), readonly=True) as uow:
            fee_id = await uow.session.scalar(select(Fee.id).where(Fee.key == FEE))
            practitioner_id = await uow.session.scalar(
                select(Appointment.practitioner_id)
                .join(fee_practitioner,
                      fee_practitioner.c.practitioner_id == Appointment.practitioner_id)
                .where(fee_practitioner.c.fee_id == fee_id)
                .group_by(Appointment.practitioner_id)
                .order_by(func.count().desc(), Appointment.practitioner_id)
                .limit(1)
            )
            location_id = await uow.session.scalar(
                select(WorkingHours.location_id)
                .where(WorkingHours.practitioner_id == practitioner_id).limit(1)
            )
            today = local_today(await get_clinic(uow), bench.anchor)
        assert fee_id is not None and practitioner_id is not None and location_id is not None
        times: list[float] = []
        found = 0
        for _ in range(bench.sizes.availability_runs + 1):  # the first is a warm-up
            with Stopwatch() as watch:
                async with UnitOfWork(db, bench.clock(), readonly=True) as uow:
                    slots = await offered_slots(uow, practitioner_id, location_id, fee_id,
                                                today, DAYS)
            times.append(watch.seconds)
            found = len(slots)
    finally:
        await db.dispose()
    runs = times[1:]
    return [
        Figure("availability 14 days (median)", statistics.median(runs) * 1000, "ms",
               "< 20 ms", lambda v: v < 20,
               f"{found} start times offered; p95 {percentile(runs, 95) * 1000:.1f} ms "
               f"over {len(runs)} runs", {"slots": found, "runs": len(runs)}),
    ]
