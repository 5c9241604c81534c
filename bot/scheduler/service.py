"""The scheduler inside ``clinicbot serve``: APScheduler 3 running the sweeps and the sender.

:class:`SchedulerService` is a :class:`bot.server.Service`: ``start`` starts an
``AsyncIOScheduler`` (memory job store, on the server's event loop) with two interval jobs, the
sweeps (every :attr:`sweep_seconds`) and the delivery pass (every :attr:`delivery_seconds`), each
first run one interval after start, never overlapping itself, missed runs coalesced
(``clinicbot jobs run`` runs them at once). APScheduler only keeps
time here: what is due lives in the database (DESIGN.md), so every instance of the server runs
the same jobs safely and a restart loses nothing.

``stop`` pauses the jobs, lets a running sweep or delivery pass finish (up to
:data:`STOP_SECONDS`; a delivery cut short loses nothing, its claims expire), then shuts the
scheduler down.

:func:`build_channels` is where a deployment's channels are assembled: SMS when Twilio is
configured, Telegram when the bot runs (linked patients and staff chats are reached there).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock
from bot.delivery.channels import Channel, Channels, SmsChannel
from bot.delivery.sender import Deliverer, DeliveryPolicy
from bot.observability.hooks import DeliveryObserver
from bot.pacing import Pacing
from bot.scheduler.jobs import run_sweeps
from bot.services.payment_links import PaymentLinks

if TYPE_CHECKING:
    from bot.server import Runtime

log = logging.getLogger(__name__)
SWEEP_SECONDS = 60.0  # defaults; ``clinicbot serve`` takes CLINICBOT_SWEEP_SECONDS
DELIVERY_SECONDS = 15.0  # and CLINICBOT_DELIVERY_SECONDS
STOP_SECONDS = 20.0


class StillRunning(logging.Filter):
    """APScheduler warns whenever a job is due while its last run is still going (a delivery
    pass pacing a busy chat outlasts its interval): expected here, so it is only DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "maximum number of running instances" not in str(record.msg):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


scheduler_log = logging.getLogger(f"{__name__}.apscheduler")
scheduler_log.addFilter(StillRunning())


def build_channels(runtime: Runtime) -> Channels:
    """The channels the server delivers on (see the module docstring)."""
    channels: list[Channel] = []
    if runtime.telegram is not None:  # started before the scheduler (see default_services)
        channels.append(runtime.telegram.channel)
    if runtime.sms_sender is not None:
        channels.append(SmsChannel(runtime.sms_sender))
    return Channels(channels)


class SchedulerService:
    """Runs the sweeps and the delivery pass on an interval (see the module docstring)."""

    def __init__(
        self,
        db: AsyncEngine,
        clock: Clock,
        channels: Channels,
        *,
        sweep_seconds: float = SWEEP_SECONDS,
        delivery_seconds: float = DELIVERY_SECONDS,
        policy: DeliveryPolicy | None = None,
        observer: DeliveryObserver | None = None,
        links: PaymentLinks | None = None,
        pacing: Pacing | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.pacing = pacing
        self.deliverer = Deliverer(db, clock, channels, policy, observer, links=links,
                                   pacing=pacing)
        self.sweep_seconds = sweep_seconds
        self.delivery_seconds = delivery_seconds
        self._scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[Any]] = set()

    @classmethod
    def for_runtime(cls, runtime: Runtime) -> SchedulerService:
        """The service ``clinicbot serve`` runs (a :data:`bot.server.ServiceFactory`)."""
        return cls(
            runtime.db, runtime.clock, build_channels(runtime),
            sweep_seconds=runtime.settings.sweep_seconds,
            delivery_seconds=runtime.settings.delivery_seconds,
            observer=runtime.metrics, links=runtime.payment_links,
            pacing=Pacing(runtime.metrics.traffic),
        )

    async def start(self) -> None:
        scheduler = AsyncIOScheduler(timezone=UTC, logger=scheduler_log)
        for job_id, work, seconds in (
            ("sweeps", self.sweep, self.sweep_seconds),
            ("delivery", self.deliver, self.delivery_seconds),
        ):
            scheduler.add_job(
                self._tracked(work), "interval", seconds=seconds, id=job_id, name=job_id,
                max_instances=1, coalesce=True, misfire_grace_time=None,
            )
        scheduler.start()
        self._scheduler = scheduler
        log.info("scheduler started: sweeps every %ss, delivery every %ss",
                 self.sweep_seconds, self.delivery_seconds)

    async def stop(self) -> None:
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is None:
            return
        scheduler.pause()
        running = {task for task in self._running if not task.done()}
        if running:
            _, unfinished = await asyncio.wait(running, timeout=STOP_SECONDS)
            if unfinished:
                log.warning("scheduler: %d job(s) cut short at shutdown", len(unfinished))
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)  # let the scheduler's shutdown callback run on this loop
        log.info("scheduler stopped")

    async def sweep(self) -> None:
        """One run of every sweep."""
        report = await run_sweeps(self.db, self.clock, pacing=self.pacing)
        created = {name: n for name, n in report.sweeps.items() if n}
        if created:
            log.info("sweeps queued: %s", ", ".join(f"{k} {v}" for k, v in created.items()))

    async def deliver(self) -> None:
        """One delivery pass."""
        try:
            counts = await self.deliverer.run_once()
        except Exception:
            log.exception("the delivery pass failed")
            return
        if counts.sent or counts.failed or counts.retried:
            log.info("delivery: %s", counts)

    def _tracked(self, work: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        async def job() -> None:
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            try:
                await work()
            finally:
                if task is not None:
                    self._running.discard(task)

        job.__name__ = getattr(work, "__name__", "job")
        return job
