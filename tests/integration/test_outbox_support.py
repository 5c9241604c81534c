"""Helpers for the outbox and reminder tests (no tests here): a fake channel, walking the clock.

``FakeChannel`` is a :class:`bot.delivery.channels.Channel` that records what it was asked to
send, and when (the test's clock), or raises the errors it was told to. ``walk`` moves a
``FixedClock`` through the days at a few clinic-local hours, running every sweep and one
delivery pass at each, as the scheduler would; ``events`` run when their moment comes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FixedClock
from bot.delivery.channels import Channels
from bot.delivery.sender import Deliverer, DeliveryPolicy
from bot.dialogs.types import Option
from bot.scheduler.jobs import run_all_once
from bot.storage.models import OutboxMessage
from bot.storage.uow import UnitOfWork
from tests.booking_support import TORONTO, at

MAYA = "+14165550101"
SOFIA = "+14165550102"
DESK_CHAT = "-1001234567890"
TICK_HOURS = (2, 13)


@dataclass
class Delivered:
    """One message a fake channel accepted."""

    address: str
    text: str
    options: tuple[Option, ...]
    at: datetime
    provider_id: str

    @property
    def local_day(self) -> date:
        return self.at.astimezone(TORONTO).date()


@dataclass
class FakeChannel:
    """A channel in memory: records deliveries; ``fail`` holds errors to raise, in order."""

    name: str
    clock: FixedClock
    delivered: list[Delivered] = field(default_factory=list)
    fail: list[Exception] = field(default_factory=list)
    calls: int = 0

    async def send(self, address: str, text: str, options: Sequence[Option] = ()) -> str:
        self.calls += 1
        if self.fail:
            raise self.fail.pop(0)
        provider_id = f"{self.name}-{self.calls}"
        self.delivered.append(
            Delivered(address, text, tuple(options), self.clock.now(), provider_id)
        )
        return provider_id

    def to(self, address: str) -> list[Delivered]:
        return [d for d in self.delivered if d.address == address]


def deliverer(
    engine: AsyncEngine, clock: FixedClock, *channels: FakeChannel,
    policy: DeliveryPolicy | None = None,
) -> Deliverer:
    return Deliverer(engine, clock, Channels(channels), policy)


Event = Callable[[], Awaitable[object]]


async def walk(
    engine: AsyncEngine,
    clock: FixedClock,
    sender: Deliverer,
    until: date,
    *,
    hours: Sequence[int] = TICK_HOURS,
    events: Sequence[tuple[datetime, Event]] = (),
    down: tuple[date, date] | None = None,
) -> int:
    """Tick from the clock's day through ``until`` at ``hours`` (clinic time); days within
    ``down`` (inclusive) have no ticks. Returns how many ticks ran."""
    pending = sorted(events, key=lambda event: event[0])
    day = clock.now().astimezone(TORONTO).date()
    ticks = 0
    while day <= until:
        for hour in hours:
            moment = at(day, hour)
            if moment <= clock.now():
                continue
            while pending and pending[0][0] <= moment:
                when, event = pending.pop(0)
                clock.set(max(when, clock.now()))
                await event()
            clock.set(moment)
            if down is not None and down[0] <= day <= down[1]:
                continue
            report = await run_all_once(engine, clock, sender)
            assert report.ok, report
            ticks += 1
        day += timedelta(days=1)
    return ticks


async def outbox_rows(make_uow: Callable[..., UnitOfWork]) -> list[OutboxMessage]:
    async with make_uow(readonly=True) as uow:
        rows = (await uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
        uow.session.expunge_all()
        return list(rows)


def local_day(moment: datetime | None) -> date | None:
    return None if moment is None else moment.astimezone(TORONTO).date()
